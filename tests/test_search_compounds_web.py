"""The search page in a browser (issue 15): the team filter is a list of teams, a compound part
finds its letter, and a note on the whole file opens the E-Akte."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.access import Gate
from records.files import note_on_household
from records.models import User
from records.runtime import Runtime
from tests.support import OWN, file_search_letters
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow


def test_team_list_compound_part_and_file_note(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    file_search_letters(sqlite_runtime, "costs", "neighbour_costs", target="caseworker")
    with transaction(sqlite_runtime.sessions) as session:
        user = session.scalars(select(User).where(User.login == "lsb.95401.2")).one()
        note_on_household(sqlite_runtime, Gate(session, user), OWN, "Hausbesuch: Schimmelbefall")
    log_in(page, live_url, "lsb.95401.2")

    page.goto(f"{live_url}/suche")
    team = page.get_by_role("combobox", name="Team")
    expect(team.locator("option", has_text="Leistung Husum")).to_have_count(1)
    team.select_option("Leistung Husum")
    query = page.get_by_role("textbox", name="Suche in den Akten")
    query.fill("Nebenkosten*")
    query.press("Enter")
    expect(page).to_have_url(re.compile(r"team=Leistung\+Husum"))
    expect(page.locator("#results .summary")).to_have_text("2 Treffer")
    # Reloaded, the page keeps the chosen team.
    page.reload()
    expect(page.get_by_role("combobox", name="Team")).to_have_value("Leistung Husum")
    expect(page.locator("#results .summary")).to_have_text("2 Treffer")

    query = page.get_by_role("textbox", name="Suche in den Akten")
    query.fill("Schimmelbefall")
    query.press("Enter")
    hit = page.locator("#results .hit")
    expect(hit).to_have_count(1)
    expect(hit.locator(".snippet mark")).to_have_text("Schimmelbefall")
    screenshot(page, "suche-vermerk.png", full_page=True)
    hit.get_by_role("link", name="Vermerk zur Akte").click()
    expect(page).to_have_url(f"{live_url}/akte/{OWN}")

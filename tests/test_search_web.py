"""Search in a real browser: the box in the navigation, facets, and a hit opening the viewer."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from records.runtime import Runtime
from tests.support import NEIGHBOUR, OWN, file_search_letters
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow


@pytest.fixture
def letters(sqlite_runtime: Runtime, live_url: str, page: Page) -> tuple[str, dict[str, str]]:
    """Three letters of OWN that speak of Müller, one of its neighbour Müller-Schmidt, all of
    them in the caseworkers' Postkorb; OWN's caseworker logged in in the browser."""
    filed = file_search_letters(
        sqlite_runtime,
        "costs",
        "objection",
        "decision",
        "neighbour_mueller_schmidt",
        target="caseworker",
    )
    log_in(page, live_url, "lsb.95401.2")
    return live_url, filed


def test_caseworker_searches_narrows_by_facet_and_opens_the_hit_in_the_viewer(
    letters: tuple[str, dict[str, str]],
    page: Page,
) -> None:
    base, filed = letters
    # The box in the navigation, from any page.
    box = page.get_by_role("searchbox", name="Akten durchsuchen")
    box.fill("Mueller")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/suche\?q=Mueller"))
    summary = page.locator("#results .summary")
    expect(summary).to_have_text("4 Treffer")
    expect(page.locator("#results mark").first).to_be_visible()
    facets = page.get_by_role("complementary", name="Treffer eingrenzen")
    screenshot(page, "suche-facetten.png", full_page=True)
    expect(facets.locator("[data-facet-group=household]")).to_contain_text(OWN)
    expect(facets.locator("[data-facet-group=year]")).to_contain_text("2026")

    # A facet narrows hits, total and the other facets.
    facets.get_by_role("link", name="Widerspruch", exact=True).click()
    expect(summary).to_have_text("1 Treffer")
    expect(page).to_have_url(re.compile(r"doc_type=widerspruch"))
    expect(page.locator("#results .hit")).to_have_count(1)
    expect(page.locator("#results .hit")).to_contain_text("Seite 1")
    page.get_by_role("link", name="Widerspruch ✕").click()  # the filter removed again
    expect(summary).to_have_text("4 Treffer")
    facets.locator("[data-facet-group=year]").get_by_role("link", name="2025").click()
    expect(summary).to_have_text("1 Treffer")
    expect(page).to_have_url(re.compile(r"from=2025-01-01&to=2025-12-31"))

    # A hit opens the viewer at its page with the words marked.
    facets.locator("[data-facet-group=year]").get_by_role("link", name="2025").click()
    expect(summary).to_have_text("4 Treffer")  # a second click lifts the filter
    query = page.get_by_role("textbox", name="Suche in den Akten")
    query.fill("Nachzahlung Müller")
    query.press("Enter")
    hit = page.locator("#results .hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Seite 2")
    expect(hit.locator(".snippet mark")).to_have_text(["Nachzahlung", "Müller"])
    with page.expect_popup() as opened:
        hit.get_by_role("link", name=re.compile("Seite 2")).click()
    viewer = opened.value
    viewer.wait_for_load_state()
    address = urlparse(viewer.url)
    assert address.path == "/viewer"
    assert parse_qs(address.query) == {
        "doc": [filed["costs"]], "page": ["2"], "q": ["Nachzahlung Müller"]
    }  # fmt: skip


def test_search_within_one_household_file(
    letters: tuple[str, dict[str, str]],
    page: Page,
) -> None:
    base, _ = letters
    page.goto(f"{base}/akte/{OWN}")
    page.get_by_role("textbox", name="In dieser Akte suchen").fill("Müller")
    page.get_by_role("textbox", name="In dieser Akte suchen").press("Enter")
    results = page.locator("#akte-results")
    expect(results.locator(".summary")).to_have_text("3 Treffer")  # not the neighbour's letter
    expect(results).not_to_contain_text(NEIGHBOUR)
    # The same search across all files finds the neighbour's letter too.
    page.goto(f"{base}/suche?q=M%C3%BCller")
    expect(page.locator("#results .summary")).to_have_text("4 Treffer")

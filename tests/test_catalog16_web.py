"""The document-type catalogue page in a real browser (issue 16, catalog16; Debian's Chromium,
Playwright): the administration edits a type's phrases so that stored letters would move,
sees exactly those letters in the preview before saving, saves with a comment and finds the
new version in the history; a broken TOML is refused with its line; axe finds nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from records.runtime import Runtime
from tests.support import add_admin, file_indexed
from tests.support_a11y import axe_violations
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

PAGE = "/verwaltung/dokumenttypen"
LANDLORD = (
    "Sehr geehrte Damen und Herren,\nich sende Ihnen die Wohnungsgeberbestätigung für unseren "
    "Umzug.\nMit freundlichen Grüßen\nWaltraud Quästorius"
)
OTHER = "Sehr geehrte Damen und Herren,\nanbei mein Antrag.\nMit freundlichen Grüßen"


def _no_violations(page: Page, where: str) -> None:
    assert axe_violations(page, where) == []


def test_a_phrase_that_moves_letters_is_previewed_saved_and_in_the_history(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    runtime, url = sqlite_runtime, live_url
    add_admin(runtime)
    moving = [file_indexed(runtime, None, "sonstiges", LANDLORD) for _ in range(2)]
    staying = file_indexed(runtime, None, "sonstiges", OTHER)
    log_in(page, url, "admin")
    page.goto(url + PAGE)
    expect(page.get_by_role("heading", name="Dokumentarten-Katalog")).to_be_visible()
    types = page.locator("#catalogue-types")
    expect(types.locator("tr[data-code=widerspruch]")).to_contain_text("Team Widerspruchsstelle")
    _no_violations(page, "catalogue list")

    page.get_by_role("link", name="Mietbescheinigung / Mietvertrag bearbeiten").click()
    phrases = page.get_by_label("Formulierungen, eine pro Zeile")
    expect(phrases).to_contain_text('{ text = "mietbescheinigung", weight = 6 }')
    _no_violations(page, "type form")
    phrases.fill(phrases.input_value() + '\n{ text = "Wohnungsgeberbestätigung", weight = 6 }')
    page.get_by_role("button", name="Vorschau der Änderung").click()

    expect(page.get_by_role("heading", name="Vorschau der Katalogänderung")).to_be_visible()
    rows = page.locator("#preview-changes tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.id)")) == sorted(moving)
    assert page.locator(f'tr[data-id="{staying}"]').count() == 0
    expect(rows.first).to_contain_text("Sonstiger Schriftverkehr")
    expect(rows.first).to_contain_text("Mietbescheinigung / Mietvertrag")
    expect(page.locator("#preview-counts")).to_contain_text("Anders eingeordnet")
    # Nothing of the letters themselves: no sender, no text.
    expect(page.locator("main")).not_to_contain_text("Quästorius")
    expect(page.locator("main")).not_to_contain_text("Umzug")
    _no_violations(page, "preview")
    screenshot(page, "catalog16-preview.png", full_page=True)

    # Saved with a comment, the draft is the next version.
    page.get_by_label("Kommentar (was und warum)").fill("Wohnungsgeberbestätigung zählt")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("#catalogue-status")).to_have_text(
        "Version 1 gespeichert; sie gilt ab dem nächsten Schreiben."
    )
    newest = page.locator("#catalogue-versions tbody tr").first
    expect(newest).to_contain_text("Version 1")
    expect(newest).to_contain_text("in Kraft")
    expect(newest).to_contain_text("admin")
    expect(newest).to_contain_text("Wohnungsgeberbestätigung zählt")
    _no_violations(page, "history")

    newest.get_by_role("link", name="Unterschiede von Katalogdatei zu Version 1").click()
    expect(page.locator("pre.catalogue-diff .diff-add")).to_contain_text(
        ['{ text = "Wohnungsgeberbestätigung", weight = 6 }']
    )
    _no_violations(page, "diff")


def test_a_broken_toml_is_refused_with_its_line(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    url = live_url
    add_admin(sqlite_runtime)
    log_in(page, url, "admin")
    page.goto(url + PAGE + "?ansicht=toml")
    text = page.get_by_label("Katalogtext")
    text.fill(text.input_value().replace('code = "klage"', 'code = "klage', 1))
    page.get_by_role("button", name="Vorschau der Änderung").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Der Entwurf ist fehlerhaft")
    expect(problems).to_contain_text("Spalte")
    expect(problems).to_contain_text("Zeile")
    _no_violations(page, "broken toml")
    page.goto(url + PAGE)
    expect(page.locator("#catalogue-versions tbody tr")).to_have_count(1)  # the file only

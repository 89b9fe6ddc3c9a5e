"""The data protection officer's pages in a browser (issue 16, dsb16): the officer searches the
audit log (the address keeps the search), opens "Wer hat diese Akte geöffnet?", finds a person
and downloads the access report, whose text lists the accesses; a hostile browser name is
shown as text; axe-core finds nothing on the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from records.runtime import Runtime
from tests.support import OWN
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in
from tests.support_privacy16 import CASEWORKER, DPO, HOSTILE, accesses, add_dpo, pdf_text

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # module-scoped fixture


@pytest.fixture
def tab(browser: Browser, sqlite_runtime: Runtime, live_url: str) -> Iterator[Page]:
    add_dpo(sqlite_runtime)
    accesses(sqlite_runtime)
    context = browser.new_context(
        locale="de-DE", viewport={"width": 1366, "height": 768}, accept_downloads=True
    )
    page = context.new_page()
    log_in(page, live_url, DPO)
    yield page
    context.close()


def test_the_officer_searches_sees_who_opened_and_downloads_the_report(
    tab: Page, live_url: str, tmp_path: Path
) -> None:
    page = tab
    expect(page).to_have_url(f"{live_url}/datenschutz")
    expect(page.get_by_role("link", name="Datenschutz", exact=True)).to_be_visible()
    assert axe_violations(page, "Datenschutz (leer)") == []

    # The audit search: the household's refusals, swapped in by the script.
    page.get_by_label("BG-Nummer").fill(OWN)
    page.get_by_label("Ergebnis").select_option("denied")
    page.get_by_role("button", name="Suchen").click()
    expect(page.locator("#audit-summary")).to_have_text("3 Einträge")
    expect(page).to_have_url(f"{live_url}/datenschutz?bg={OWN}&ergebnis=denied")
    rows = page.locator("#audit-results tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Sönke Wagner (lsb.95403.1)")).to_have_count(2)
    expect(rows.first).to_contain_text("verweigert")
    assert axe_violations(page, "Datenschutz (Treffer)") == []
    # The address keeps the search.
    page.reload()
    expect(page.get_by_label("BG-Nummer")).to_have_value(OWN)
    expect(page.locator("#audit-results tbody tr")).to_have_count(3)

    # A hostile browser name of the caseworker is text, not markup.
    page.get_by_label("Ergebnis").select_option("")
    page.get_by_label("Benutzer (Name oder Kennung)").fill(CASEWORKER)
    page.get_by_role("button", name="Suchen").click()
    expect(page.locator("#audit-results")).to_contain_text(HOSTILE)
    assert page.locator("#audit-results img").count() == 0
    # Back shows the search before, its form and its results.
    page.go_back()
    expect(page).to_have_url(f"{live_url}/datenschutz?bg={OWN}&ergebnis=denied")
    expect(page.get_by_label("Ergebnis")).to_have_value("denied")
    expect(page.get_by_label("Benutzer (Name oder Kennung)")).to_have_value("")
    expect(page.locator("#audit-results tbody tr")).to_have_count(3)

    # Who opened this file.
    page.get_by_role("link", name="Wer hat diese Akte geöffnet?").click()
    page.get_by_label("BG-Nummer").fill(OWN)
    page.get_by_role("button", name="Zugriffe anzeigen").click()
    table = page.get_by_role("table", name=f"Zugriffe auf die Akte {OWN} nach Person")
    expect(
        table.get_by_role("row").filter(has_text="Laura Carstensen (lsb.95401.2)")
    ).to_have_count(2)
    deputy = (
        table.get_by_role("row").filter(has_text="Sönke Wagner").filter(has_text="Laura Carstensen")
    )
    expect(deputy).to_have_count(1)
    assert axe_violations(page, "Wer hat diese Akte geöffnet?") == []

    # The access report: find the person, the preview, the PDF.
    page.get_by_role("link", name="Auskunft für eine Person").click()
    page.get_by_label("Name").fill("Peters Piotr")
    page.get_by_role("button", name="Person suchen").click()
    page.get_by_role("link", name="Peters, Piotr").click()
    expect(page.locator("#report-preview")).to_contain_text(OWN)
    expect(page.locator("#report-accesses")).to_contain_text("davon 3 verweigert")
    assert axe_violations(page, "Auskunft") == []
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Auskunft als PDF/A herunterladen").click()
    target = tmp_path / "auskunft.pdf"
    download_info.value.save_as(target)
    flat = pdf_text(target)
    for expected in (
        "Peters, Piotr",
        "Akte geöffnet",
        "Dokument geöffnet",
        "verweigert",
        "Laura Carstensen",
        "Sönke Wagner",
        "Julia Petersen",
    ):
        assert expected in flat, expected

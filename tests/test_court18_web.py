"""The court folder in a real browser (Debian's Chromium, Playwright; issue 18, court18): the
Widerspruchsstelle chooses the folder for the court's mailbox for an appeal, downloads a part
and finds the XJustiz message valid; the page passes axe-core."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from records import xjustiz
from records.runtime import Runtime
from tests.support import OWN
from tests.support_a11y import axe_violations
from tests.support_browser import log_in, screenshot
from tests.support_court18 import OFFICE, XJUSTIZ_DIR, case_with_appeal

pytestmark = pytest.mark.slow


def test_office_makes_the_court_folder_for_an_appeal_and_downloads_a_part(
    sqlite_runtime: Runtime, live_url: str, page: Page, tmp_path: Path
) -> None:
    _docs, appeal = case_with_appeal(sqlite_runtime, tmp_path, people=False)
    log_in(page, live_url, OFFICE)
    page.goto(f"{live_url}/akte/{OWN}/aktenauszug?klage={appeal}")
    folder = page.get_by_label("Ordner für das elektronische Gerichtspostfach (XJustiz)")
    expect(folder).to_be_visible()
    assert axe_violations(page, "aktenauszug (Klage)") == []
    folder.check()
    page.get_by_role("button", name="Aktenauszug erstellen").click()
    result = page.locator("#export-result")
    expect(result).to_contain_text("Ordner für das Gerichtspostfach Nr. 1 erstellt")
    expect(result).to_contain_text("1 Teil")
    with page.expect_download() as info:
        result.get_by_role("link", name="Teil_01_von_01.zip").click()
    saved = tmp_path / "teil1.zip"
    info.value.save_as(saved)
    assert info.value.suggested_filename.endswith("_Teil_01_von_01.zip")
    with zipfile.ZipFile(saved) as archive:
        assert xjustiz.check_bytes(archive.read("xjustiz_nachricht.xml"), XJUSTIZ_DIR) == []
        names = archive.namelist()
    # The appeal's document (the court's letter) with its Transfervermerk, and the message.
    assert sorted(names)[:2] == [
        "001_Schreiben_des_Sozialgerichts_Klage_2026-11-02.pdf",
        "001_Schreiben_des_Sozialgerichts_Klage_2026-11-02_Transfervermerk.pdf",
    ]
    assert len(names) == 3
    history = page.locator("#export-history")
    expect(history).to_contain_text("Ordner für das elektronische Gerichtspostfach (XJustiz)")
    expect(history.get_by_role("link", name="Teil 1 herunterladen")).to_be_visible()
    assert axe_violations(page, "aktenauszug (Ordner erstellt)") == []
    screenshot(page, "court18_ordner.png", full_page=True)

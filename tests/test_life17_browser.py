"""Retention in a real browser (issue 17; Debian's Chromium, Playwright): a caseworker closes a
file and sets a hold on the E-Akte, sees it there; the records manager sees it on the list of
files due, filters the list (the script swaps in the server's part, the address keeps the
filter, Back restores it), and the hold's hostile reason stays text. axe finds nothing on the
section and the list; the list reflows at 320 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from records.runtime import Runtime
from tests.support import OWN, add_records_manager
from tests.support_a11y import AXE, axe_violations
from tests.support_browser import log_in, log_out, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.2"  # OWN's caseworker
HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_hold_set_on_the_file_shows_there_and_on_the_due_list(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    add_records_manager(sqlite_runtime)
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))

    log_in(page, live_url, CASEWORKER)
    page.goto(f"{live_url}/akte/{OWN}")
    section = page.locator("#aufbewahrung")
    expect(section.locator("#retention-status")).to_contain_text("Akte läuft")
    close = section.locator("#close-form")
    close.get_by_label("Datum des Ereignisses").fill("2014-06-30")
    close.get_by_label("Grund").fill("Leistungen eingestellt")
    close.get_by_role("button", name="Akte schließen (zdA)").click()
    expect(page).to_have_url(re.compile(rf"/akte/{OWN}\?gespeichert=geschlossen"))
    expect(page.locator("#akte-status")).to_have_text("Die Akte ist geschlossen.")
    expect(section.locator("#retention-status")).to_contain_text("Aufbewahrungsfrist abgelaufen")
    expect(section.locator("#retention-steps")).to_contain_text("01.01.2025")

    hold = section.locator("#hold-form")
    hold.get_by_label("Grund").select_option("erstattung")
    hold.get_by_label("Begründung").fill(HOSTILE)
    hold.get_by_role("button", name="Sperre setzen").click()
    expect(page).to_have_url(re.compile(r"gespeichert=gesperrt"))
    expect(page.locator("#akte-held")).to_contain_text("Erstattungs- oder Rückforderungsanspruch")
    expect(section.locator(".hold-reason").first).to_have_text(HOSTILE)
    expect(section.locator("img")).to_have_count(0)
    if AXE.exists():
        assert axe_violations(page, "E-Akte, Aufbewahrung", "#aufbewahrung") == []
    screenshot(section, "life17-akte-aufbewahrung.png")
    log_out(page, live_url)

    log_in(page, live_url, "schriftgut")
    page.goto(f"{live_url}/schriftgut")
    row = page.locator("#due-files tr", has_text=OWN)
    expect(row).to_contain_text("Abgelaufen, aber gesperrt")
    expect(row).to_contain_text(HOSTILE)
    expect(page.locator("#due-list img")).to_have_count(0)
    if AXE.exists():
        assert axe_violations(page, "/schriftgut") == []
    page.get_by_label("Anzeigen").select_option("abgelaufen")
    expect(page).to_have_url(re.compile(r"/schriftgut\?filter=abgelaufen$"))
    expect(page.locator("#due-summary")).to_have_text("Nur fällig: 0 Akten")
    expect(page.locator("#due-announce")).to_have_text("Nur fällig: 0 Akten")
    page.go_back()
    expect(page.locator("#due-files tr", has_text=OWN)).to_be_visible()
    expect(page.get_by_label("Anzeigen")).to_have_value("faellig")
    page.reload()
    expect(page.locator("#due-files tr", has_text=OWN)).to_be_visible()

    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_url}/schriftgut")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, width
    screenshot(page, "life17-schriftgut-320.png", full_page=True)

    page.set_viewport_size({"width": 1366, "height": 768})
    row = page.locator("#due-files tr", has_text=OWN)
    row.get_by_role("link", name=OWN).click()
    expect(page).to_have_url(f"{live_url}/schriftgut/akte/{OWN}")
    expect(page.locator("#retention-held")).to_contain_text(HOSTILE)
    if AXE.exists():
        assert axe_violations(page, "/schriftgut/akte") == []
    lift = page.locator("#retention-holds form").first
    lift.get_by_label("Grund für das Aufheben").fill("Forderung beglichen")
    lift.get_by_role("button", name="Sperre aufheben").click()
    expect(page.locator("#retention-saved")).to_have_text("Die Sperre ist aufgehoben.")
    expect(page.locator("#retention-status")).to_contain_text("Aufbewahrungsfrist abgelaufen")
    assert alerts == []

"""The web pages in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import AuditEvent, Document
from records.runtime import Runtime
from tests.support import (
    PASSWORD,
    client_for,
    file_letter,
    sample,
    work_until_idle,
)
from tests.support_browser import log_in, log_out, screenshot

pytestmark = pytest.mark.slow


def test_desk_logs_in_finds_a_scan_and_logs_out(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    desk = client_for(sqlite_runtime, "post.1")
    # A landlord's statement about nobody in the master data: it waits in clearing, which is
    # what the desk may see.
    desk.post("/api/documents", files={"file": ("0018.pdf", sample("docs/0018.pdf").read_bytes())})
    work_until_idle(sqlite_runtime)

    page.goto(live_url)
    expect(page).to_have_url(f"{live_url}/anmelden")
    page.get_by_label("Benutzername").fill("post.1")
    page.get_by_label("Passwort").fill("falsches-passwort")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("Anmeldung fehlgeschlagen")

    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{live_url}/scanstelle")
    expect(page.get_by_text("Julia Petersen")).to_be_visible()
    page.get_by_role("link", name="Suche").click()

    page.get_by_label("Suche in den Akten").fill("Betriebskostenabrechnungen")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_text("1 Treffer")).to_be_visible()
    expect(page.locator(".hit mark")).to_have_text("Betriebskostenabrechnung")
    expect(page.locator(".hit")).to_contain_text("Seite 1")
    screenshot(page, "suche.png", full_page=True)

    log_out(page, live_url)


def test_desk_drops_files_watches_progress_and_checks_quality(
    live_url: str, page: Page, sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    broken = tmp_path / "abgeschnitten.pdf"
    broken.write_bytes(sample("docs/0003.pdf").read_bytes()[:10_000])
    log_in(page, live_url, "post.1")
    expect(page).to_have_url(f"{live_url}/scanstelle")
    page.get_by_label("Scanplatz").fill("Scanner 1")
    page.locator("#files").set_input_files([str(sample("batches/batch-2.pdf")), str(broken)])
    expect(page.get_by_text("batch-2.pdf: angenommen, 13 Seite(n)")).to_be_visible()
    rejected = "abgeschnitten.pdf: abgelehnt – Die PDF-Datei ist unvollständig"
    expect(page.get_by_text(rejected)).to_be_visible()
    row = page.locator("#batch-rows tr", has_text="batch-2.pdf")
    expect(row).to_contain_text("wartet")

    work_until_idle(sqlite_runtime)
    expect(row).to_contain_text("fertig", timeout=10_000)
    expect(row).to_contain_text("aussortiert: Blatt 2: Trennblatt")
    expect(row).to_contain_text("7 Dokumente: 7 offen")
    # The quality check lists the documents (issue 15: server-rendered, one entry each).
    entries = page.locator("#qa-list .qa-entry")
    expect(entries).to_have_count(7)
    first = entries.first
    # The check shows the page it decides on.
    thumb = first.get_by_role("img", name=re.compile(r"^Seite 1 von batch-2\.pdf, Blatt 1"))
    expect(thumb).to_be_visible()
    # Loaded (through the access gate), however long the server takes under load.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=15_000
    )
    # A rejection is confirmed in a dialog that needs its reason; it can be taken back the
    # same day.
    entries.nth(1).get_by_role("button", name="Ablehnen …").click()
    dialog = page.get_by_role("dialog", name="Zur Neuerfassung ablehnen")
    dialog.get_by_role("button", name="Ablehnen", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("Bitte begründen")
    dialog.get_by_label("Grund (Pflichtangabe)").fill("Seite schief eingezogen")
    dialog.get_by_role("button", name="Ablehnen", exact=True).click()
    expect(page.locator("#qa-results")).to_contain_text(
        "batch-2.pdf, Blatt 3: zur Neuerfassung abgelehnt"
    )
    expect(entries).to_have_count(6)
    page.get_by_label("Stand", exact=True).first.select_option("rejected")
    page.locator("#qa-filter").get_by_role("button", name="Filtern").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Seite schief eingezogen")
    entries.first.get_by_role("button", name="Ablehnung zurücknehmen").click()
    expect(page.locator("#qa-results")).to_contain_text("Ablehnung zurückgenommen")
    page.get_by_label("Stand", exact=True).first.select_option("pending")
    page.locator("#qa-filter").get_by_role("button", name="Filtern").click()
    expect(entries).to_have_count(7)
    first.get_by_label("Seiten auf Papier").fill("3")
    first.get_by_role("button", name="Freigeben").click()
    expect(first.get_by_role("alert")).to_contain_text("Seitenzahl stimmt nicht")
    first.get_by_label("Seiten auf Papier").fill("1")
    first.get_by_role("button", name="Freigeben").click()
    expect(page.locator("#qa-results")).to_contain_text("batch-2.pdf, Blatt 1: freigegeben")
    expect(entries).to_have_count(6)
    expect(row).to_contain_text("6 offen, 1 freigegeben")
    screenshot(page, "scanstelle.png", full_page=True)


def test_caseworker_gets_a_german_refusal_at_the_desk_page(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    log_in(page, live_url, "lsb.95401.1")
    expect(page).to_have_url(f"{live_url}/postkorb")
    response = page.goto(f"{live_url}/scanstelle")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Kein Zugriff")).to_be_visible()
    with transaction(sqlite_runtime.sessions) as session:
        refusals = session.scalars(
            select(AuditEvent.actor_login).where(AuditEvent.outcome == "denied")
        ).all()
    assert refusals == ["lsb.95401.1"]


def test_clearing_desk_finds_the_household_and_files_the_letter(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    desk = client_for(sqlite_runtime, "post.1")
    desk.post("/api/documents", files={"file": ("0018.pdf", sample("docs/0018.pdf").read_bytes())})
    work_until_idle(sqlite_runtime)

    log_in(page, live_url, "post.1")
    page.get_by_role("link", name="Klärung").click()
    expect(page.locator("#clearing-count")).to_have_text("1 offen")
    item = page.locator(".clearing-item")
    expect(item).to_contain_text("0018.pdf")
    expect(item.locator(".reason")).to_contain_text("Klärung:")
    expect(item.locator(".thumbs img")).to_have_count(1)
    # A scan of several letters is repaired from here (issue 15: page editing).
    pages_link = item.get_by_role("link", name="Seiten bearbeiten")
    expect(pages_link).to_have_attribute("href", re.compile(r"^/dokument/[0-9a-f-]{36}/seiten$"))
    item.get_by_label("Haushalt suchen").fill("Christiansen")
    item.get_by_role("button", name="Suchen").click()
    candidate = item.locator(".candidates li", has_text="95401BG7267253")
    expect(candidate).to_contain_text("Andreas Christiansen")
    candidate.get_by_role("button", name="Übernehmen").click()
    expect(item.get_by_label("BG-Nummer")).to_have_value("95401BG7267253")
    item.get_by_label("Dokumentart").select_option(label="Neben-/Betriebskostenabrechnung")
    screenshot(page, "klaerung.png", full_page=True)
    item.get_by_role("button", name="Zuordnen").click()
    expect(page.locator("#clearing-status")).to_contain_text(
        "zugeordnet zu 95401BG7267253, Postkorb lsb.95401.2"
    )
    expect(page.locator("#clearing-count")).to_have_text("0 offen")


def test_clearing_offers_both_households_of_a_conflict_and_files_with_one_click(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    """A printed number of one household and the person of another: the desk decides."""
    number_says, person_says = "95401BG7267253", "95403BG6577899"
    with transaction(sqlite_runtime.sessions) as session:
        letter = file_letter(session, None, "sonstiges", "Schreiben mit zwei Hinweisen")
        letter.recognition = {
            "bg_numbers_found": [[number_says, 1, True]],
            "person": "Stefan Koch",
            "candidates": [number_says, person_says],
        }
    log_in(page, live_url, "post.1")
    page.get_by_role("link", name="Klärung").click()
    item = page.locator(".clearing-item")
    # Nothing is preselected when the evidence disagrees.
    expect(item.get_by_label("BG-Nummer")).to_have_value("")
    expect(item.get_by_role("button", name=f"Zuordnen zu {number_says}")).to_be_visible()
    item.get_by_role("button", name=f"Zuordnen zu {person_says}").click()
    expect(page.locator("#clearing-status")).to_contain_text(f"zugeordnet zu {person_says}")
    with transaction(sqlite_runtime.sessions) as session:
        assert session.get(Document, letter.id).household.bg_number == person_says

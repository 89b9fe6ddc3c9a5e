"""What a day at the desk needs (issue 15), in a real browser (Debian's Chromium, Playwright):
overdue court deadlines said as such, dialogs that keep what was typed and say at the field
what is wrong, a Postkorb whose tab, filters, sort and row survive reload and Back, reopening
a done item, a word on items the desk rejected, and one line per item so that a screen holds
a working list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.dates import local_today
from core.db import transaction
from records.models import Document
from records.runtime import Runtime
from tests.support import client_for, file_indexed, sample, work_until_idle
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"
OFFICE = "ws.1"  # objections office
OFFICE_TEAM = "team:Widerspruchsstelle"
DESK = "post.1"

# A routing reason as the router writes it: several lines per item.
REASON = (
    "Haushalt erkannt: BG-Nummer 95401BG5662133 im Text (Seite 1)\n"
    "Person: Ali Wolf, geboren am 03.04.1988 (Name und Anschrift stimmen überein)\n"
    "Dokumentart: Sonstiges Schreiben (keine Schlüsselwörter einer anderen Art)\n"
    "Zuständig: Jan Braun, Leistungssachbearbeitung Team 1 (Buchstaben A–K)"
)


def _german(day) -> str:  # type: ignore[no-untyped-def]
    return day.strftime("%d.%m.%Y")


def _letters(runtime: Runtime, count: int) -> list[str]:
    return [
        file_indexed(
            runtime,
            HOUSEHOLD,
            "sonstiges",
            f"Schreiben Nummer {n}",
            reason=REASON,
            source_name=f"brief-{n:02d}.pdf",
        )
        for n in range(count)
    ]


def _overdue_appeal(runtime: Runtime) -> tuple[int, str]:
    """A court letter registered as an appeal whose statement was due a week ago."""
    letter = file_indexed(
        runtime, HOUSEHOLD, "klage", "Sozialgericht Schleswig", target=OFFICE_TEAM
    )
    served = local_today() - timedelta(days=35)
    due = local_today() - timedelta(days=7)
    answer = client_for(runtime, OFFICE).post(
        "/api/appeals",
        json={
            "document_id": letter,
            "court": "Sozialgericht Schleswig",
            "file_reference": "S 12 AS 345/26",
            "served_on": served.isoformat(),
            "court_deadline": due.isoformat(),
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], _german(due + timedelta(days=1))


def test_overdue_court_deadline_reads_ueberfaellig_on_the_dashboard_and_the_appeal_page(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    appeal, since = _overdue_appeal(sqlite_runtime)
    log_in(page, live_url, OFFICE)
    page.goto(f"{live_url}/widersprueche")
    row = page.locator("#appeal-rows tr", has_text="S 12 AS 345/26")
    # Said in words and marked by more than colour: a badge with a border, the date struck.
    expect(row.locator(".badge.overdue").first).to_have_text(f"überfällig seit {since}")
    expect(row).to_have_class(re.compile("warning"))
    expect(page.locator("#board-status")).to_contain_text("1 Klage mit überfälliger Frist")
    screenshot(page, "widersprueche-ueberfaellig.png")

    page.goto(f"{live_url}/klagen/{appeal}")
    expect(page.locator("#deadline .overdue-note").first).to_contain_text("Stellungnahme")
    expect(page.locator("#deadline .overdue-note").first).to_contain_text(
        f"überfällig seit {since}"
    )
    screenshot(page, "klage-ueberfaellig.png")


def test_appeal_without_the_court_file_number_says_to_look_at_the_letter_and_keeps_the_input(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    file_indexed(sqlite_runtime, HOUSEHOLD, "klage", "Sozialgericht Schleswig", target=OFFICE_TEAM)
    log_in(page, live_url, OFFICE)
    page.goto(f"{live_url}/postkorb")
    page.locator("#scopes .tab", has_text="Team").click()
    page.get_by_role("button", name="Klage erfassen").first.click()
    dialog = page.locator("#legal-dialog")
    dialog.get_by_label("Gericht", exact=True).fill("Sozialgericht Schleswig")
    dialog.get_by_label("Beteiligte").fill("Ali Wolf ./. Jobcenter")
    reference = dialog.get_by_label("Aktenzeichen des Gerichts")
    reference.fill("")
    dialog.get_by_role("button", name="Erfassen").click()

    expect(dialog).to_be_visible()
    expect(reference).to_have_attribute("aria-invalid", "true")
    expect(reference).to_be_focused()
    message = dialog.locator(".field-error")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("Schreiben des Gerichts")
    expect(message).to_contain_text("S 12 AS 345/26")
    described = reference.get_attribute("aria-describedby") or ""
    assert message.get_attribute("id") in described.split()
    # What was typed stays.
    expect(dialog.get_by_label("Gericht", exact=True)).to_have_value("Sozialgericht Schleswig")
    expect(dialog.get_by_label("Beteiligte")).to_have_value("Ali Wolf ./. Jobcenter")

    reference.fill("S 12 AS 345/26")
    dialog.get_by_role("button", name="Erfassen").click()
    expect(dialog.get_by_role("heading")).to_have_text("Klage S 12 AS 345/26 erfasst")


def test_details_dialog_stays_open_with_the_typed_values_and_the_error_at_the_field(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _letters(sqlite_runtime, 1)
    log_in(page, live_url, CASEWORKER)
    page.goto(f"{live_url}/akte/{HOUSEHOLD}")
    page.locator("#documents").get_by_role("button", name="Angaben").first.click()
    dialog = page.locator("#details-dialog")
    earlier = (local_today() - timedelta(days=3)).isoformat()
    dialog.get_by_label("Absender").fill("Stadtwerke Husum")
    dialog.get_by_label("Eingangsdatum", exact=True).fill(earlier)
    dialog.get_by_role("button", name="Speichern").click()

    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("Begründung (nötig, wenn das Eingangsdatum geändert wird)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_be_focused()
    expect(dialog.locator(".field-error")).to_contain_text("Bitte begründen")
    expect(dialog.get_by_label("Absender")).to_have_value("Stadtwerke Husum")
    expect(dialog.get_by_label("Eingangsdatum", exact=True)).to_have_value(earlier)

    reason.fill("Eingangsstempel des Bürgerbüros")
    dialog.get_by_role("button", name="Speichern").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#akte-status")).to_have_text("Angaben gespeichert.")
    expect(page.locator("#documents")).to_contain_text("Stadtwerke Husum")


def test_forward_dialog_stays_open_with_the_choice_and_the_error_at_the_field(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _letters(sqlite_runtime, 1)
    log_in(page, live_url, CASEWORKER)
    expect(page.locator("#inbox-rows tr")).to_have_count(1)
    page.locator("body").press("w")
    dialog = page.locator("#forward-dialog")
    expect(dialog).to_be_visible()
    # Nobody chosen: said at the first field.
    dialog.get_by_role("button", name="Weiterleiten").click()
    expect(dialog).to_be_visible()
    person = dialog.get_by_label("An Person")
    expect(person).to_have_attribute("aria-invalid", "true")
    expect(person).to_be_focused()
    # A letter that is no legal remedy goes to the objections office only with a reason: the
    # server says so, the dialog keeps the team chosen and puts the message at the comment.
    dialog.get_by_label("oder an Team").select_option("Widerspruchsstelle")
    dialog.get_by_role("button", name="Weiterleiten").click()
    comment = dialog.get_by_label("Kommentar")
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_be_focused()
    expect(dialog.locator(".field-error")).to_contain_text("Widerspruchsstelle")
    expect(person).not_to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("oder an Team")).to_have_value("Widerspruchsstelle")

    comment.fill("Bitte prüfen, ob das ein Widerspruch ist")
    dialog.get_by_role("button", name="Weiterleiten").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#inbox-rows tr")).to_have_count(0)


def test_postkorb_keeps_tab_filters_sort_and_row_across_reload_and_back(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _letters(sqlite_runtime, 4)
    log_in(page, live_url, CASEWORKER)
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(4)
    page.select_option("#filter-state", "any")
    page.select_option("#filter-sort", "oldest")
    expect(page).to_have_url(re.compile(r"state=any"))
    # The list drawn for both filters is in (a key pressed before moves the cursor in the old
    # list, whose row is kept by its id when the new order arrives, at another place).
    expect(page.locator("#postkorb-list")).to_have_attribute(
        "data-address", re.compile(r"(?=.*state=any)(?=.*sort=oldest)")
    )
    page.locator("body").press("j")
    page.locator("body").press("j")
    chosen = rows.nth(2).get_attribute("data-id")
    expect(page).to_have_url(re.compile(rf"item={chosen}"))

    page.reload()
    expect(page.locator("#filter-state")).to_have_value("any")
    expect(page.locator("#filter-sort")).to_have_value("oldest")
    expect(page.locator("#inbox-rows tr[aria-current='true']")).to_have_attribute(
        "data-id", str(chosen)
    )

    # Into the file and back: the same list, the same row.
    page.locator("#inbox-rows tr[aria-current='true'] a").first.click()
    expect(page).to_have_url(re.compile(r"/akte/"))
    page.go_back()
    expect(page.locator("#filter-sort")).to_have_value("oldest")
    expect(page.locator("#inbox-rows tr[aria-current='true']")).to_have_attribute(
        "data-id", str(chosen)
    )

    # A tab is a step in the history: Back returns to the one before.
    page.locator("#scopes .tab", has_text="Team").click()
    expect(page).to_have_url(re.compile(r"tab=team"))
    page.go_back()
    expect(page.locator("#scopes .tab.active")).to_contain_text("Mein Postkorb")
    expect(rows).to_have_count(4)


def test_done_item_is_reopened_from_the_postkorb(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _letters(sqlite_runtime, 2)
    log_in(page, live_url, CASEWORKER)
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(2)
    rows.first.get_by_role("button", name="Erledigt").click()
    expect(rows).to_have_count(1)
    page.select_option("#filter-state", "done")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="Wieder öffnen").click()
    expect(page.locator("#inbox-status")).to_contain_text("wieder geöffnet")
    expect(rows).to_have_count(0)
    page.select_option("#filter-state", "open")
    expect(rows).to_have_count(2)


def test_item_the_desk_rejected_is_explained_in_the_postkorb(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    desk = client_for(sqlite_runtime, DESK)
    letter = sample("docs/0001.pdf")
    desk.post("/api/documents", files={"file": (letter.name, letter.read_bytes())})
    work_until_idle(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        document = session.scalar(select(Document).where(Document.source_name == "0001.pdf"))
        assert document is not None
        document_id = str(document.id)
    rejected = desk.post(
        f"/api/documents/{document_id}/qa",
        json={"decision": "reject", "note": "Seite 2 unscharf, bitte neu scannen"},
    )
    assert rejected.status_code == 200, rejected.text

    log_in(page, live_url, CASEWORKER)
    status = page.locator("#inbox-status")
    expect(status).to_contain_text("zur Neuerfassung abgelehnt")
    expect(status).to_contain_text("Seite 2 unscharf, bitte neu scannen")
    row = page.locator("#inbox-rows tr", has_text="0001.pdf")
    expect(row.locator(".badge.rejected")).to_have_text("zur Neuerfassung abgelehnt")
    # It cannot be shown any more (it left the file); it can be marked done.
    expect(row.get_by_role("button", name="Anzeigen")).to_have_count(0)
    expect(row.get_by_role("button", name="Erledigt")).to_be_visible()


def test_dense_postkorb_fits_twelve_rows_at_1366x768_with_the_reason_on_demand(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _letters(sqlite_runtime, 14)
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_url, CASEWORKER)
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(14)
    visible = page.evaluate(
        """() => [...document.querySelectorAll('#inbox-rows tr')]
            .filter((row) => row.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )
    assert visible >= 12, f"only {visible} rows fit on a 1366×768 screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, "postkorb-dicht.png")

    # The reason is one click (or Enter) away, and the button says whether it is open.
    button = rows.first.get_by_role("button", name=re.compile("^Grund"))
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(rows.first.locator(".reason-text")).to_be_hidden()
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(rows.first.locator(".reason-text")).to_be_visible()
    expect(rows.first.locator(".reason-text")).to_contain_text("Zuständig: Jan Braun")
    screenshot(page, "postkorb-grund-offen.png")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "false")

"""Duplicates in clearing, in a real browser (Debian's Chromium, Playwright): a letter read
before is shown as such and discarded after a confirmation with a reason; the household the
clearing reason names is filed into with one click."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect
from sqlalchemy import select

from core.db import transaction
from records.duplicates import mark_duplicate
from records.models import Document, Objection
from records.runtime import Runtime
from tests.support import OWN, client_for, file_indexed
from tests.support_a11y import AXE
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

DESK = "post.1"
CASEWORKER = "lsb.95401.2"  # OWN's caseworker
TEXT = "Guten Tag, anbei die Kopie meines Mietvertrags für die neue Wohnung in Husum. " * 3


def _clearing_letters(runtime: Runtime) -> tuple[str, str, str]:
    """In clearing: a letter, the same letter read again (marked), and a letter whose clearing
    reason names the household OWN."""
    earlier = file_indexed(runtime, None, "sonstiges", TEXT, source_name="miete-1.pdf")
    later = file_indexed(runtime, None, "sonstiges", TEXT, source_name="miete-2.pdf")
    named = file_indexed(runtime, None, "sonstiges", "Bitte um Rückruf.", source_name="anruf.pdf")
    with transaction(runtime.sessions) as session:
        for document_id in (earlier, later):
            mark_duplicate(session, session.get_one(Document, uuid.UUID(document_id)), [])
            session.flush()
        session.get_one(Document, uuid.UUID(named)).recognition = {
            "clearing_reason": f"Haushalt {OWN} erkannt, aber die Dokumentart ist unsicher",
            "candidates": [OWN],
            "bg_numbers_found": [],
            "household_evidence": [],
        }
    return earlier, later, named


def _axe(page: Page) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core (npm, pinned) finds on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    script = """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
        .violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${v.help} at ${n.target}`))"""
    violations: list[str] = page.evaluate(script, ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    return violations


def _item(page: Page, document_id: str) -> Locator:
    return page.locator(f'.clearing-item[data-document-id="{document_id}"]')


def test_clearing_discards_a_duplicate_after_confirmation_and_files_with_one_click(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    earlier, later, named = _clearing_letters(sqlite_runtime)
    log_in(page, live_url, DESK)
    page.get_by_role("link", name="Klärung").click()
    expect(page.locator("#clearing-count")).to_have_text("3 offen")
    duplicate = _item(page, later)
    expect(duplicate.locator(".duplicate")).to_contain_text(
        "Bereits eingelesen: Duplikat von »miete-1.pdf«"
    )
    expect(
        duplicate.get_by_role("link", name="Duplikat von »miete-1.pdf«", exact=False)
    ).to_have_attribute("href", f"/dokument/{earlier}")
    expect(_item(page, earlier).locator(".duplicate")).to_be_hidden()

    # Asking first: cancelling keeps the letter.
    duplicate.get_by_role("button", name="Als Duplikat verwerfen").click()
    dialog = page.get_by_role("dialog", name="Duplikat verwerfen?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Grund")).to_have_value("Duplikat von miete-1.pdf")
    screenshot(page, "klaerung-duplikat-verwerfen.png")
    assert _axe(page) == []
    dialog.get_by_role("button", name="Abbrechen").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#clearing-count")).to_have_text("3 offen")

    duplicate.get_by_role("button", name="Als Duplikat verwerfen").click()
    dialog.get_by_label("Grund").fill("Zweimal eingescannt")
    dialog.get_by_role("button", name="Verwerfen").click()
    expect(page.locator("#clearing-status")).to_have_text("miete-2.pdf: als Duplikat verworfen.")
    expect(page.locator("#clearing-count")).to_have_text("2 offen")
    expect(_item(page, later)).to_have_count(0)

    # The household the clearing reason names: one click files the letter there.
    item = _item(page, named)
    item.get_by_role("button", name=f"Zuordnen zu {OWN}").click()
    expect(page.locator("#clearing-status")).to_contain_text(f"anruf.pdf: zugeordnet zu {OWN}")
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        discarded = session.get_one(Document, uuid.UUID(later))
        assert discarded.discard_reason == "Zweimal eingescannt"
        assert discarded.discarded_by_login == DESK
        filed = session.get_one(Document, uuid.UUID(named))
        assert filed.household is not None and filed.household.bg_number == OWN


def _row(page: Page, source_name: str) -> Locator:
    """The Postkorb row of the letter (by the file name the row prints, not its reason's)."""
    name = page.locator("span.hint", has_text=f"{source_name} ·")
    return page.locator("#inbox-rows tr").filter(has=name)


def test_postkorb_row_links_a_duplicate_to_the_earlier_letter(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    earlier = file_indexed(sqlite_runtime, OWN, "sonstiges", TEXT, source_name="miete-1.pdf")
    later = file_indexed(sqlite_runtime, OWN, "sonstiges", TEXT, source_name="miete-2.pdf")
    with transaction(sqlite_runtime.sessions) as session:
        for document_id in (earlier, later):
            mark_duplicate(session, session.get_one(Document, uuid.UUID(document_id)), [])
            session.flush()
    log_in(page, live_url, CASEWORKER)
    row = _row(page, "miete-2.pdf")
    badge = row.get_by_role("link", name="Duplikat", exact=True)
    expect(badge).to_be_visible()  # in the one-line row, before what may be cut off
    expect(badge).to_have_attribute("href", f"/dokument/{earlier}")
    first = _row(page, "miete-1.pdf")
    expect(first.locator(".duplicate")).to_have_count(0)
    # The reason, opened on demand, says what it repeats.
    row.get_by_role("button", name="Grund").click()
    expect(row.get_by_role("link", name="Duplikat von »miete-1.pdf«", exact=False)).to_be_visible()
    expect(row).to_contain_text("(gleicher Text)")
    screenshot(page, "postkorb-duplikat.png")
    assert _axe(page) == []
    badge.click()  # the earlier letter, opened through the access gate like any document
    expect(page).to_have_url(re.compile(earlier))
    expect(page.get_by_role("heading", name="miete-1.pdf")).to_be_visible()
    # The E-Akte marks it too.
    page.goto(f"{live_url}/akte/{OWN}")
    mark = page.locator(f"li.document[data-id='{later}'] .badge.duplicate")
    expect(mark).to_contain_text("Duplikat")
    expect(mark).to_have_attribute("href", f"/dokument/{earlier}")
    expect(page.locator(f"li.document[data-id='{earlier}'] .badge.duplicate")).to_have_count(0)
    assert _axe(page) == []


OFFICE = "ws.1"
OFFICE_HOUSEHOLD = "95401BG5662133"


def test_a_second_objection_against_the_same_decision_asks_before_it_is_registered(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    office_team = "team:Widerspruchsstelle"
    decision = file_indexed(
        sqlite_runtime,
        OFFICE_HOUSEHOLD,
        "bescheid",
        "Bescheid",
        source_name="bescheid.pdf",
        direction="out",
        dispatch_date=date(2026, 10, 10),
    )
    first, second = (
        file_indexed(
            sqlite_runtime,
            OFFICE_HOUSEHOLD,
            "widerspruch",
            f"Widerspruch gegen den Bescheid, Schreiben {n}",
            target=office_team,
            source_name=f"widerspruch-{n}.pdf",
        )
        for n in (1, 2)
    )
    registered = client_for(sqlite_runtime, OFFICE).post(
        "/api/objections", json={"document_id": first, "decision_id": decision}
    )
    assert registered.status_code == 201, registered.text
    number = registered.json()["id"]

    log_in(page, live_url, OFFICE)
    page.locator("#scopes .tab", has_text="Team").click()
    row = _row(page, "widerspruch-2.pdf")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    row.get_by_role("button", name="Widerspruch erfassen").click()
    form = page.locator("#legal-dialog")
    form.get_by_label("Angefochtener Bescheid").select_option(decision)
    # Not confirmed: nothing registered, the warning stays in the dialog.
    form.get_by_role("button", name="Erfassen").click()
    expect(form.get_by_role("alert")).to_contain_text(
        f"Gegen diesen Bescheid ist bereits ein Widerspruch erfasst (Nr. {number}"
    )
    # Confirmed: registered as a second objection against the decision.
    form.get_by_role("button", name="Erfassen").click()
    expect(
        form.get_by_role("heading", name=re.compile(r"Widerspruch Nr\. \d+ erfasst"))
    ).to_be_visible()
    assert len(asked) == 2 and "Trotzdem erfassen" in asked[0]
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        objections = session.scalars(select(Objection).order_by(Objection.id)).all()
        assert [str(o.document_id) for o in objections] == [first, second]
        assert {str(o.decision_id) for o in objections} == {decision}

"""The destruction page and the document page's erasure and restriction in the browser
(issue 17): no axe violation, forms usable by keyboard, a hostile reason shown as text."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.access import Gate
from records.destruction import request_document
from records.models import Household, User
from records.runtime import Runtime
from tests.support import OWN, _password_hash, file_letter
from tests.support_a11y import axe_violations
from tests.support_browser import log_in

CASEWORKER = "lsb.95401.2"
HOSTILE = "<img src=x onerror=alert(1)>"


def _letter_with_order(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        session.add(
            User(login="sg1", name="Schriftgut", role="schriftgut", password_hash=_password_hash())
        )
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        document = file_letter(session, household, "sonstiges", "Brief einer dritten Person")
        session.flush()
        worker = session.scalar(select(User).where(User.login == CASEWORKER))
        assert worker is not None
        request_document(Gate(session, worker), document.id, HOSTILE)
        return str(document.id)


def test_destruction_page_in_the_browser(
    live_url: str, sqlite_runtime: Runtime, page: Page
) -> None:
    document = _letter_with_order(sqlite_runtime)
    log_in(page, live_url, "sg1")
    page.goto(f"{live_url}/schriftgut/vernichtung")
    orders = page.get_by_role("region", name="Vernichtungsaufträge")
    expect(orders).to_contain_text(HOSTILE)  # shown as text, not as an element
    assert page.locator("#orders img").count() == 0
    expect(orders).to_contain_text("beantragt")
    assert axe_violations(page, "/schriftgut/vernichtung") == []
    # The records manager who did not ask approves: the order starts.
    page.get_by_role("button", name="Auftrag 1 freigeben").click()
    expect(page.get_by_role("status")).to_contain_text("Vernichtung läuft im Hintergrund")
    expect(orders).to_contain_text("freigegeben")
    assert document


def test_document_page_restriction_in_the_browser(
    live_url: str, sqlite_runtime: Runtime, page: Page
) -> None:
    document = _letter_with_order(sqlite_runtime)
    log_in(page, live_url, CASEWORKER)
    page.goto(f"{live_url}/dokument/{document}")
    page.get_by_text("Löschen oder einschränken").click()
    assert axe_violations(page, "/dokument (Löschen)") == []
    page.get_by_label("Grund der Einschränkung (Art. 18 DSGVO)").fill("Richtigkeit bestritten")
    page.get_by_role("button", name="Einschränken").click()
    page.goto(f"{live_url}/schriftgut/vernichtung")
    restricted = page.get_by_role("region", name="Eingeschränkte Dokumente")
    expect(restricted).to_contain_text(document)
    assert axe_violations(page, "/schriftgut/vernichtung (Sachbearbeitung)") == []

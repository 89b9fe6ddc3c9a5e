"""Requests for documents in a real browser (issue 19; Debian's Chromium, Playwright): a
caseworker writes a request in the E-Akte and sees it listed with its items missing; the
client's replies are filed by recognition (records.request_replies links them as supposed
answers), the caseworker confirms them one by one and sees the request fulfilled, its
follow-up closed; a second request is withdrawn with its reason (required). axe finds nothing
on the section; it reflows at 320 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import DocumentRequest, FollowUp, Household
from records.request_replies import link_by_recognition
from records.runtime import Runtime
from tests.support import OWN, add_admin, file_letter
from tests.support_a11y import AXE, axe_violations
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.2"  # OWN's caseworker


def test_a_request_written_in_the_e_akte_shows_its_items_missing_then_arrived(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    log_in(page, live_url, CASEWORKER)
    page.goto(f"{live_url}/akte/{OWN}")
    section = page.locator("#anforderungen")
    expect(section.locator("#requests-none")).to_be_visible()
    form = section.locator("#request-form")
    form.get_by_role("button", name="Mitwirkungsaufforderung schreiben").click()
    expect(page.locator("#req-items-error")).to_contain_text("mindestens eine Unterlage")
    form = page.locator("#request-form")
    form.get_by_label("Kontoauszüge aller Konten").check()
    form.get_by_label("Mietbescheinigung oder Mietvertrag").check()
    form.get_by_label("Frist").fill("2030-01-14")
    form.get_by_role("button", name="Mitwirkungsaufforderung schreiben").click()
    expect(page).to_have_url(re.compile(rf"/akte/{OWN}\?gespeichert=anforderung#anforderung-\d+"))
    section = page.locator("#anforderungen")
    article = section.locator("article.request").first
    expect(article.locator(".item-state")).to_have_text(["fehlt", "fehlt"])
    expect(article).to_contain_text("Frist 14.01.2030")
    if AXE.exists():
        assert axe_violations(page, "E-Akte, Anforderungen", "#anforderungen") == []

    # The client's bank statement and tenancy certificate arrive and recognition files them
    # into the file: each is a supposed reply until the caseworker confirms it.
    with transaction(sqlite_runtime.sessions) as session:
        household = session.scalars(select(Household).where(Household.bg_number == OWN)).one()
        for doc_type, text in (
            ("mietbescheinigung", "Mietbescheinigung Königsberger Straße"),
            ("kontoauszug", "Kontoauszug Oktober 2026"),
        ):
            reply = file_letter(session, household, doc_type, text)
            session.flush()
            assert link_by_recognition(session, reply)
    page.reload()
    article = page.locator("#anforderungen article.request").first
    confirm = article.get_by_role("button", name="vermutlich Antwort – bestätigen")
    expect(confirm).to_have_count(2)
    confirm.first.click()
    article = page.locator("#anforderungen article.request").first
    expect(article.get_by_role("button", name="vermutlich Antwort – bestätigen")).to_have_count(1)
    expect(article.get_by_role("button", name="Erinnerung schreiben")).to_be_visible()
    if AXE.exists():
        assert axe_violations(page, "E-Akte, Anforderung teils eingegangen", "#anforderungen") == []
    screenshot(page.locator("#anforderungen"), "request19-akte-anforderungen.png")
    article.get_by_role("button", name="vermutlich Antwort – bestätigen").click()
    article = page.locator("#anforderungen article.request").first
    expect(article.locator(".item-state")).to_have_text(["eingegangen", "eingegangen"])
    expect(article.locator(".request-state")).to_contain_text("vollständig")
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        request = session.scalars(select(DocumentRequest)).one()
        assert request.state == "complete"
        assert all(f.done_at is not None for f in session.scalars(select(FollowUp)))

    # A second request is no longer needed: withdrawn with a reason (required).
    form = page.locator("#request-form")
    form.get_by_label("Mietbescheinigung oder Mietvertrag").check()
    form.get_by_label("Frist").fill("2030-01-14")
    form.get_by_role("button", name="Mitwirkungsaufforderung schreiben").click()
    expect(page).to_have_url(re.compile(rf"/akte/{OWN}\?gespeichert=anforderung#anforderung-\d+"))
    second = page.url.rsplit("-", 1)[1]
    article = page.locator(f"#anforderung-{second}")
    article.locator("summary", has_text="Anforderung zurücknehmen").click()
    withdraw = article.locator("form[action$='/zuruecknehmen']")
    withdraw.get_by_role("button", name="Anforderung zurücknehmen").click()
    expect(page.locator(f"#req-withdraw-{second}-error")).to_have_text(
        "Bitte einen Grund für die Rücknahme angeben."
    )
    reason = page.get_by_label("Grund der Rücknahme")
    expect(reason).to_have_attribute("aria-describedby", f"req-withdraw-{second}-error")
    if AXE.exists():
        assert axe_violations(page, "Anforderung zurücknehmen, ohne Grund", "#anforderungen") == []
    reason.fill("Leistungen eingestellt")
    page.locator(f"#anforderung-{second} form[action$='/zuruecknehmen'] button").click()
    expect(page).to_have_url(re.compile(rf"gespeichert=zurueckgenommen#anforderung-{second}$"))
    article = page.locator(f"#anforderung-{second}")
    expect(article.locator(".request-state")).to_contain_text("zurückgenommen")
    expect(article.locator(".notes")).to_contain_text("Grund: Leistungen eingestellt")
    expect(article.get_by_role("button", name="Erinnerung schreiben")).to_have_count(0)
    expect(article.locator("form[action$='/zuruecknehmen']")).to_have_count(0)
    if AXE.exists():
        assert axe_violations(page, "E-Akte, Anforderung zurückgenommen", "#anforderungen") == []

    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_url}/akte/{OWN}/anforderungen")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, width


def test_the_catalogue_page_of_the_administration(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    add_admin(sqlite_runtime)
    log_in(page, live_url, "admin")
    page.goto(f"{live_url}/verwaltung/anforderungskatalog")
    expect(page.get_by_role("heading", name="Katalog der anforderbaren Unterlagen")).to_be_visible()
    expect(page.get_by_label("Text im Brief").first).to_have_value("Kontoauszüge aller Konten")
    if AXE.exists():
        assert axe_violations(page, "Katalog der anforderbaren Unterlagen") == []
    page.get_by_label("Entfernen").first.check()
    page.get_by_role("button", name="Katalog speichern").click()
    expect(page.locator("#catalogue-status")).to_have_text("Katalog gespeichert.")
    expect(page.get_by_label("Text im Brief").first).not_to_have_value("Kontoauszüge aller Konten")

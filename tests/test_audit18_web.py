"""Audits without copies in the browser (issue 18): the administration grants an access, the
auditor views a document of it; once the product's day has passed the end date the auditor sees
only that the access ended. No axe violation on the pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from records.runtime import Runtime
from tests.support import OWN
from tests.support_a11y import axe_violations
from tests.support_audit18 import AUDITOR, Clock, prepare
from tests.support_browser import log_in

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 2)


def test_access_granted_viewed_and_expired(
    live_url: str, sqlite_runtime: Runtime, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs in this process: the product's day is the clock's.
    clock = Clock(monkeypatch, DAY)
    letters = prepare(sqlite_runtime, people=False)
    log_in(page, live_url, "admin")
    page.get_by_role("link", name="Prüfungen").click()
    expect(page.get_by_role("heading", name="Prüfungen ohne Papierkopien")).to_be_visible()
    assert axe_violations(page, "/verwaltung/pruefungen") == []
    form = page.locator("#grant-form")
    form.get_by_label("Prüferin oder Prüfer").select_option(AUDITOR)
    form.get_by_label("Zweck").fill("Prüfung des Landesrechnungshofs")
    form.get_by_label("Beginn").fill("2026-03-02")
    form.get_by_label("Ende (höchstens 90 Tage)").fill("2026-03-06")
    form.get_by_label("BG-Nummern").fill(OWN)
    form.get_by_label("Zurückgehaltene Dokumente").fill(f"{letters.own_secret} Gutachten")
    form.get_by_role("button", name="Zugang gewähren").click()
    expect(page.locator("#admin-status")).to_contain_text("Der Zugang wurde gewährt.")
    expect(page.locator("#accesses")).to_contain_text(OWN)
    page.context.clear_cookies()  # another person at another desk

    log_in(page, live_url, AUDITOR)
    page.goto(f"{live_url}/pruefung")
    assert axe_violations(page, "/pruefung") == []
    page.get_by_role("link", name="Prüfung: Prüfung des Landesrechnungshofs").click()
    page.get_by_role("link", name=f"Akte {OWN}").click()
    assert axe_violations(page, "/pruefung/…/akte") == []
    rows = page.locator("#documents tbody tr")
    expect(rows).to_have_count(1)  # the withheld letter is not listed
    rows.first.get_by_role("link", name="ansehen").click()
    expect(page.get_by_role("img", name=re.compile("^Seite 1 von 2: Bescheid"))).to_be_visible()
    assert axe_violations(page, "/pruefung/…/dokument") == []
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF mit Wasserzeichen herunterladen").click()
    assert download.value.suggested_filename.endswith(".pdf")
    access_url = page.url.split("/dokument/")[0]

    clock.set(date(2026, 3, 7))  # past the end date
    page.goto(access_url)
    expect(page.locator("#access-state")).to_have_text("Der Zugang ist am 06.03.2026 abgelaufen.")
    expect(page.get_by_role("link", name=f"Akte {OWN}")).to_have_count(0)
    assert axe_violations(page, "/pruefung/… (abgelaufen)") == []
    page.goto(f"{live_url}/pruefung")
    expect(page.locator("#accesses")).to_contain_text("abgelaufen")


def test_counter_inspection_form_and_report_are_accessible(
    live_url: str, sqlite_runtime: Runtime, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    Clock(monkeypatch, DAY)
    prepare(sqlite_runtime, people=False)
    log_in(page, live_url, "lsb.95401.2")
    page.goto(f"{live_url}/akte/{OWN}")
    expect(page.get_by_role("heading", name="Akteneinsicht am Empfang gewähren")).to_be_visible()
    assert axe_violations(page, "/akte (Akteneinsicht)") == []
    page.get_by_role("link", name="Dokumente zurückhalten und erteilte Einsichten ansehen").click()
    form = page.locator("#einsicht-form")
    form.get_by_label("Einsichtskonto").fill(AUDITOR)
    form.get_by_label("Bis").fill("2026-03-20")
    form.get_by_role("button", name="Akteneinsicht gewähren").click()
    expect(page.locator("#einsicht-error")).to_contain_text("höchstens 7 Tage")
    assert axe_violations(page, "/akte/…/einsicht (Fehler)") == []
    form.get_by_label("Bis").fill("2026-03-02")
    form.get_by_role("button", name="Akteneinsicht gewähren").click()
    expect(page.locator("#einsicht-status")).to_contain_text("Der Zugang wurde gewährt.")
    page.get_by_role("link", name="Bericht").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Akteneinsicht")
    assert axe_violations(page, "/pruefungen/…/bericht") == []

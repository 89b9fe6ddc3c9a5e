"""The objections office rendered on the server (issue 15): the dashboard's lists and the case
page's facts, deadlines, history and forms come as HTML from web/legal_pages.py with every
label in German from Python; a form posted with an error answers the part again with the
error at its field and what was typed; a caseworker of another team is refused and audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.product import create_product_app
from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Document
from records.runtime import Runtime
from tests.support import PASSWORD, client_for, file_indexed, load_people
from tests.support_a11y import axe_violations
from tests.support_browser import log_in, screenshot

HOUSEHOLD = "95401BG5662133"  # Jan Braun's (Leistung Husum)
OFFICE = "ws.1"  # Lena Herrmann, objections office
OTHER_TEAM = "lsb.95403.1"  # Sönke Wagner, Leistung Inseln
RESPONSIBLE = "lsb.95401.3"  # Jan Braun
OFFICE_TEAM = "team:Widerspruchsstelle"
HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
PART = {"X-EAkte-Teil": "1"}
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


@dataclass(frozen=True)
class Office:
    runtime: Runtime
    objection: int  # against the decision, on time
    unchecked: int  # no decision linked: "nicht prüfbar"
    appeal: int  # the court's statement overdue since a week ago
    overdue_since: str  # "DD.MM.YYYY"


def _german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def build_office(runtime: Runtime) -> Office:
    """A decision sent on 10.10.2026, an objection against it, one without a decision, and an
    appeal from a hostile court letter whose statement was due a week ago (the people loaded)."""
    decision = file_indexed(runtime, HOUSEHOLD, "bescheid", "Bescheid", target=OFFICE_TEAM)
    with transaction(runtime.sessions) as session:
        sent = session.get(Document, uuid.UUID(decision))
        assert sent is not None
        sent.direction, sent.dispatch_date = "out", date(2026, 10, 10)
    letters = [
        file_indexed(
            runtime,
            HOUSEHOLD,
            "widerspruch",
            "Widerspruch gegen den Bescheid",
            target=OFFICE_TEAM,
            sender=HOSTILE,
            receipt_date=date(2026, 11, 4),
            source_name=f"widerspruch-{n}.pdf",
        )
        for n in range(2)
    ]
    office = client_for(runtime, OFFICE)
    first = office.post(
        "/api/objections", json={"document_id": letters[0], "decision_id": decision}
    )
    assert first.status_code == 201, first.text
    second = office.post("/api/objections", json={"document_id": letters[1]})
    assert second.status_code == 201, second.text
    court_letter = file_indexed(runtime, HOUSEHOLD, "klage", "Sozialgericht", target=OFFICE_TEAM)
    served = local_today() - timedelta(days=35)
    due = local_today() - timedelta(days=7)
    appeal = office.post(
        "/api/appeals",
        json={
            "document_id": court_letter,
            "court": f"Sozialgericht {HOSTILE}",
            "file_reference": "S 12 AS 345/26",
            "parties": f"{HOSTILE} ./. Jobcenter",
            "served_on": served.isoformat(),
            "court_deadline": due.isoformat(),
        },
    )
    assert appeal.status_code == 201, appeal.text
    return Office(
        runtime,
        first.json()["id"],
        second.json()["id"],
        appeal.json()["id"],
        _german(due + timedelta(days=1)),
    )


@pytest.fixture
def office(sqlite_runtime: Runtime) -> Office:
    load_people(sqlite_runtime)
    return build_office(sqlite_runtime)


def _browser(runtime: Runtime, login: str) -> TestClient:
    client = TestClient(create_product_app(runtime), raise_server_exceptions=False)
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


@pytest.fixture
def clerk(office: Office) -> Iterator[TestClient]:
    yield _browser(office.runtime, OFFICE)


def _row(html: str, marker: str) -> str:
    """The table row holding `marker`."""
    rows = re.findall(r"<tr[ >].*?</tr>", html, flags=re.S)
    found = [row for row in rows if marker in row]
    assert found, marker
    return found[0]


def test_the_dashboard_lists_are_on_the_page_with_their_german_labels(
    office: Office, clerk: TestClient
) -> None:
    for path in ("/widersprueche", "/widersprueche/liste"):
        html = clerk.get(path).text
        checked = _row(html, f"Nr. {office.objection} ·")
        assert "fristgerecht" in checked and "Fristende 16.11.2026" in checked
        assert "ein Monat (§ 84 Abs. 1 SGG)" in checked  # the legal basis of the period
        assert "eingegangen" in checked and "Lena Herrmann" in checked
        assert "schriftlich" in checked
        unchecked = _row(html, f"Nr. {office.unchecked} ·")
        assert "nicht prüfbar" in unchecked
        assert "Kein angefochtener Bescheid mit Versanddatum verknüpft" in unchecked
        # § 88 SGG: three months from 04.11.2026.
        assert "drei Monate am 04.02.2027" in checked
    # The first paint is the page itself: the rows are there before any script runs.
    page = clerk.get("/widersprueche").text
    assert 'id="objection-rows"' in page and f"/widersprueche/{office.objection}" in page
    assert "anhängig" in page


def test_an_overdue_court_deadline_is_styled_and_worded_as_overdue_in_the_server_list(
    office: Office, clerk: TestClient
) -> None:
    html = clerk.get("/widersprueche").text
    row = _row(html, "S 12 AS 345/26")
    assert 'class="warning"' in row
    assert f'<span class="badge overdue">überfällig seit {office.overdue_since}</span>' in row
    assert '<span class="due overdue">' in row
    assert "1 Klage mit überfälliger Frist gegenüber dem Gericht" in html
    case = clerk.get(f"/klagen/{office.appeal}").text
    assert re.search(
        r'class="verdict late overdue-note">Stellungnahme und Verwaltungsakte bis [\d.]+: '
        rf"<strong>überfällig seit {re.escape(office.overdue_since)}</strong>",
        case,
    ), case


def test_a_hostile_court_name_sender_and_reason_are_shown_as_text(
    office: Office, clerk: TestClient
) -> None:
    board = clerk.get("/widersprueche").text
    appeal = clerk.get(f"/klagen/{office.appeal}/inhalt").text
    objection = clerk.get(f"/widersprueche/{office.objection}").text
    assert f"Sozialgericht {ESCAPED}" in board and f"Sozialgericht {ESCAPED}" in appeal
    assert f"{ESCAPED} ./. Jobcenter" in appeal  # parties
    assert ESCAPED in objection  # the letter's sender in the documents
    reason = clerk.post(
        f"/widersprueche/{office.objection}/bescheid",
        headers=PART,
        data={"decision_id": "", "reason": HOSTILE},
    )
    assert reason.status_code == 200, reason.text
    assert f"Begründung: {ESCAPED}" in reason.text  # in the history
    for html in (board, appeal, objection, reason.text):
        assert HOSTILE not in html


def test_the_scripts_hold_no_label_maps(office: Office, clerk: TestClient) -> None:
    scripts = "".join(
        (STATIC / name).read_text() for name in ("widersprueche.js", "fall.js", "format.js")
    )
    for label in (
        "in_bearbeitung",
        "zurueckgewiesen",
        "anhaengig",
        "in Bearbeitung",
        "fristgerecht",
        "verspätet",
        "nicht prüfbar",
        "überfällig",
        "Untätigkeitsklage",
        "Rechtsbehelfsbelehrung",
        "§",
    ):
        assert label not in scripts, label
    html = clerk.get(f"/widersprueche/{office.objection}/inhalt").text
    for label in ("in Bearbeitung", "zurückgewiesen (Widerspruchsbescheid)", "Teilabhilfe"):
        assert f">{label}</option>" in html
    assert ">anhängig</option>" in clerk.get(f"/klagen/{office.appeal}/inhalt").text


def test_filter_and_sort_live_in_the_address(office: Office, clerk: TestClient) -> None:
    done = clerk.post(f"/widersprueche/{office.unchecked}/status", data={"status": "abhilfe"})
    assert done.status_code == 200
    html = clerk.get("/widersprueche").text
    assert f"Nr. {office.unchecked} ·" not in html  # closed: not among the open ones
    everything = clerk.get("/widersprueche?alle=1&sortierung=neueste").text
    assert 'name="alle" value="1" checked' in everything
    assert '<option value="neueste" selected>Neueste zuerst</option>' in everything
    assert f"Nr. {office.unchecked} ·" in everything and "Abhilfe" in everything
    part = clerk.get("/widersprueche/liste?alle=1&sortierung=neueste").text
    assert part.index(f"Nr. {office.unchecked} ·") < part.index(f"Nr. {office.objection} ·")
    searched = clerk.get("/widersprueche?suche=S+12+AS").text
    assert 'value="S 12 AS"' in searched
    assert "S 12 AS 345/26" in searched and f"Nr. {office.objection} ·" not in searched
    assert "Keine Widersprüche für diese Suche." in searched


def test_a_form_error_keeps_the_input_and_says_in_german_what_is_wrong(
    office: Office, clerk: TestClient
) -> None:
    base = f"/widersprueche/{office.objection}"
    # The part, as fall.js posts it: 422 with the error at its field and what was typed.
    answer = clerk.post(
        f"{base}/eingangsdatum", headers=PART, data={"receipt_date": "2026-11-01", "reason": ""}
    )
    assert answer.status_code == 422
    html = answer.text
    assert 'id="receipt-date" name="receipt_date"' in html and 'value="2026-11-01"' in html
    assert (
        '<p class="field-error" id="receipt-form-reason-error">Bitte begründen, woher das '
        "richtige Eingangsdatum kommt.</p>" in html
    )
    assert 'aria-invalid="true" aria-describedby="receipt-form-reason-error"' in html
    assert "<html" not in html  # the part, not the page
    # A change of the contested decision needs a reason: the ticked box stays ticked.
    changed = clerk.post(
        f"{base}/bescheid", headers=PART, data={"remedy_missing": "on", "reason": ""}
    )
    assert changed.status_code == 422
    assert "braucht eine Begründung" in changed.text
    assert 'name="remedy_missing" value="on" checked' in changed.text
    assert 'data-status="Nicht gespeichert: Eine Änderung' in changed.text
    # A date that does not parse, and one in the future, are said at the date.
    wrong = clerk.post(
        f"{base}/eingangsdatum", headers=PART, data={"receipt_date": "31.02.", "reason": "x"}
    )
    assert "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)." in wrong.text
    assert 'value="31.02."' in wrong.text
    future = (local_today() + timedelta(days=3)).isoformat()
    late = clerk.post(
        f"{base}/eingangsdatum", headers=PART, data={"receipt_date": future, "reason": "Stempel"}
    )
    assert late.status_code == 422
    assert 'id="receipt-form-receipt_date-error">Das Eingangsdatum liegt in der Zukunft.' in (
        late.text
    )
    assert 'value="Stempel"' in late.text
    # Posted by the browser itself (no script): the whole page, the same error at its field.
    page = clerk.post(f"{base}/eingangsdatum", data={"receipt_date": "2026-11-01", "reason": ""})
    assert page.status_code == 422
    assert "<html" in page.text and "receipt-form-reason-error" in page.text
    assert 'value="2026-11-01"' in page.text and "autofocus" in page.text


def test_a_saved_form_answers_the_part_drawn_anew_and_the_history_says_it(
    office: Office, clerk: TestClient
) -> None:
    base = f"/widersprueche/{office.objection}"
    assert clerk.get(base).status_code == 200  # a read, audited as page.objection
    saved = clerk.post(f"{base}/status", headers=PART, data={"status": "in_bearbeitung"})
    assert saved.status_code == 200
    assert 'data-status="Status gesetzt: in Bearbeitung."' in saved.text
    assert "<strong>in Bearbeitung</strong> – gesetzt von Lena Herrmann" in saved.text
    assert "Status: eingegangen → in Bearbeitung" in saved.text
    # The history says what was done, not who looked (the page itself was read before).
    history = saved.text.split('id="history"')[1]
    assert "page.objection" not in history and "Widerspruch erfasst" in history
    corrected = clerk.post(
        f"{base}/eingangsdatum",
        headers=PART,
        data={"receipt_date": "2026-11-03", "reason": "Stempel"},
    )
    assert corrected.status_code == 200
    assert "Eingangsdatum berichtigt: 04.11.2026 → 03.11.2026. Begründung: Stempel" in (
        corrected.text
    )
    assert 'id="receipt-date" name="receipt_date" required' in corrected.text
    assert 'value="2026-11-03"' not in corrected.text.split('id="receipt-form"')[1]  # emptied
    # Without the script: the whole page, which says what was saved.
    plain = clerk.post(f"{base}/status", data={"status": "abhilfe"}, follow_redirects=False)
    assert plain.status_code == 200 and "<html" in plain.text
    assert '<p id="case-status" role="status">Status gesetzt: Abhilfe.</p>' in plain.text
    appeal = clerk.post(
        f"/klagen/{office.appeal}/status", headers=PART, data={"status": "erledigt"}
    )
    assert appeal.status_code == 200
    assert "<strong>erledigt</strong>" in appeal.text
    # Settled: the court is owed nothing any more, nothing is overdue.
    assert "überfällig" not in appeal.text
    with transaction(office.runtime.sessions) as session:
        actions = set(
            session.scalars(select(AuditEvent.action).where(AuditEvent.actor_login == OFFICE))
        )
    assert {"objection.status", "objection.receipt_date_corrected", "appeal.status"} <= actions


def test_the_court_data_form_says_where_the_file_reference_is_and_keeps_the_input(
    office: Office, clerk: TestClient
) -> None:
    base = f"/klagen/{office.appeal}"
    typed = {
        "court": "Sozialgericht Kiel",
        "file_reference": "  ",
        "parties": f"{HOSTILE} ./. Jobcenter",
        "court_deadline": "",
        "reason": "falsch gelesen",
    }
    missing = clerk.post(f"{base}/gericht", headers=PART, data=typed)
    assert missing.status_code == 422
    html = missing.text
    assert (
        'id="court-form-file_reference-error">Bitte das Aktenzeichen des Gerichts eintragen: es '
        "steht im Schreiben des Gerichts oben, bei »Aktenzeichen« oder »Az.« "
        "(z. B. S 12 AS 345/26).</p>" in html
    )
    assert 'aria-describedby="court-reference-hint court-form-file_reference-error"' in html
    assert 'value="Sozialgericht Kiel"' in html and 'value="falsch gelesen"' in html
    assert f'value="{ESCAPED} ./. Jobcenter"' in html and HOSTILE not in html
    unexplained = clerk.post(
        f"{base}/gericht",
        headers=PART,
        data=typed | {"file_reference": "S 7 AS 1/26", "reason": ""},
    )
    assert unexplained.status_code == 422
    assert 'id="court-form-reason-error">Eine Änderung der Angaben des Gerichts' in (
        unexplained.text
    )
    saved = clerk.post(
        f"{base}/gericht", headers=PART, data=typed | {"file_reference": "S 7  AS 1/26"}
    )
    assert saved.status_code == 200, saved.text
    assert "Angaben des Gerichts gespeichert" in saved.text
    assert "Angaben des Gerichts geändert (Gericht, Aktenzeichen, Frist des Gerichts)." in (
        saved.text
    )
    assert "<dt>Aktenzeichen</dt><dd>S 7 AS 1/26</dd>" in saved.text
    # Without the court's date the statement is due four weeks after service (§ 64 SGG).
    assert "Stellungnahme: Zustellung + 4 Wochen" in saved.text
    with transaction(office.runtime.sessions) as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "appeal.court_data_set")
        )
        assert event is not None and event.details is not None
        assert event.details["before"]["file_reference"] == "S 12 AS 345/26"
        assert event.details["after"]["file_reference"] == "S 7 AS 1/26"


def test_the_json_api_corrects_the_court_data_with_the_same_checks(office: Office) -> None:
    api = client_for(office.runtime, OFFICE)
    path = f"/api/appeals/{office.appeal}/court"
    facts = {"court": "Sozialgericht Kiel", "file_reference": "", "parties": ""}
    refused = api.post(path, json=facts)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "appeal_reference"
    assert "»Aktenzeichen« oder »Az.«" in refused.json()["error"]["message"]
    saved = api.post(path, json=facts | {"file_reference": "S 7 AS 1/26", "reason": "Brief"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["file_reference"] == "S 7 AS 1/26"
    assert saved.json()["history"][-1]["action"] == "appeal.court_data_set"
    other = client_for(office.runtime, OTHER_TEAM).post(path, json=facts)
    assert other.status_code == 403


def test_a_caseworker_of_another_team_is_refused_the_parts_and_it_is_audited(
    office: Office,
) -> None:
    other = _browser(office.runtime, OTHER_TEAM)
    for path in (
        f"/widersprueche/{office.objection}/inhalt",
        f"/klagen/{office.appeal}/inhalt",
        f"/widersprueche/{office.objection}",
        "/widersprueche/liste",
    ):
        answer = other.get(path)
        assert answer.status_code == 403, path
        assert "Kein Zugriff" in answer.text
        assert "Widerspruch gegen" not in answer.text and "S 12 AS" not in answer.text
    refused = other.post(
        f"/widersprueche/{office.objection}/status", headers=PART, data={"status": "abhilfe"}
    )
    assert refused.status_code == 403
    with transaction(office.runtime.sessions) as session:
        denied = session.execute(
            select(AuditEvent.action, AuditEvent.object_id).where(
                AuditEvent.actor_login == OTHER_TEAM, AuditEvent.outcome == "denied"
            )
        ).all()
    assert ("page.objection", str(office.objection)) in denied
    assert ("page.appeal", str(office.appeal)) in denied
    assert ("page.objections", None) in denied
    assert any(action == "objection.status" for action, _ in denied)
    # The household's own caseworker reads the case, without the office's forms.
    own = _browser(office.runtime, RESPONSIBLE).get(f"/widersprueche/{office.objection}/inhalt")
    assert own.status_code == 200
    assert "Fristprüfung" in own.text and 'id="status-form"' not in own.text


# --- in the browser (Debian's Chromium, Playwright) ------------------------------------------


@pytest.fixture
def shown(sqlite_runtime: Runtime, live_url: str, page: Page) -> tuple[Office, str, Page]:
    """The office's cases on a live server, and a tab signed in as the office."""
    built = build_office(sqlite_runtime)
    log_in(page, live_url, OFFICE)
    return built, live_url, page


@pytest.mark.slow
def test_the_overdue_deadline_is_styled_in_the_first_paint_without_the_script(
    shown: tuple[Office, str, Page],
) -> None:
    office, base, page = shown
    page.route("**/static/widersprueche.js", lambda route: route.abort())
    page.goto(f"{base}/widersprueche")
    row = page.locator("#appeal-rows tr", has_text="S 12 AS 345/26")
    badge = row.locator(".badge.overdue").first
    expect(badge).to_have_text(f"überfällig seit {office.overdue_since}")
    # Marked by more than colour: a border and the date struck through.
    assert badge.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    due = row.locator(".due.overdue").first
    assert "line-through" in due.evaluate("e => getComputedStyle(e).textDecorationLine")
    expect(row).to_have_class(re.compile("warning"))
    expect(page.locator("#board-status")).to_contain_text("1 Klage mit überfälliger Frist")
    # The court's name is text, not markup: nothing of it became an element.
    expect(row.get_by_role("link", name=f"Sozialgericht {HOSTILE}")).to_be_visible()
    assert page.locator("#appeal-rows img").count() == 0


@pytest.mark.slow
def test_the_filter_survives_reload_and_back_and_axe_finds_nothing(
    shown: tuple[Office, str, Page],
) -> None:
    office, base, page = shown
    done = _browser(office.runtime, OFFICE).post(
        f"/widersprueche/{office.unchecked}/status", headers=PART, data={"status": "abhilfe"}
    )
    assert done.status_code == 200
    page.goto(f"{base}/widersprueche")
    closed = page.locator("#objection-rows tr", has_text=f"Nr. {office.unchecked} ·")
    expect(closed).to_have_count(0)
    assert axe_violations(page, "dashboard") == []
    page.get_by_label("auch abgeschlossene").check()
    expect(closed).to_have_count(1)
    expect(closed).to_contain_text("Abhilfe")
    page.get_by_label("Sortierung").select_option(label="Neueste zuerst")
    expect(page).to_have_url(f"{base}/widersprueche?alle=1&sortierung=neueste")
    expect(page.locator("#objection-rows tr").first).to_contain_text(f"Nr. {office.unchecked} ·")
    assert axe_violations(page, "dashboard with closed cases") == []
    page.reload()
    expect(page.get_by_label("auch abgeschlossene")).to_be_checked()
    expect(page.get_by_label("Sortierung")).to_have_value("neueste")
    expect(closed).to_have_count(1)
    page.get_by_role("link", name=f"Öffnen: Widerspruch Nr. {office.unchecked}").click()
    expect(page).to_have_url(f"{base}/widersprueche/{office.unchecked}")
    page.go_back()
    expect(page).to_have_url(f"{base}/widersprueche?alle=1&sortierung=neueste")
    expect(page.get_by_label("auch abgeschlossene")).to_be_checked()
    expect(closed).to_have_count(1)
    screenshot(page, "office15b-widersprueche.png", full_page=True)


@pytest.mark.slow
def test_a_form_error_on_the_case_page_keeps_the_input_by_keyboard(
    shown: tuple[Office, str, Page],
) -> None:
    office, base, page = shown
    page.goto(f"{base}/widersprueche/{office.objection}")
    expect(page.locator("#history")).to_contain_text("Widerspruch erfasst (Eingang 04.11.2026")
    assert axe_violations(page, "objection page") == []
    page.get_by_label("Richtiges Eingangsdatum").fill("2026-11-01")
    page.get_by_role("button", name="Berichtigen").focus()
    page.keyboard.press("Enter")
    reason = page.get_by_label("Begründung", exact=True)
    error = page.locator("#receipt-form-reason-error")
    expect(error).to_have_text("Bitte begründen, woher das richtige Eingangsdatum kommt.")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Richtiges Eingangsdatum")).to_have_value("2026-11-01")
    expect(page.locator("#case-status")).to_contain_text("Nicht gespeichert: Bitte begründen")
    assert axe_violations(page, "objection page with a form error") == []
    screenshot(page, "office15b-fall-fehler.png", full_page=True)
    page.keyboard.type(HOSTILE)
    page.keyboard.press("Enter")
    expect(page.locator("#case-status")).to_have_text(
        "Eingangsdatum berichtigt; die Frist ist neu berechnet."
    )
    expect(page.locator("#history")).to_contain_text(f"Begründung: {HOSTILE}")
    expect(page.locator("#facts")).to_contain_text("01.11.2026")
    expect(page.get_by_role("button", name="Berichtigen")).to_be_focused()
    expect(error).to_have_count(0)
    assert page.locator("#history img").count() == 0
    page.goto(f"{base}/klagen/{office.appeal}")
    expect(page.locator("#deadline .overdue-note").first).to_contain_text(
        f"überfällig seit {office.overdue_since}"
    )
    assert axe_violations(page, "appeal page") == []

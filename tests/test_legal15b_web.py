"""The registration dialog (Widerspruch/Klage) and the Vertretung page, rendered on the server
(issue 15): the labels come from Python, a letter's hostile text is shown as text, an error
stands at its field with what was typed kept, and the dialog works by keyboard from the
Postkorb and from the viewer window."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.product import create_product_app
from core.dates import german, local_today
from core.db import transaction
from ingest.archive_pdf import write_pdfa
from records.models import Appeal, Deputy, Document, Objection
from records.runtime import Runtime
from tests import support_a11y as a11y
from tests.support import PASSWORD, Sheet, file_indexed, load_people, scan_pdf
from tests.support_browser import log_in, log_out
from tests.support_keyboard15 import focused, tab_to

OFFICE = "ws.1"  # objections office
OFFICE_TEAM = "team:Widerspruchsstelle"
HOUSEHOLD = "95401BG5662133"
CASEWORKER = "lsb.95401.3"  # Jan Braun
SAME_TEAM = "lsb.95401.1"
OTHER_OFFICE = "lsb.95403.1"  # Sönke Wagner, another office
HOSTILE = "<img src=x onerror=alert(1)>"
STATIC = Path(__file__).resolve().parents[1] / "web" / "static"


def client_for(runtime: Runtime, login: str) -> TestClient:
    """The product (pages and API) signed in as `login`."""
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _decision_and_letter(runtime: Runtime) -> tuple[str, str]:
    decision = file_indexed(runtime, HOUSEHOLD, "bescheid", "Bescheid", target=OFFICE_TEAM)
    with transaction(runtime.sessions) as session:
        sent = session.get(Document, uuid.UUID(decision))
        assert sent is not None
        sent.direction, sent.dispatch_date = "out", date(2026, 10, 10)
    letter = file_indexed(
        runtime,
        HOUSEHOLD,
        "widerspruch",
        "Hiermit lege ich Widerspruch gegen den Bescheid vom 10.10.2026 ein.",
        target=OFFICE_TEAM,
        source_name="widerspruch-legal15b.pdf",
    )
    return decision, letter


def _court_letter(runtime: Runtime, parties: str = HOSTILE, reference: str = "") -> str:
    return file_indexed(
        runtime,
        HOUSEHOLD,
        "klage",
        f"Sozialgericht Schleswig\nIn dem Rechtsstreit {parties} ./. Jobcenter Nordfriesland\n",
        target=OFFICE_TEAM,
        source_name=f"klage {HOSTILE}.pdf",
        **({"court_reference": reference} if reference else {}),
    )


# --- the dialog's partial -------------------------------------------------------------------


def test_dialog_partial_has_the_labels_from_the_server(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    decision, letter = _decision_and_letter(sqlite_runtime)
    answer = client_for(sqlite_runtime, OFFICE).get(f"/dokument/{letter}/erfassen")
    assert answer.status_code == 200, answer.text
    html = answer.text
    # The decision chosen from the file, suggested and preselected, named in German.
    assert re.search(
        rf'<option value="{decision}" selected>[^<]*versandt am 10\.10\.2026 \(bescheid\.pdf\)',
        html,
    )
    assert "Vorschlag: im Schreiben genannt: Bescheid vom 10.10.2026" in html
    assert ">schriftlich</option>" in html
    assert f"Eingang {german(local_today())}" in html
    assert "Rechtsbehelfsbelehrung fehlt oder ist unrichtig" in html
    # The script has none of these labels any more: it fetches, posts and swaps the partial.
    script = (STATIC / "legal.js").read_text(encoding="utf-8")
    for label in ("versandt am", "Rechtsbehelfsbelehrung", "Aktenzeichen", "Widerspruch Nr."):
        assert label not in script, label


def test_a_hostile_court_letter_is_shown_as_text_in_the_dialog_and_its_result(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    letter = _court_letter(sqlite_runtime, reference=f"S 1 {HOSTILE}")
    office = client_for(sqlite_runtime, OFFICE)
    html = office.get(f"/dokument/{letter}/erfassen").text
    assert "<img" not in html
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert f'value="{escaped} ./. Jobcenter Nordfriesland"' in html  # the parties read
    assert f'value="S 1 {escaped}"' in html  # the court's file number recognised
    assert f"klage {escaped}.pdf" in html  # the letter's name in the title
    sent = office.post(
        f"/dokument/{letter}/erfassen",
        data={
            "kind": "appeal",
            "court": f"Sozialgericht {HOSTILE}",
            "file_reference": f"S 1 {HOSTILE}",
            "parties": HOSTILE,
            "served_on": local_today().isoformat(),
        },
    )
    assert sent.status_code == 200, sent.text
    assert "<img" not in sent.text
    assert f"Klage S 1 {escaped} erfasst" in sent.text


def test_appeal_without_the_court_file_number_keeps_the_input_and_says_to_look_at_the_letter(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    letter = _court_letter(sqlite_runtime, parties="Ali Wolf")
    typed = {
        "kind": "appeal",
        "court": "Sozialgericht Schleswig",
        "file_reference": "",
        "parties": "Ali Wolf ./. Jobcenter",
        "served_on": local_today().isoformat(),
        "court_deadline": "",
        "notice_missing": "on",
    }
    answer = client_for(sqlite_runtime, OFFICE).post(f"/dokument/{letter}/erfassen", data=typed)
    assert answer.status_code == 422
    html = answer.text
    error = re.search(r'<p class="field-error" id="legal-file_reference-error"[^>]*>([^<]*)<', html)
    assert error and "Schreiben des Gerichts" in error.group(1) and "S 12 AS 345/26" in error[1]
    assert re.search(
        r'name="file_reference"[^>]*aria-describedby="legal-reference-hint '
        r'legal-file_reference-error" aria-invalid="true"',
        html,
    )
    assert 'value="Sozialgericht Schleswig"' in html and 'value="Ali Wolf ./. Jobcenter"' in html
    assert re.search(r'value="appeal" checked', html)
    assert re.search(r'name="notice_missing" checked', html)
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        assert session.scalar(select(Appeal)) is None


def test_a_second_objection_against_the_decision_asks_and_registers_when_confirmed(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    decision, letter = _decision_and_letter(sqlite_runtime)
    office = client_for(sqlite_runtime, OFFICE)
    first = office.post("/api/objections", json={"document_id": letter, "decision_id": decision})
    assert first.status_code == 201
    second = file_indexed(
        sqlite_runtime, HOUSEHOLD, "widerspruch", "Widerspruch", target=OFFICE_TEAM
    )
    form = {"kind": "objection", "decision_id": decision, "form": "schriftlich"}
    warned = office.post(f"/dokument/{second}/erfassen", data=form)
    assert warned.status_code == 409
    assert "data-confirm=" in warned.text and "Trotzdem erfassen" in warned.text
    assert f'<option value="{decision}" selected>' in warned.text  # the choice kept
    done = office.post(f"/dokument/{second}/erfassen", data=form | {"confirm_duplicate": "1"})
    assert done.status_code == 200 and "erfasst</h2>" in done.text
    assert 'data-kind="objection"' in done.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        assert len(session.scalars(select(Objection)).all()) == 2


def test_the_dialog_of_a_foreign_or_unknown_letter_says_why_not(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    _, letter = _decision_and_letter(sqlite_runtime)
    caseworker = client_for(sqlite_runtime, CASEWORKER)  # not the objections office
    refused = caseworker.get(f"/dokument/{letter}/erfassen")
    assert refused.status_code == 403 and "Erfassen nicht möglich" in refused.text
    unknown = client_for(sqlite_runtime, OFFICE).get("/dokument/nicht-da/erfassen")
    assert unknown.status_code == 404 and "Erfassen nicht möglich" in unknown.text


# --- Vertretung ------------------------------------------------------------------------------


def test_vertretung_error_stands_at_its_field_with_the_input_kept(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    today = local_today().isoformat()
    typed = {"deputy": OTHER_OFFICE, "starts_on": today, "ends_on": today}
    answer = caseworker.post("/vertretung", data=typed)
    assert answer.status_code == 422
    html = answer.text
    assert re.search(r'<p class="field-error" id="deputy-deputy-error">[^<]*Teamgrenzen', html)
    assert re.search(
        r'name="deputy" required aria-invalid="true" aria-describedby="deputy-deputy-error" '
        r"autofocus",
        html,
    )
    assert f'<option value="{OTHER_OFFICE}" selected>' in html
    assert html.count(f'value="{today}"') == 2
    # A period that ends before it starts: at the end date, the choice of deputy kept.
    earlier = date.fromordinal(local_today().toordinal() + 1).isoformat()
    wrong = caseworker.post(
        "/vertretung", data={"deputy": SAME_TEAM, "starts_on": earlier, "ends_on": today}
    )
    assert wrong.status_code == 422
    assert re.search(r'id="deputy-ends_on-error">Das Ende liegt vor dem Beginn', wrong.text)
    assert f'<option value="{SAME_TEAM}" selected>' in wrong.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        assert session.scalar(select(Deputy)) is None


def test_vertretung_lists_and_labels_come_from_the_server(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    today = local_today()
    entered = caseworker.post(
        "/vertretung",
        data={"deputy": SAME_TEAM, "starts_on": today.isoformat(), "ends_on": today.isoformat()},
        follow_redirects=False,
    )
    assert entered.status_code == 303 and entered.headers["location"].endswith("eingetragen")
    page = caseworker.get(entered.headers["location"]).text
    assert "Vertretung eingetragen." in page
    mine = page.split('id="my-deputies"')[1].split("</ul>")[0]
    assert f"{german(today)} bis {german(today)}" in mine
    assert '<span class="badge approved">aktiv</span>' in mine
    assert not (STATIC / "vertretung.js").exists()  # nothing left for a script to draw
    stand_in = client_for(sqlite_runtime, SAME_TEAM).get("/vertretung").text
    assert "Jan Braun" in stand_in.split('id="i-stand-in"')[1]
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        entry = session.scalars(select(Deputy)).one()
    ended = caseworker.post(f"/vertretung/{entry.id}/beenden", follow_redirects=False)
    assert ended.status_code == 303
    after = caseworker.get(ended.headers["location"]).text
    assert "Vertretung beendet." in after
    assert '<li class="hint">Keine.</li>' in after
    # Only the absent colleague ends it.
    refused = client_for(sqlite_runtime, SAME_TEAM).post(f"/vertretung/{entry.id}/beenden")
    assert refused.status_code == 403 and "nur die vertretene Person" in refused.text


# --- in the browser, by keyboard ------------------------------------------------------------


@pytest.mark.slow
def test_register_an_appeal_from_the_viewer_window_by_keyboard(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    letter = _court_letter(sqlite_runtime, parties="Jana Huber")
    log_in(page, live_url, OFFICE)
    viewer = page.context.new_page()
    viewer.goto(f"{live_url}/viewer?doc={letter}")
    expect(viewer.locator("#register-letter")).to_be_enabled()
    tab_to(viewer, "Erfassen", role="button")
    viewer.keyboard.press("Enter")
    dialog = viewer.locator("#legal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Klage (Schreiben des Sozialgerichts)")).to_be_checked()
    assert focused(viewer) == ("radio", "Widerspruch")
    expect(dialog.locator("#legal-title")).to_contain_text(f"klage {HOSTILE}.pdf")
    # Nothing recognised as the court's file number: sent empty, the error says where to look.
    tab_to(viewer, "Erfassen", role="button")
    viewer.keyboard.press("Enter")
    reference = dialog.get_by_label("Aktenzeichen des Gerichts")
    expect(reference).to_have_attribute("aria-invalid", "true")
    expect(reference).to_be_focused()
    expect(dialog.locator(".field-error")).to_contain_text("Schreiben des Gerichts")
    expect(dialog.get_by_label("Beteiligte")).to_have_value(
        "Jana Huber ./. Jobcenter Nordfriesland"
    )
    viewer.keyboard.type("S 7 AS 12/26")
    viewer.keyboard.press("Enter")  # Enter in a field sends the form
    heading = dialog.get_by_role("heading", name="Klage S 7 AS 12/26 erfasst")
    expect(heading).to_be_visible()
    assert focused(viewer) == ("link", "Zur Klage")
    expect(dialog.get_by_role("link", name="Zur Klage")).to_have_attribute("target", "_blank")
    viewer.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


@pytest.mark.slow
def test_register_an_objection_from_the_postkorb_by_keyboard(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    _, letter = _decision_and_letter(sqlite_runtime)
    log_in(page, live_url, OFFICE)
    page.goto(f"{live_url}/postkorb")
    tab_to(page, re.compile(r"Team.*"), role="button")
    page.keyboard.press("Enter")
    row = page.locator("#inbox-rows tr[data-id]", has_text="widerspruch-legal15b.pdf")
    expect(row).to_have_count(1)
    tab_to(
        page,
        "Widerspruch erfassen",
        within=f"#inbox-rows tr[data-id='{row.get_attribute('data-id')}']",
    )
    page.keyboard.press("Enter")
    dialog = page.locator("#legal-dialog")
    expect(dialog).to_be_visible()
    assert focused(page) == ("radio", "Widerspruch")
    expect(dialog.get_by_label("Angefochtener Bescheid")).to_contain_text("versandt am 10.10.2026")
    tab_to(page, "Erfassen", role="button")
    page.keyboard.press("Enter")
    heading = dialog.get_by_role("heading", name=re.compile(r"Widerspruch Nr\. \d+ erfasst"))
    expect(heading).to_be_visible()
    expect(page.locator("#inbox-status, [role=status]").first).to_be_attached()
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        objection = session.scalars(select(Objection)).one()
        assert str(objection.document_id) == letter


# --- Aktenauszug ----------------------------------------------------------------------------


def _rendition(runtime: Runtime, tmp_path: Path, document_id: str) -> None:
    """Give the letter a stored rendition (as the pipeline writes it), so that it can be sent."""
    pages = [scan_pdf(tmp_path / "page.pdf", [Sheet("Widerspruch")])]
    target = tmp_path / "document.pdf"
    write_pdfa(pages, target, title="widerspruch.pdf", created=datetime(2026, 11, 4, tzinfo=UTC))
    key = f"renditions/{document_id}/document.pdf"
    runtime.blobs.put(key, io.BytesIO(target.read_bytes()))
    with transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(document_id))
        assert document is not None
        document.pdf_key = key


def test_aktenauszug_page_has_its_labels_from_the_server(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    decision, letter = _decision_and_letter(sqlite_runtime)
    office = client_for(sqlite_runtime, OFFICE)
    objection = office.post(
        "/api/objections", json={"document_id": letter, "decision_id": decision}
    ).json()["id"]
    page = office.get(f"/akte/{HOUSEHOLD}/aktenauszug?widerspruch={objection}")
    assert page.status_code == 200
    html = page.text
    assert re.search(
        rf'<option value="objection:{objection}" data-href="/akte/{HOUSEHOLD}/aktenauszug\?'
        rf'widerspruch={objection}" selected>Widerspruch Nr. {objection} \(Eingang ',
        html,
    )
    assert "§ 104 SGG (Verwaltungsakte an das Gericht)</option>" in html
    assert "Schutz Dritter (§ 25 Abs. 3 SGB X)" in html
    assert "2 von 2 Dokumenten gewählt" in html  # the case's documents: decision and letter
    assert 'aria-label="Widerspruch aufnehmen" checked' in html
    assert "Noch keine Aktenauszüge." in html
    script = (STATIC / "aktenauszug.js").read_text(encoding="utf-8")
    for label in ("§ 104", "Widerspruch Nr.", "Noch keine", "Haushalt:", "Eingang"):
        assert label not in script, label


def test_aktenauszug_error_keeps_the_input_and_a_hostile_recipient_is_text(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    load_people(sqlite_runtime)
    decision, letter = _decision_and_letter(sqlite_runtime)
    _rendition(sqlite_runtime, tmp_path, letter)
    office = client_for(sqlite_runtime, OFFICE)
    address = f"/akte/{HOUSEHOLD}/aktenauszug"
    typed = {
        "scope": "file",
        "recipient": f"Sozialgericht {HOSTILE}",
        "legal_basis": "",
        "include": [letter],
        f"withhold-{decision}": "Nicht Gegenstand des Verfahrens",
    }
    refused = office.post(address, data=typed)
    assert refused.status_code == 422
    html = refused.text
    assert re.search(r'id="export-legal_basis-error">Bitte eine Rechtsgrundlage wählen', html)
    assert 'name="legal_basis" required aria-invalid="true"' in html
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert f'value="Sozialgericht {escaped}"' in html and "<img" not in html
    assert f'value="{letter}" aria-label="Widerspruch aufnehmen" checked' in html
    assert f'value="{decision}" aria-label="Bescheid (Postausgang) aufnehmen">' in html
    assert 'value="Nicht Gegenstand des Verfahrens"' in html
    assert "1 von 2 Dokumenten gewählt" in html

    made = office.post(address, data=typed | {"legal_basis": "sgg_104"})
    assert made.status_code == 200, made.text
    result = made.text.split('id="export-result"')[1]
    assert "Aktenauszug Nr. 1 erstellt:" in result
    assert f"an Sozialgericht {escaped} (§ 104 SGG" in made.text and "<img" not in made.text
    history = made.text.split('id="export-history"')[1]
    assert "/api/exports/1/pdf" in history and "ganze Akte: 1 Dokumente" in history


@pytest.mark.slow
def test_axe_finds_no_violation_in_the_dialog_and_the_pages_with_their_errors(
    sqlite_runtime: Runtime, live_url: str, page: Page, tmp_path: Path
) -> None:
    if not a11y.AXE.exists():
        pytest.fail(f"axe-core is missing at {a11y.AXE}: scripts/setup.sh --dev installs it")
    found: list[str] = []
    letter = _court_letter(sqlite_runtime, parties="Jana Huber")
    # The viewer window's dialog, as drawn and with the court's file number missing.
    log_in(page, live_url, OFFICE)
    viewer = page.context.new_page()
    viewer.goto(f"{live_url}/viewer?doc={letter}")
    viewer.get_by_role("button", name="Erfassen").click()
    dialog = viewer.locator("#legal-dialog")
    expect(dialog.get_by_label("Beteiligte")).to_be_visible()
    found += a11y.axe_violations(viewer, "viewer #legal-dialog")
    dialog.get_by_role("button", name="Erfassen").click()
    expect(dialog.locator(".field-error")).to_be_visible()
    found += a11y.axe_violations(viewer, "viewer #legal-dialog with an error")
    viewer.close()
    # The Aktenauszug with an error (no legal basis), then made.
    _rendition(sqlite_runtime, tmp_path, letter)
    page.goto(f"{live_url}/akte/{HOUSEHOLD}/aktenauszug")
    page.get_by_label("Empfänger").fill("Sozialgericht Schleswig")
    page.get_by_role("button", name="Aktenauszug erstellen").click()
    expect(page.locator("#export-legal_basis-error")).to_be_visible()
    expect(page.get_by_label("Empfänger")).to_have_value("Sozialgericht Schleswig")
    found += a11y.axe_violations(page, "/aktenauszug with an error")
    page.get_by_label("Rechtsgrundlage").select_option("sgg_104")
    page.get_by_role("button", name="Aktenauszug erstellen").click()
    expect(page.locator("#export-result")).to_contain_text("PDF herunterladen", timeout=60_000)
    found += a11y.axe_violations(page, "/aktenauszug made")
    # Vertretung with an error: the deputy of another office, kept with the error at the field.
    log_out(page, live_url)
    log_in(page, live_url, CASEWORKER)
    page.goto(f"{live_url}/vertretung")
    page.get_by_label("Vertretung durch").select_option(OTHER_OFFICE)
    page.get_by_role("button", name="Eintragen").click()
    choice = page.get_by_label("Vertretung durch")
    expect(choice).to_have_value(OTHER_OFFICE)
    expect(choice).to_have_attribute("aria-invalid", "true")
    expect(choice).to_be_focused()  # autofocus on the field in error
    expect(page.locator("#deputy-deputy-error")).to_contain_text("Teamgrenzen")
    found += a11y.axe_violations(page, "/vertretung with an error")
    assert not found, "axe-core found:\n" + "\n".join(found)

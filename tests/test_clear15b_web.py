"""Clearing rendered on the server (issue 15): the list, its labels, the household search and
the forms come from web/clearing_pages.py; clearing.js keeps no labels of its own. A hostile
sender or clearing reason is printed as text; the page's address holds the filter and the page;
the forms work without the script (errors at their field, what was typed kept); an earlier
letter is linked only where the user may see it."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from app.product import STATIC_DIR, create_product_app
from core.db import transaction
from records.duplicates import mark_duplicate
from records.models import AuditEvent, Document
from records.runtime import Runtime
from tests.support import OWN, PASSWORD, file_indexed, load_people
from tests.support_a11y import axe_violations
from tests.support_browser import log_in, screenshot
from tests.support_keyboard15 import focus_kept, focus_within, focused, tab_to

DESK = "post.1"
HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'
TEXT = "Guten Tag, anbei die Kopie meines Mietvertrags für die neue Wohnung in Husum. " * 3


def _signed_in(runtime: Runtime, login: str) -> TestClient:
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


@pytest.fixture
def desk(sqlite_runtime: Runtime) -> TestClient:
    load_people(sqlite_runtime)
    return _signed_in(sqlite_runtime, DESK)


def _card(page: str, document_id: str) -> str:
    start = page.index(f'id="case-{document_id}"')
    return page[start : page.index("</article>", start)]


def _named(runtime: Runtime, clearing_reason: str, **fields: object) -> str:
    """A letter in clearing whose recognition named the household OWN."""
    letter = file_indexed(runtime, None, "sonstiges", "Bitte um Rückruf.", **fields)
    with transaction(runtime.sessions) as session:
        session.get_one(Document, uuid.UUID(letter)).recognition = {
            "clearing_reason": clearing_reason,
            "candidates": [OWN],
            "bg_numbers_found": [[OWN, 1, True]],
            "person": "Anna Musterfrau",
            "household_evidence": [],
        }
    return letter


def _twins(runtime: Runtime, earlier_in: str | None = None) -> tuple[str, str]:
    """A letter (in clearing, or filed into `earlier_in`) and the same letter again in clearing,
    marked as its duplicate."""
    checked = {"qa_status": "approved"} if earlier_in else {}  # past the desk's check
    earlier = file_indexed(
        runtime, earlier_in, "sonstiges", TEXT, source_name="miete-1.pdf", **checked
    )
    later = file_indexed(runtime, None, "sonstiges", TEXT, source_name="miete-2.pdf")
    with transaction(runtime.sessions) as session:
        for document_id in (earlier, later):
            mark_duplicate(session, session.get_one(Document, uuid.UUID(document_id)), [])
            session.flush()
    return earlier, later


# --- labels from the server ---------------------------------------------------------------------


def test_the_list_is_rendered_with_its_labels_and_the_script_has_none(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    named = _named(sqlite_runtime, f"Haushalt {OWN} erkannt, Dokumentart unsicher")
    earlier, later = _twins(sqlite_runtime)
    page = desk.get("/klaerung")
    assert page.status_code == 200, page.text
    # The first paint holds the list: no waiting for a script.
    assert '<span id="clearing-count" aria-live="polite">3 offen</span>' in page.text
    card = _card(page.text, named)
    assert re.search(r"Eingang \d\d\.\d\d\.\d{4} · 1 Seite", card)
    assert "Vorgeschlagene Dokumentart: Sonstiger Schriftverkehr" in card
    assert f"Gefunden: BG-Nummer {OWN} auf Seite 1; Person: Anna Musterfrau" in card
    assert "Erkannt:" in card and f"Zuordnen zu {OWN} (" in card
    assert f'value="{OWN}"' in card  # recognition agrees with itself: the number filled in
    twin = _card(page.text, later)
    assert "Bereits eingelesen:" in twin and "(gleicher Text)" in twin
    assert f'href="/dokument/{earlier}"' in twin
    assert 'data-reason="Duplikat von miete-1.pdf"' in twin
    # The partial says the same (clearing.js swaps it in).
    partial = desk.get("/klaerung/liste")
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'data-count="3 offen"' in partial.text and "Bereits eingelesen:" in partial.text
    # A search's results: the names, the birth date in German, the match marked.
    found = desk.get("/klaerung/haushalte", params={"q": "Wolf", "fuer": named})
    assert found.status_code == 200
    assert "Übernehmen" in found.text and "<strong>" in found.text
    assert re.search(r"\(geb\. \d\d\.\d\d\.\d{4}\)", found.text)
    assert (
        "Kein Haushalt gefunden."
        in desk.get("/klaerung/haushalte", params={"q": "Qwertzuiop", "fuer": named}).text
    )

    script = (STATIC_DIR / "clearing.js").read_text(encoding="utf-8")
    for label in (
        "Seite(n)",
        "Schreiben vom",
        "Eingang",
        "Gefunden:",
        "Zuordnen zu",
        "In Frage kommen",
        "Erkannt:",
        "Kein Haushalt gefunden",
        "geb.",
        "nicht aktiv",
        "Duplikat von",
        "zugeordnet zu",
        "als Duplikat verworfen",
    ):
        assert label not in script, label
    assert "setHtml" not in script and "html`" not in script and "/api/" not in script


def test_a_hostile_sender_and_reason_are_printed_as_text(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    letter = _named(
        sqlite_runtime, HOSTILE, source_name=f"{HOSTILE}.pdf", reason=f"Klärung: {HOSTILE}"
    )
    page = desk.get("/klaerung").text
    card = _card(page, letter)
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;&gt;" in card
    assert card.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 2  # the heading and the reason


# --- the address holds the list's state ---------------------------------------------------------


def test_the_address_holds_the_filter_and_the_page(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    for number in range(22):
        file_indexed(
            sqlite_runtime, None, "sonstiges", f"Brief {number}", source_name=f"b{number}.pdf"
        )
    _earlier, later = _twins(sqlite_runtime)
    first = desk.get("/klaerung").text
    assert "Fälle 1–20 von 24" in first and "Seite 1 von 2" in first
    assert 'href="/klaerung?seite=2"' in first
    second = desk.get("/klaerung", params={"seite": "2"}).text
    assert "Fälle 21–24 von 24" in second and f'id="case-{later}"' in second
    assert 'href="/klaerung"' in second  # back to the first page
    only = desk.get("/klaerung", params={"duplikate": "1"}).text
    assert "Nur Duplikate (1)" in only and "checked" in only
    assert only.count('class="card clearing-item"') == 1 and f'id="case-{later}"' in only
    # A form's address keeps the state, so the answer shows the same list.
    assert f'action="/klaerung/{later}/zuordnen?duplikate=1"' in only


# --- the forms without the script ---------------------------------------------------------------


def test_filing_and_its_errors_without_the_script(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    letter = _named(sqlite_runtime, "Dokumentart unsicher")
    unknown = desk.post(
        f"/klaerung/{letter}/zuordnen",
        data={"doc_type": "sonstiges", "bg_number": "95401BG9999999", "note": "vom Band"},
    )
    assert unknown.status_code == 422
    card = _card(unknown.text, letter)
    assert "Die BG-Nummer 95401BG9999999 ist nicht bekannt." in card
    assert 'value="95401BG9999999"' in card and 'value="vom Band"' in card  # kept as typed
    assert re.search(r'id="bg-[^"]+"[^>]*aria-invalid="true"', card)
    # One click on the household recognition named: filed, and the page says so.
    filed = desk.post(f"/klaerung/{letter}/zuordnen", data={"doc_type": "sonstiges", "choice": OWN})
    assert filed.status_code == 200, filed.text
    assert f"sonstiges.pdf: zugeordnet zu {OWN}, Postkorb lsb.95401.2." in filed.text
    assert f'id="case-{letter}"' not in filed.text and "0 offen" in filed.text
    again = desk.post(f"/klaerung/{letter}/zuordnen", data={"doc_type": "sonstiges", "choice": OWN})
    assert again.status_code == 422  # not in clearing any more: said, not filed twice


def test_a_household_search_without_the_script_shows_its_results_at_its_card(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    letter = _named(sqlite_runtime, "Dokumentart unsicher")
    other = _named(sqlite_runtime, "Dokumentart unsicher", source_name="anderes.pdf")
    page = desk.get("/klaerung", params={"fuer": letter, "q": "Christiansen"})
    assert page.status_code == 200
    card = _card(page.text, letter)
    assert 'value="Christiansen"' in card and card.count("Übernehmen") >= 2
    assert "<strong>Andreas Christiansen</strong>" in card
    assert "Übernehmen" not in _card(page.text, other)
    # The same through the partial route clearing.js asks.
    found = desk.get("/klaerung/haushalte", params={"fuer": letter, "q": "Christiansen"}).text
    assert f'id="candidates-{letter}"' in found and "95401BG7267253" in found
    assert (
        "Bitte mindestens zwei Zeichen eingeben."
        in desk.get("/klaerung/haushalte", params={"fuer": letter, "q": "C"}).text
    )


def test_discarding_wants_a_reason_and_is_audited(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    _earlier, later = _twins(sqlite_runtime)
    empty = desk.post(f"/klaerung/{later}/verwerfen", data={"reason": " "})
    assert empty.status_code == 422
    assert "Bitte einen Grund für das Verwerfen angeben." in empty.text
    done = desk.post(
        f"/klaerung/{later}/verwerfen?duplikate=1",
        data={"reason": "Zweimal eingescannt"},
        headers={"X-EAkte-Partial": "1"},
    )
    assert done.status_code == 200
    assert 'data-said="miete-2.pdf: als Duplikat verworfen."' in done.text
    assert "<html" not in done.text and f'id="case-{later}"' not in done.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.discarded")
        ).all()
        assert event.actor_login == DESK and event.details["reason"] == "Zweimal eingescannt"


def test_an_earlier_letter_the_desk_may_not_see_is_not_linked(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    earlier, later = _twins(sqlite_runtime, earlier_in=OWN)
    card = _card(desk.get("/klaerung").text, later)
    assert "Duplikat eines früheren Schriftstücks" in card
    assert earlier not in card and "miete-1.pdf" not in card
    assert 'data-reason="Duplikat eines früheren Schriftstücks"' in card


def test_a_role_without_clearing_gets_no_list(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    caseworker = _signed_in(sqlite_runtime, "lsb.95401.2")
    for path in ("/klaerung", "/klaerung/liste", "/klaerung/haushalte?q=Wolf"):
        assert caseworker.get(path).status_code == 403, path
    nobody = TestClient(create_product_app(sqlite_runtime))
    assert nobody.get("/klaerung", follow_redirects=False).headers["location"] == "/anmelden"


# --- in the browser: by keyboard, with axe-core -------------------------------------------------


@pytest.mark.slow
def test_clearing_by_keyboard_one_click_filing_discarding_and_axe(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    runtime = sqlite_runtime
    earlier, later = _twins(runtime)
    named = _named(runtime, f"Haushalt {OWN} erkannt", source_name="anruf.pdf")
    hostile = _named(runtime, HOSTILE, source_name=f"{HOSTILE}.pdf", reason=f"Klärung: {HOSTILE}")
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    log_in(page, live_url, DESK)
    page.goto(f"{live_url}/klaerung")
    expect(page.locator("#clearing-count")).to_have_text("4 offen")
    # The hostile sender and reason are text, nothing of them runs or is drawn.
    card = page.locator(f"#case-{hostile}")
    expect(card.get_by_role("heading", level=2)).to_have_text(f"{HOSTILE}.pdf")
    expect(card.locator(".reason")).to_have_text(f"Klärung: {HOSTILE}")
    assert page.locator("img[src=x], .clearing-item script").count() == 0
    assert (
        page.evaluate("document.querySelectorAll('img:not([src*=\"/api/documents/\"])').length")
        == 0
    )
    assert axe_violations(page, "/klaerung") == []

    # One click on the household recognition named, from the keyboard.
    tab_to(page, re.compile(rf"Zuordnen zu {OWN}.*"), role="button", within=f"#case-{named}")
    page.keyboard.press("Enter")
    expect(page.locator("#clearing-status")).to_have_text(
        f"anruf.pdf: zugeordnet zu {OWN}, Postkorb lsb.95401.2."
    )
    expect(page.locator(f"#case-{named}")).to_have_count(0)
    expect(page.locator("#clearing-count")).to_have_text("3 offen")
    focus_kept(page, "filing")
    assert focus_within(page, "main")

    # Discarding asks first, with the reason filled in; Escape keeps the letter.
    tab_to(page, "Als Duplikat verwerfen …", role="button", within=f"#case-{later}")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Duplikat verwerfen?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("»miete-2.pdf« wird aus der Klärung genommen")
    assert focused(page) == ("textbox", "Grund")
    expect(dialog.get_by_label("Grund")).to_have_value("Duplikat von miete-1.pdf")
    assert axe_violations(page, "/klaerung discard dialog") == []
    screenshot(page, "klaerung-15b-verwerfen.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page) == ("button", "Als Duplikat verwerfen …")
    # Without a reason it is not sent; with one it is.
    page.keyboard.press("Enter")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.locator(f"#case-{later}")).to_have_count(1)
    page.keyboard.type("Zweimal eingescannt")
    page.keyboard.press("Enter")
    expect(page.locator("#clearing-status")).to_have_text("miete-2.pdf: als Duplikat verworfen.")
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#case-{later}")).to_have_count(0)
    expect(page.locator("#clearing-count")).to_have_text("2 offen")
    focus_kept(page, "discarding")
    assert focus_within(page, "main")

    # The filter is in the address: Back shows the whole list again.
    page.get_by_label(re.compile(r"Nur Duplikate")).check()
    page.get_by_role("button", name="Filtern").click()
    expect(page).to_have_url(f"{live_url}/klaerung?duplikate=1")
    expect(page.locator("#clearing-range")).to_have_text(
        "Keine als Duplikat markierten Klärungsfälle."
    )
    page.go_back()
    expect(page.locator(".clearing-item")).to_have_count(2)
    page.reload()
    expect(page.locator(f"#case-{earlier}")).to_be_visible()
    assert alerts == []
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.get_one(Document, uuid.UUID(later)).discard_reason == "Zweimal eingescannt"
        filed = session.get_one(Document, uuid.UUID(named))
        assert filed.household is not None and filed.household.bg_number == OWN


@pytest.mark.slow
def test_an_older_answer_never_replaces_a_newer_list(
    live_url: str, page: Page, sqlite_runtime: Runtime
) -> None:
    """The filter is asked for, then Back before its answer came: the late answer for the
    filter is not drawn over the whole list Back asked for."""
    _twins(sqlite_runtime)
    file_indexed(sqlite_runtime, None, "sonstiges", "Bitte um Rückruf.", source_name="anruf.pdf")
    log_in(page, live_url, DESK)
    page.goto(f"{live_url}/klaerung")
    expect(page.locator(".clearing-item")).to_have_count(3)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/klaerung/liste?duplikate=1", hold)
    page.get_by_label(re.compile(r"Nur Duplikate")).check()
    with page.expect_request("**/klaerung/liste?duplikate=1"):
        page.get_by_role("button", name="Filtern").click()
    for _ in range(100):  # each call hands Playwright's pending events (the route) over
        if held:
            break
        page.evaluate("1")
    assert len(held) == 1
    page.go_back()
    expect(page).to_have_url(f"{live_url}/klaerung")
    expect(page.locator("#clearing-duplicates")).not_to_be_checked()
    with page.expect_request_finished(lambda request: "duplikate=1" in request.url):
        held[0].continue_()
    # The page has handled the late answer once two frames were drawn after it.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    expect(page.locator(".clearing-item")).to_have_count(3)
    expect(page.locator("#clearing-range")).to_have_text("Fälle 1–3 von 3")

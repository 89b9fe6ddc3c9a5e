"""The document page /dokument/{id} (issue 15): the data form beside the page image, the
notes, the history from the audit log, previous/next within the list it was opened from; all
of it through the access gate, audited, and rendered on the server."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.dates import german, local_today
from core.db import transaction
from records.models import AuditEvent, Document, Note
from records.runtime import Runtime
from tests.support import PASSWORD, client_for, file_indexed, load_people

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"
STRANGER = "lsb.95403.1"  # a caseworker of another office
STRANGERS_HOUSEHOLD = "95403BG6577899"
DESK = "post.1"
OFFICE = "ws.1"  # objections office
BROWSER = {"Accept": "text/html"}


def _pages(runtime: Runtime, login: str) -> TestClient:
    """The product (pages and API) signed in as `login`."""
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _letter(runtime: Runtime, days_ago: int, name: str, household: str = HOUSEHOLD) -> str:
    return file_indexed(
        runtime,
        household,
        "sonstiges",
        f"Schreiben {name}",
        source_name=f"{name}.pdf",
        receipt_date=local_today() - timedelta(days=days_ago),
    )


def _panel(page: str, name: str) -> str:
    """The text of one tab panel of the page (tags removed)."""
    match = re.search(rf'id="panel-{name}".*?(?=<div role="tabpanel"|</section>)', page, re.S)
    assert match, f"no panel {name}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def _links(page: str, rel: str) -> list[str]:
    return re.findall(rf'<a rel="{rel}" href="([^"]+)"', page)


def _audit(runtime: Runtime, login: str) -> list[tuple[str, str | None, str]]:
    with transaction(runtime.sessions, read_only=True) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.actor_login == login).order_by(AuditEvent.id)
        )
        return [(row.action, row.object_id, row.outcome) for row in rows]


def test_the_page_shows_the_data_the_notes_and_a_receipt_date_correction_in_the_history(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    letter = _letter(sqlite_runtime, 0, "antrag")
    client = _pages(sqlite_runtime, CASEWORKER)
    earlier = local_today() - timedelta(days=4)

    saved = client.post(
        f"/dokument/{letter}/angaben",
        data={
            "doc_type": "sonstiges",
            "receipt_date": earlier.isoformat(),
            "reason": "Eingangsstempel des Bürgerbüros",
            "letter_date": "",
            "sender": "Ali Wolf",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/dokument/{letter}?reiter=angaben&gespeichert=angaben"
    noted = client.post(
        f"/dokument/{letter}/vermerke", data={"text": "Rückruf vereinbart"}, follow_redirects=False
    )
    assert noted.status_code == 303

    page = client.get(f"/dokument/{letter}?reiter=verlauf", headers=BROWSER)
    assert page.status_code == 200
    assert "<h1>Sonstiger Schriftverkehr" in page.text
    assert f'src="/api/documents/{letter}/pages/1/image"' not in page.text  # no image stored
    # The form holds the data as saved.
    assert f'name="receipt_date" max="{local_today().isoformat()}" value="{earlier}"' in page.text
    assert 'name="sender" maxlength="200" value="Ali Wolf"' in page.text
    assert "Rückruf vereinbart" in _panel(page.text, "vermerke")
    # Who (the name, not the login), what (in German), when.
    history = _panel(page.text, "verlauf")
    assert "Angaben geändert" in history
    assert f"Eingangsdatum: {german(local_today())} → {german(earlier)}" in history
    assert "Begründung: Eingangsstempel des Bürgerbüros" in history
    assert "Vermerk hinzugefügt" in history
    assert "Jan Braun" in history and CASEWORKER not in history
    assert "Erkannt und in den Postkorb gelegt" in history
    assert "Scanstraße (automatisch)" in history
    # The tab asked for is the one shown.
    assert (
        'id="tab-verlauf" data-tab="verlauf" aria-controls="panel-verlauf" aria-selected="true"'
        in (page.text)
    )
    # The page's read and the history's read are in the audit log.
    events = _audit(sqlite_runtime, CASEWORKER)
    assert ("document.details", letter, "ok") in events
    assert ("document.history", letter, "ok") in events
    assert ("document.details_changed", letter, "ok") in events

    # The same history for the viewer's side panel, as JSON.
    answer = client.get(f"/api/documents/{letter}/history")
    assert answer.status_code == 200
    entries = answer.json()["entries"]
    assert [e["label"] for e in entries][:2] == ["Vermerk hinzugefügt", "Angaben geändert"]
    assert entries[1]["who"] == "Jan Braun"


def test_a_validation_error_is_shown_at_its_field_and_keeps_what_was_typed(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    letter = _letter(sqlite_runtime, 0, "antrag")
    client = _pages(sqlite_runtime, CASEWORKER)
    earlier = (local_today() - timedelta(days=3)).isoformat()
    tomorrow = (local_today() + timedelta(days=1)).isoformat()

    refused = client.post(
        f"/dokument/{letter}/angaben",
        data={
            "doc_type": "sonstiges",
            "receipt_date": earlier,
            "reason": "",
            "sender": "Stadtwerke Husum",
        },
    )
    assert refused.status_code == 422
    assert '<p class="field-error" id="reason-error">' in refused.text
    assert "Das Eingangsdatum bestimmt Fristen: bitte die Korrektur begründen." in refused.text
    assert re.search(
        r'name="reason"[^>]*aria-invalid="true" aria-describedby="reason-error"', refused.text
    )
    assert (
        f'name="receipt_date" max="{local_today().isoformat()}" value="{earlier}"' in refused.text
    )
    assert 'value="Stadtwerke Husum"' in refused.text

    future = client.post(
        f"/dokument/{letter}/angaben",
        data={
            "doc_type": "sonstiges",
            "receipt_date": local_today().isoformat(),
            "letter_date": tomorrow,
        },
    )
    assert future.status_code == 422
    assert (
        '<p class="field-error" id="letter_date-error">Ein Datum in der Zukunft ist nicht möglich.'
        in (future.text)
    )
    assert f'value="{tomorrow}"' in future.text

    empty_note = client.post(f"/dokument/{letter}/vermerke", data={"text": "   "})
    assert empty_note.status_code == 422
    assert '<p class="field-error" id="text-error">Der Vermerk ist leer.</p>' in empty_note.text
    assert (
        'id="tab-vermerke" data-tab="vermerke" aria-controls="panel-vermerke" aria-selected="true"'
        in (empty_note.text)
    )
    # Nothing of it was saved.
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        document = session.get(Document, uuid.UUID(letter))
        assert document is not None
        assert document.receipt_date == local_today() and document.sender is None
        assert document.letter_date is None
        assert not session.scalars(select(Note)).all()


def test_previous_and_next_within_the_postkorb_follow_its_sort(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    newest, middle, oldest = (_letter(sqlite_runtime, d, f"brief-{d}") for d in (1, 5, 9))
    _letter(sqlite_runtime, 3, "fremd", STRANGERS_HOUSEHOLD)  # another office's: never shown
    client = _pages(sqlite_runtime, CASEWORKER)

    page = client.get(f"/dokument/{middle}?liste=postkorb", headers=BROWSER)
    assert page.status_code == 200
    assert _links(page.text, "prev") == [f"/dokument/{newest}?liste=postkorb"]
    assert _links(page.text, "next") == [f"/dokument/{oldest}?liste=postkorb"]
    assert "2 von 3 in" in page.text and 'href="/postkorb">Postkorb</a>' in page.text

    # Oldest first: the other way round, and the sort stays in the links.
    page = client.get(f"/dokument/{middle}?liste=postkorb&sort=oldest", headers=BROWSER)
    assert _links(page.text, "prev") == [f"/dokument/{oldest}?liste=postkorb&amp;sort=oldest"]
    assert _links(page.text, "next") == [f"/dokument/{newest}?liste=postkorb&amp;sort=oldest"]
    assert 'href="/postkorb?sort=oldest">Postkorb</a>' in page.text

    # Reading the Verlauf of one letter after another: the open tab goes along.
    page = client.get(f"/dokument/{middle}?liste=postkorb&reiter=verlauf", headers=BROWSER)
    assert _links(page.text, "next") == [f"/dokument/{oldest}?liste=postkorb&amp;reiter=verlauf"]

    # The first of the list has no previous one.
    page = client.get(f"/dokument/{newest}?liste=postkorb", headers=BROWSER)
    assert _links(page.text, "prev") == []
    assert "Kein vorheriges Dokument" in page.text
    assert ("inbox.list", None, "ok") in _audit(sqlite_runtime, CASEWORKER)

    # An address edited by hand does not break the page: what the list would not take is its
    # default; a search that does not parse gives no neighbours.
    page = client.get(f"/dokument/{middle}?liste=postkorb&sort=bogus&state=x", headers=BROWSER)
    assert page.status_code == 200 and "2 von 3 in" in page.text
    page = client.get(f"/dokument/{middle}?liste=suche&q=Schreiben&from=kaputt", headers=BROWSER)
    assert page.status_code == 200 and 'rel="next"' not in page.text


def test_previous_and_next_within_the_e_akte_and_without_a_list_in_date_order(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    newest, middle, oldest = (_letter(sqlite_runtime, d, f"brief-{d}") for d in (2, 6, 10))
    client = _pages(sqlite_runtime, CASEWORKER)

    page = client.get(f"/dokument/{middle}?liste=akte&ansicht=timeline", headers=BROWSER)
    assert _links(page.text, "prev") == [f"/dokument/{newest}?liste=akte&amp;ansicht=timeline"]
    assert _links(page.text, "next") == [f"/dokument/{oldest}?liste=akte&amp;ansicht=timeline"]
    assert f'href="/akte/{HOUSEHOLD}">E-Akte {HOUSEHOLD}</a>' in page.text
    day = german(local_today() - timedelta(days=2))
    assert f"Sonstiger Schriftverkehr vom {day}" in page.text  # the previous one, named

    # A deep link without a list: the household's file, newest first.
    page = client.get(f"/dokument/{oldest}", headers=BROWSER)
    assert _links(page.text, "prev") == [f"/dokument/{middle}"]
    assert _links(page.text, "next") == []
    assert "3 von 3 in" in page.text


def test_a_user_without_access_is_refused_and_the_refusal_is_audited_also_through_the_list(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    letter = _letter(sqlite_runtime, 1, "antrag")
    own = _letter(sqlite_runtime, 2, "eigenes", STRANGERS_HOUSEHOLD)
    stranger = _pages(sqlite_runtime, STRANGER)

    for address in (
        f"/dokument/{letter}",
        f"/dokument/{letter}?liste=postkorb",
        f"/dokument/{letter}?liste=akte&ansicht=by_type",
        f"/dokument/{uuid.uuid4()}?liste=postkorb",
    ):
        refused = stranger.get(address, headers=BROWSER)
        assert refused.status_code == 403, address
        assert "<h1>Kein Zugriff</h1>" in refused.text
        assert "Schreiben antrag" not in refused.text and "antrag.pdf" not in refused.text
    assert stranger.post(f"/dokument/{letter}/vermerke", data={"text": "x"}).status_code == 403
    changed = stranger.post(
        f"/dokument/{letter}/angaben", data={"receipt_date": "2026-01-02", "reason": "x"}
    )
    assert changed.status_code == 403
    assert stranger.get(f"/api/documents/{letter}/history").status_code == 403
    denied = [e for e in _audit(sqlite_runtime, STRANGER) if e[2] == "denied"]
    assert ("document.details", letter, "denied") in denied
    assert ("note.add", letter, "denied") in denied
    assert ("document.change", letter, "denied") in denied
    assert ("document.history", letter, "denied") in denied

    # The stranger's own document: its neighbours are only what the stranger may see.
    page = stranger.get(f"/dokument/{own}?liste=postkorb", headers=BROWSER)
    assert page.status_code == 200
    assert letter not in page.text
    assert "1 von 1 in" in page.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        assert not session.scalars(select(Note)).all()
        document = session.get(Document, uuid.UUID(letter))
        assert document is not None and document.receipt_date != date(2026, 1, 2)


def test_the_desk_reads_a_letter_in_clearing_but_the_page_offers_no_change_it_may_not_make(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    unclear = file_indexed(sqlite_runtime, None, "sonstiges", "Ohne Absender")
    desk = _pages(sqlite_runtime, DESK)
    page = desk.get(f"/dokument/{unclear}", headers=BROWSER)
    assert page.status_code == 200
    assert "ohne Haushalt (Klärung)" in page.text
    assert 'rel="prev"' not in page.text and 'rel="next"' not in page.text
    assert 'id="details-form"' in page.text  # in clearing the desk sets type and dates

    # A letter the desk still checks (quality check pending): read, not changed.
    checked = _letter(sqlite_runtime, 0, "geprueft")
    page = desk.get(f"/dokument/{checked}", headers=BROWSER)
    assert page.status_code == 200
    assert 'id="details-form"' not in page.text and 'id="note-form"' not in page.text
    assert "Die Scanstelle ändert Angaben nur in der Klärung." in page.text
    # The JSON API's history answers the desk the same way.
    assert (
        client_for(sqlite_runtime, DESK).get(f"/api/documents/{unclear}/history").status_code == 200
    )


def test_previous_and_next_within_search_results_only_among_what_the_user_may_see(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    found = [
        file_indexed(sqlite_runtime, HOUSEHOLD, "sonstiges", f"Heizkostenabrechnung {n}")
        for n in range(3)
    ]
    foreign = file_indexed(
        sqlite_runtime, STRANGERS_HOUSEHOLD, "sonstiges", "Heizkostenabrechnung fremd"
    )
    client = _pages(sqlite_runtime, CASEWORKER)
    hits = client.get("/api/search", params={"q": "Heizkostenabrechnung"}).json()["hits"]
    order = [hit["document_id"] for hit in hits]
    assert sorted(order) == sorted(found)

    page = client.get(f"/dokument/{order[1]}?liste=suche&q=Heizkostenabrechnung", headers=BROWSER)
    assert page.status_code == 200
    assert _links(page.text, "prev") == [
        f"/dokument/{order[0]}?liste=suche&amp;q=Heizkostenabrechnung"
    ]
    assert _links(page.text, "next") == [
        f"/dokument/{order[2]}?liste=suche&amp;q=Heizkostenabrechnung"
    ]
    assert '2 von 3 in <a href="/suche?q=Heizkostenabrechnung">Suchergebnis</a>' in page.text
    assert foreign not in page.text
    # The search's words are marked in the viewer window opened from the page.
    assert f"/viewer?doc={order[1]}&amp;page=1&amp;q=Heizkostenabrechnung" in page.text
    assert ("search", None, "ok") in _audit(sqlite_runtime, CASEWORKER)


def test_the_preview_pages_through_the_document_and_keeps_the_list(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    letter = file_indexed(sqlite_runtime, HOUSEHOLD, "sonstiges", "Seite eins", "Seite zwei")
    client = _pages(sqlite_runtime, CASEWORKER)
    first = client.get(f"/dokument/{letter}?liste=postkorb&sort=oldest", headers=BROWSER)
    assert '<h2 id="preview-title">Seite 1 von 2</h2>' in first.text
    assert f'href="/dokument/{letter}?liste=postkorb&amp;sort=oldest&amp;page=2">Nächste Seite' in (
        first.text
    )
    assert "Vorherige Seite" not in first.text
    second = client.get(f"/dokument/{letter}?liste=postkorb&sort=oldest&page=2", headers=BROWSER)
    assert '<h2 id="preview-title">Seite 2 von 2</h2>' in second.text
    assert "Nächste Seite" not in second.text
    assert f"/viewer?doc={letter}&amp;page=2" in second.text
    # The forms keep the page and the list too.
    assert f'action="/dokument/{letter}/angaben?liste=postkorb&amp;sort=oldest&amp;page=2"' in (
        second.text
    )


def test_the_history_of_a_letter_names_the_objection_registered_from_it(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    office_team = "team:Widerspruchsstelle"
    decision = file_indexed(sqlite_runtime, HOUSEHOLD, "bescheid", "Bescheid", target=office_team)
    with transaction(sqlite_runtime.sessions) as session:
        sent = session.get(Document, uuid.UUID(decision))
        assert sent is not None
        sent.direction, sent.dispatch_date = "out", local_today() - timedelta(days=20)
    letter = file_indexed(
        sqlite_runtime, HOUSEHOLD, "widerspruch", "Widerspruch gegen Bescheid", target=office_team
    )
    office = _pages(sqlite_runtime, OFFICE)
    registered = office.post(
        "/api/objections", json={"document_id": letter, "decision_id": decision}
    )
    assert registered.status_code == 201, registered.text
    number = registered.json()["id"]

    page = office.get(f"/dokument/{letter}?reiter=verlauf", headers=BROWSER)
    history = _panel(page.text, "verlauf")
    assert f"Als Widerspruch erfasst : Widerspruch Nr. {number}" in history
    assert "Lena Herrmann" in history and OFFICE not in history
    entries = office.get(f"/api/documents/{letter}/history").json()["entries"]
    assert (entries[0]["label"], entries[0]["who"]) == ("Als Widerspruch erfasst", "Lena Herrmann")

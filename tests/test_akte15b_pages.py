"""The E-Akte /akte/{bg} rendered on the server (issue 15, akte15b): the lists and labels come
from Python, the address keeps tab, filter, order and the selected document, saved views of
the E-Akte, the note form without script, and need-to-know on the page's parts."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.dates import german, local_today
from core.db import transaction
from records.models import AuditEvent, Note
from records.runtime import Runtime
from tests.support import PASSWORD, file_indexed, load_people

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"
STRANGER = "lsb.95403.1"  # a caseworker of another office: may not see HOUSEHOLD
BROWSER = {"Accept": "text/html"}
HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SCRIPT = Path(__file__).resolve().parent.parent / "web" / "static" / "akte.js"


def _signed_in(runtime: Runtime, login: str) -> TestClient:
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _letters(runtime: Runtime) -> dict[str, str]:
    """A pay slip (10 days ago), a bank statement from a hostile sender (5 days ago) and another
    letter (today): their ids by name."""
    load_people(runtime)
    today = local_today()
    return {
        "lohn": file_indexed(
            runtime,
            HOUSEHOLD,
            "verdienstabrechnung",
            "Lohn",
            "Seite 2",
            source_name="lohn.pdf",
            receipt_date=today - timedelta(days=10),
            letter_date=today - timedelta(days=12),
        ),
        "konto": file_indexed(
            runtime,
            HOUSEHOLD,
            "kontoauszug",
            "Konto",
            source_name="konto.pdf",
            sender=HOSTILE,
            receipt_date=today - timedelta(days=5),
        ),
        "brief": file_indexed(
            runtime, HOUSEHOLD, "sonstiges", "Brief", source_name="brief.pdf", receipt_date=today
        ),
    }


def _rows(page: str) -> list[str]:
    """The ids of the document rows, in the order the list shows them."""
    return re.findall(r'<li class="document[^"]*" data-id="([^"]+)"', page)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_lists_and_their_labels_come_from_the_server(sqlite_runtime: Runtime) -> None:
    ids = _letters(sqlite_runtime)
    client = _signed_in(sqlite_runtime, CASEWORKER)
    noted = client.post(f"/api/households/{HOUSEHOLD}/notes", json={"text": HOSTILE})
    assert noted.status_code == 201

    page = client.get(f"/akte/{HOUSEHOLD}", headers=BROWSER)
    assert page.status_code == 200
    text = _text(page.text)
    # The household, the groups by type name, German dates, page counts: in the first paint.
    assert "Sachbearbeitung: Jan Braun" in text
    assert "Lohn-/Verdienstabrechnung (1)" in text
    assert "Kontoauszug (1)" in text
    assert german(local_today() - timedelta(days=10)) in text
    assert f"2 S. · Schreiben vom {german(local_today() - timedelta(days=12))}" in text
    assert "Keine Vermerke." not in text and "Noch keine Aktenauszüge." in text
    assert set(_rows(page.text)) == set(ids.values())
    # The tab asked for by default is selected, the other not.
    assert 'id="tab-by-type" aria-selected="true"' in page.text
    assert 'id="tab-timeline" aria-selected="false"' in page.text
    # The hostile sender and note are text, never markup.
    assert HOSTILE not in page.text
    assert page.text.count(ESCAPED) == 2

    parts = client.get(f"/akte/{HOUSEHOLD}/liste?tab=timeline", headers=BROWSER)
    assert parts.status_code == 200
    assert _rows(parts.text) == [ids["brief"], ids["konto"], ids["lohn"]]
    assert "Sonstiger Schriftverkehr" in parts.text and HOSTILE not in parts.text
    assert 'id="documents" data-region' in parts.text

    # The script has no label map of its own any more: names, states and bases are the server's.
    script = SCRIPT.read_text(encoding="utf-8")
    for label in ("zurückgewiesen", "Teilabhilfe", "§ 104 SGG", "anhängig", "doc_type_name"):
        assert label not in script, label
    assert "/api/doctypes" not in script


def test_the_address_keeps_tab_filter_order_and_the_selected_document(
    sqlite_runtime: Runtime,
) -> None:
    ids = _letters(sqlite_runtime)
    more = file_indexed(
        sqlite_runtime,
        HOUSEHOLD,
        "kontoauszug",
        "Konto 2",
        source_name="konto-2.pdf",
        receipt_date=local_today() - timedelta(days=2),
    )
    client = _signed_in(sqlite_runtime, CASEWORKER)

    # A reload of the address the page had: the same tab, filter, order and row.
    address = f"/akte/{HOUSEHOLD}?tab=timeline&doc_type=kontoauszug&sort=oldest&doc={more}"
    page = client.get(address, headers=BROWSER)
    assert page.status_code == 200
    assert _rows(page.text) == [ids["konto"], more]
    assert 'id="tab-timeline" aria-selected="true"' in page.text
    assert '<option value="kontoauszug" selected>Kontoauszug</option>' in page.text
    assert '<option value="oldest" selected>älteste zuerst</option>' in page.text
    assert re.search(rf'data-id="{more}"[^>]*aria-current="true"', page.text)
    assert page.text.count('aria-current="true"') == 1
    # The document page's previous/next follow the tab.
    assert f"/dokument/{more}?liste=akte&amp;ansicht=timeline" in page.text
    # The note form posts back into the same state.
    assert (
        f'action="/akte/{HOUSEHOLD}/vermerke?tab=timeline&amp;doc_type=kontoauszug&amp;sort=oldest'
        f'&amp;doc={more}"' in page.text
    )

    # A type with no document in the file, and values made up by hand: no error.
    empty = client.get(f"/akte/{HOUSEHOLD}?doc_type=klage", headers=BROWSER)
    assert empty.status_code == 200 and "Keine Dokumente dieser Art in der Akte." in empty.text
    odd = client.get(f"/akte/{HOUSEHOLD}?tab=x&sort=y&doc=z", headers=BROWSER)
    assert odd.status_code == 200 and 'id="tab-by-type" aria-selected="true"' in odd.text
    assert len(_rows(odd.text)) == 4


def test_a_saved_view_of_the_e_akte_opens_any_file_in_its_tab_and_filter(
    sqlite_runtime: Runtime,
) -> None:
    ids = _letters(sqlite_runtime)
    client = _signed_in(sqlite_runtime, CASEWORKER)
    saved = client.post(
        "/api/views/akte",
        json={
            "name": "Kontoauszüge",
            "query": f"tab=timeline&doc_type=kontoauszug&sort=newest&doc={ids['konto']}",
        },
    )
    assert saved.status_code == 201, saved.text
    # The row is no part of a view; the default order is left out.
    assert saved.json()["query"] == "tab=timeline&doc_type=kontoauszug"
    bogus = client.post("/api/views/akte", json={"name": "x", "query": "tab=bogus"})
    assert bogus.status_code == 422

    page = client.get(f"/akte/{HOUSEHOLD}", headers=BROWSER)
    link = f"/akte/{HOUSEHOLD}?tab=timeline&amp;doc_type=kontoauszug"
    assert f'<a href="{link}" aria-current="false">Kontoauszüge</a>' in page.text
    opened = client.get(link.replace("&amp;", "&"), headers=BROWSER)
    assert 'id="tab-timeline" aria-selected="true"' in opened.text
    assert '<option value="kontoauszug" selected>Kontoauszug</option>' in opened.text
    assert _rows(opened.text) == [ids["konto"]]
    assert f'<a href="{link}" aria-current="page">Kontoauszüge</a>' in opened.text

    # Another user has views of their own, none of these.
    other = _signed_in(sqlite_runtime, STRANGER)
    assert other.get("/api/views/akte").json()["views"] == []


def test_a_note_by_form_post_keeps_the_text_on_error_and_the_state_on_success(
    sqlite_runtime: Runtime,
) -> None:
    _letters(sqlite_runtime)
    client = _signed_in(sqlite_runtime, CASEWORKER)

    refused = client.post(f"/akte/{HOUSEHOLD}/vermerke?tab=timeline", data={"text": "   "})
    assert refused.status_code == 422
    error = '<p class="field-error" id="note-form-text-error" data-field="text">'
    assert f"{error}Der Vermerk ist leer.</p>" in refused.text
    assert re.search(r'name="text"[^>]*aria-invalid="true"', refused.text)
    long = "x" * 10_001
    too_long = client.post(f"/akte/{HOUSEHOLD}/vermerke", data={"text": long})
    assert too_long.status_code == 422 and f'value="{long}"' in too_long.text
    assert "zu lang" in too_long.text

    saved = client.post(
        f"/akte/{HOUSEHOLD}/vermerke?tab=timeline",
        data={"text": f"Rückruf {HOSTILE}"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/akte/{HOUSEHOLD}?tab=timeline&gespeichert=vermerk"
    page = client.get(saved.headers["location"], headers=BROWSER)
    assert '<p id="akte-status" role="status">Vermerk gespeichert.</p>' in page.text
    assert f"Rückruf {ESCAPED}" in page.text
    assert 'id="tab-timeline" aria-selected="true"' in page.text


def test_a_foreign_file_and_its_parts_are_refused_and_the_refusal_audited(
    sqlite_runtime: Runtime,
) -> None:
    _letters(sqlite_runtime)
    client = _signed_in(sqlite_runtime, STRANGER)
    for path in (f"/akte/{HOUSEHOLD}", f"/akte/{HOUSEHOLD}/liste?tab=timeline"):
        answer = client.get(path, headers=BROWSER)
        assert answer.status_code == 403, path
        assert "Kein Zugriff" in answer.text
        assert "Lohn" not in answer.text and "lohn.pdf" not in answer.text
    posted = client.post(f"/akte/{HOUSEHOLD}/vermerke", data={"text": "fremd"})
    assert posted.status_code == 403
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_login == STRANGER, AuditEvent.outcome == "denied"
            )
        ).all()
        assert [(e.action, e.object_id) for e in refusals] == [
            ("household.read", HOUSEHOLD),
            ("household.read", HOUSEHOLD),
            ("note.add", HOUSEHOLD),
        ]
        assert not session.scalars(select(Note)).all()


def test_an_objection_is_marked_at_its_letter_and_listed_with_its_state(
    sqlite_runtime: Runtime,
) -> None:
    _letters(sqlite_runtime)
    letter = file_indexed(
        sqlite_runtime,
        HOUSEHOLD,
        "widerspruch",
        "Widerspruch gegen den Bescheid",
        source_name="widerspruch.pdf",
        target="team:Widerspruchsstelle",
    )
    office = _signed_in(sqlite_runtime, "ws.1")
    created = office.post("/api/objections", json={"document_id": letter})
    assert created.status_code == 201, created.text
    number = created.json()["id"]

    page = _signed_in(sqlite_runtime, CASEWORKER).get(f"/akte/{HOUSEHOLD}", headers=BROWSER)
    row = re.search(rf'<li class="document" data-id="{letter}".*?</li>', page.text, re.S)
    assert row, "no row of the objection's letter"
    assert f'<a class="badge" href="/widersprueche/{number}">Widerspruch Nr. {number}</a>' in (
        row.group(0)
    )
    assert '<section class="card" id="legal">' in page.text  # shown, not hidden
    assert (
        f"Widerspruch Nr. {number}</a> · Eingang {german(local_today())} · eingegangen" in page.text
    )

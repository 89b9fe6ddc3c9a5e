"""The Postkorb's list rendered on the server (issue 15, postkorb15b): the page's first paint
and the partial /postkorb/liste carry the German labels from Python (postkorb.js holds no label
map any more), the address decides tab, filters, sort, row and page; and a duplicate is
discarded from the Postkorb by the user who holds its item, with a reason, audited, refused for
a document not marked as a duplicate and for another's item."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.db import transaction
from records.models import AuditEvent, Document, InboxItem
from records.runtime import Runtime
from tests.support import (
    OWN,
    PASSWORD,
    file_indexed,
    letter_read_twice,
    load_people,
)
from web.workplace_pages import PER_PAGE, Address, pager_for

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"
OTHER = "lsb.95401.2"  # Laura, responsible for OWN
SCRIPT = Path(__file__).resolve().parent.parent / "web" / "static" / "postkorb.js"


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    """The product's runtime on SQLite with the sample people."""
    load_people(sqlite_runtime)
    return sqlite_runtime


def _client(runtime: Runtime, login: str) -> TestClient:
    """A signed-in client of the product (pages and API)."""
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _item_of(runtime: Runtime, document_id: str) -> int:
    with transaction(runtime.sessions, read_only=True) as session:
        item = session.scalar(
            select(InboxItem).where(InboxItem.document_id == uuid.UUID(document_id))
        )
        assert item is not None
        return item.id


def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions, read_only=True) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def test_the_list_is_drawn_on_the_server_with_german_labels_and_the_script_has_no_map(
    runtime: Runtime,
) -> None:
    file_indexed(runtime, HOUSEHOLD, "kontoauszug", "Saldo", source_name="konto.pdf")
    client = _client(runtime, CASEWORKER)
    page = client.get("/postkorb")
    assert page.status_code == 200
    body = page.text
    # The first paint holds the list: tabs with counts, filters with German names, the row.
    assert 'id="inbox-rows"' in body and "konto.pdf" in body
    assert re.search(r'data-scope="mine"[^>]*>Mein Postkorb <span class="count">1 neu / 1', body)
    assert '<option value="done">erledigt</option>' in body
    assert '<option value="oldest">älteste zuerst</option>' in body
    assert "Kontoauszug" in body  # the type's name from the catalogue
    assert '<span class="badge new">neu</span>' in body
    assert "1 Einträge." in body  # the status line, drawn with the list
    partial = client.get("/postkorb/liste", params={"state": "any"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "konto.pdf" in partial.text
    assert '<option value="any" selected>alle</option>' in partial.text

    # The script draws no labels of its own any more.
    script = SCRIPT.read_text(encoding="utf-8")
    for label in ("zur Neuerfassung abgelehnt", "Mein Postkorb", "neueste zuerst", '"übernommen"'):
        assert label not in script, label
    assert "setHtml(row" not in script


def test_the_address_decides_tab_filters_sort_and_row(runtime: Runtime) -> None:
    ids = [
        file_indexed(runtime, HOUSEHOLD, "sonstiges", f"Brief {n}", source_name=f"brief-{n}.pdf")
        for n in range(3)
    ]
    items = [_item_of(runtime, i) for i in ids]
    client = _client(runtime, CASEWORKER)
    body = client.get(f"/postkorb?sort=oldest&state=any&item={items[1]}").text
    assert '<option value="oldest" selected>' in body
    assert '<option value="any" selected>' in body
    assert re.search(rf'data-id="{items[1]}"[^>]*\n?[^>]*aria-current="true"', body)
    assert body.count('aria-current="true"') == 1
    # An address edited by hand: what the Postkorb would not take counts as the default.
    odd = client.get("/postkorb?tab=nirgends&sort=%3Cx%3E&item=abc&page=-1")
    assert odd.status_code == 200
    assert 'data-tab="mine"' in odd.text and '<option value="received" selected>' in odd.text


def test_a_duplicate_is_discarded_from_the_postkorb_with_a_reason_and_audited(
    runtime: Runtime,
) -> None:
    earlier, later = letter_read_twice(runtime, HOUSEHOLD)
    item = _item_of(runtime, later)
    client = _client(runtime, CASEWORKER)
    body = client.get("/postkorb").text
    assert body.count('data-act="discard"') == 1  # only the marked letter offers it

    missing = client.post(f"/api/inbox/{item}/discard", json={"reason": "  "})
    assert missing.status_code == 422
    assert missing.json()["error"]["message"] == "Bitte einen Grund für das Verwerfen angeben."
    refused = _audit(runtime, "document.discarded")
    assert [(e.outcome, e.details.get("code")) for e in refused] == [("refused", "discard_reason")]

    done = client.post(f"/api/inbox/{item}/discard", json={"reason": "Zweimal eingescannt"})
    assert done.status_code == 200, done.text
    assert done.json()["said"] == "miete-2.pdf: als Duplikat verworfen"
    with transaction(runtime.sessions, read_only=True) as session:
        document = session.get_one(Document, uuid.UUID(later))
        assert document.discarded_at is not None
        assert document.discard_reason == "Zweimal eingescannt"
        assert document.discarded_by_login == CASEWORKER
        assert document.original_key  # the original stays in storage
        assert session.get_one(Document, uuid.UUID(earlier)).discarded_at is None
    [ok] = [e for e in _audit(runtime, "document.discarded") if e.outcome == "ok"]
    assert ok.actor_login == CASEWORKER and ok.object_id == later
    assert ok.details["reason"] == "Zweimal eingescannt"
    # Out of the Postkorb (every state), out of the search index; the earlier letter stays.
    listing = client.get("/api/inbox", params={"state": "any"}).json()["items"]
    assert [i["document"]["id"] for i in listing] == [earlier]
    assert "miete-2.pdf" not in client.get("/postkorb?state=any").text
    found = client.get("/api/search", params={"q": "Mietvertrags"}).json()
    assert later not in str(found) and earlier in str(found)


def test_discard_is_refused_for_a_letter_not_marked_as_duplicate_and_for_anothers_item(
    runtime: Runtime,
) -> None:
    plain = file_indexed(runtime, HOUSEHOLD, "sonstiges", "Brief", source_name="brief.pdf")
    _, others = letter_read_twice(runtime, OWN)  # in Laura's Postkorb
    client = _client(runtime, CASEWORKER)

    not_marked = client.post(
        f"/api/inbox/{_item_of(runtime, plain)}/discard", json={"reason": "Doppelt"}
    )
    assert not_marked.status_code == 409
    assert "Nur ein als Duplikat erkanntes Dokument" in not_marked.json()["error"]["message"]
    foreign = client.post(
        f"/api/inbox/{_item_of(runtime, others)}/discard", json={"reason": "Doppelt"}
    )
    assert foreign.status_code == 403
    assert "nicht in Ihrem Postkorb" in foreign.json()["error"]["message"]

    outcomes = [(e.outcome, e.actor_login) for e in _audit(runtime, "document.discarded")]
    assert outcomes == [("refused", CASEWORKER), ("denied", CASEWORKER)]
    with transaction(runtime.sessions, read_only=True) as session:
        for document_id in (plain, others):
            assert session.get_one(Document, uuid.UUID(document_id)).discarded_at is None
    assert 'data-act="discard"' in _client(runtime, OTHER).get("/postkorb").text


def test_a_long_postkorb_is_paged_and_the_page_is_no_part_of_a_saved_view(
    runtime: Runtime,
) -> None:
    first = Address.of({"sort": "oldest", "page": "1"}, {})
    assert pager_for(first, PER_PAGE, PER_PAGE) is None  # one page: no pager
    second = Address.of({"sort": "oldest", "page": "2"}, {})
    pager = pager_for(second, 2 * PER_PAGE + 50, PER_PAGE)
    assert pager is not None
    assert (pager.number, pager.pages, pager.first, pager.last) == (2, 3, 201, 400)
    assert pager.previous == "/postkorb?sort=oldest"
    assert pager.next == "/postkorb?sort=oldest&page=3"

    client = _client(runtime, CASEWORKER)
    saved = client.post(
        "/api/views/postkorb", json={"name": "Älteste", "query": "sort=oldest&page=3&item=7"}
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["query"] == "sort=oldest"

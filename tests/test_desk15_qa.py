"""The scanning desk's quality check and batch list as the server renders them (issue 15): each
entry names type, household and its caseworker (by name), sender, pages and a thumbnail; an
approval needs the page count counted on paper; a rejection its reason; paging, filters, bulk
approval; the lists answer 304 to a poll while nothing changed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from app.runtime import build_runtime
from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Document
from records.runtime import Runtime
from tests.support import PASSWORD, load_people, make_settings, sample, work_until_idle

pytestmark = pytest.mark.slow

DESK = "post.1"  # Julia Petersen
HOUSEHOLD = "95401BG5662133"  # 0001.pdf, Ali Wolf's pay slip; caseworker Jan Braun


@dataclass(frozen=True)
class Desk:
    runtime: Runtime
    client: TestClient
    letter: str  # 0001.pdf, routed to Jan Braun
    batch: str  # batch-2.pdf: seven documents, in order
    documents: list[str]


def _client(runtime: Runtime, login: str) -> TestClient:
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    runtime = build_runtime(make_settings(tmp_path_factory.mktemp("desk15") / "data"))
    load_people(runtime)
    client = _client(runtime, DESK)
    batches = {}
    for name in ("docs/0001.pdf", "batches/batch-2.pdf"):
        upload = {"file": (Path(name).name, sample(name).read_bytes())}
        answer = client.post("/api/documents", files=upload)
        assert answer.status_code == 201, answer.text
        batches[name] = answer.json()["id"]
    work_until_idle(runtime)
    letter = client.get(f"/api/batches/{batches['docs/0001.pdf']}").json()["documents"][0]["id"]
    batch = batches["batches/batch-2.pdf"]
    documents = [d["id"] for d in client.get(f"/api/batches/{batch}").json()["documents"]]
    assert len(documents) == 7
    yield Desk(runtime, client, letter, batch, documents)
    runtime.close()


def _entries(text: str) -> list[str]:
    """The documents a rendered quality check lists, in order."""
    return re.findall(r'<li class="qa-entry" id="qa-[^"]+" data-id="([^"]+)"', text)


def _entry(text: str, document_id: str) -> str:
    start = text.index(f'data-id="{document_id}"')
    return text[start : text.index("</li>", start)]


def _qa(site: Desk, **query: str) -> str:
    answer = site.client.get("/scanstelle/pruefung", params=query)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_an_entry_names_type_household_caseworker_sender_pages_and_shows_page_one(
    site: Desk,
) -> None:
    entry = _entry(_qa(site), site.letter)
    assert "Lohn-/Verdienstabrechnung" in entry
    assert f"{HOUSEHOLD}, Sachbearbeitung Jan Braun" in entry
    assert "<dt>Postkorb</dt><dd>Jan Braun</dd>" in entry
    assert "<dt>Seiten im Scan</dt><dd>1</dd>" in entry
    assert "<dt>Absender</dt>" in entry
    # Names, never logins.
    assert "lsb.95401" not in entry
    thumb = re.search(r'<img class="qa-thumb"[^>]* src="([^"]+)" alt="([^"]+)"', entry)
    assert thumb is not None and thumb.group(2).startswith("Seite 1 von 0001.pdf")
    image = site.client.get(thumb.group(1))
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    assert f'href="/dokument/{site.letter}" target="eakte-viewer"' in entry
    # A caseworker gets neither the list nor the batches.
    caseworker = _client(site.runtime, "lsb.95401.3")
    assert caseworker.get("/scanstelle/pruefung").status_code == 403
    assert caseworker.get("/scanstelle/stapel").status_code == 403


def test_approval_wants_the_page_count_on_paper_and_checks_it(site: Desk) -> None:
    url = f"/api/documents/{site.documents[0]}/qa"
    missing = site.client.post(url, json={"decision": "approve"})
    assert missing.status_code == 422
    assert missing.json()["error"]["message"].startswith(
        "Bitte die auf Papier gezählte Seitenzahl eingeben"
    )
    wrong = site.client.post(url, json={"decision": "approve", "counted_pages": 3})
    assert wrong.status_code == 409
    assert (
        "Seitenzahl stimmt nicht: auf Papier 3, im Dokument 1" in wrong.json()["error"]["message"]
    )
    assert site.documents[0] in _entries(_qa(site, batch=site.batch))
    right = site.client.post(url, json={"decision": "approve", "counted_pages": 1})
    assert right.status_code == 200 and right.json()["qa_status"] == "approved"
    assert site.documents[0] not in _entries(_qa(site, batch=site.batch))
    decided = _entry(_qa(site, qa="approved"), site.documents[0])
    assert "freigegeben von Julia Petersen am" in decided
    assert "post.1" not in decided


def test_bulk_approval_checks_each_entry_and_answers_one_line_each(site: Desk) -> None:
    right, wrong, missing = site.documents[1:4]
    answer = site.client.post(
        "/api/qa-approvals",
        json={
            "documents": [
                {"id": right, "counted_pages": 1},
                {"id": wrong, "counted_pages": 2},
                {"id": missing},
                {"id": str(uuid.uuid4()), "counted_pages": 1},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["id"], r["approved"]) for r in results[:3]] == [
        (right, True),
        (wrong, False),
        (missing, False),
    ]
    assert results[0]["message"] == "freigegeben"
    assert results[1]["message"].startswith("Seitenzahl stimmt nicht: auf Papier 2")
    assert results[2]["message"].startswith("Bitte die auf Papier gezählte Seitenzahl")
    assert not results[3]["approved"] and results[3]["message"].startswith("Kein Zugriff")
    pending = _entries(_qa(site, batch=site.batch))
    assert right not in pending and wrong in pending and missing in pending
    with transaction(site.runtime.sessions) as session:
        approvals = session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "document.qa.approve")
        ).all()
        refused = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "document.qa.approve", AuditEvent.outcome == "denied"
            )
        ).all()
    assert right in approvals and wrong not in approvals
    assert refused == ["denied"]  # the unknown document's refusal is in the audit log


def test_a_rejection_shows_its_reason_and_who_rejected(site: Desk) -> None:
    document = site.documents[6]
    url = f"/api/documents/{document}/qa"
    refused = site.client.post(url, json={"decision": "reject", "note": "  "})
    assert refused.status_code == 422
    assert "Bitte begründen" in refused.json()["error"]["message"]
    done = site.client.post(url, json={"decision": "reject", "note": "Blatt 2 fehlt"})
    assert done.status_code == 200
    entry = _entry(_qa(site, qa="rejected"), document)
    assert "<dt>Grund</dt><dd>Blatt 2 fehlt</dd>" in entry
    assert "abgelehnt von Julia Petersen am" in entry
    assert "Ablehnung zurücknehmen" in entry
    with transaction(site.runtime.sessions) as session:
        stored = session.get(Document, uuid.UUID(document))
        assert stored is not None and stored.qa_note == "Blatt 2 fehlt"
        [audited] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "document.qa.reject", AuditEvent.object_id == document
            )
        ).all()
        assert audited.details["note"] == "Blatt 2 fehlt"


def test_the_check_pages_and_filters_by_state_batch_type_and_day(site: Desk) -> None:
    everything = _qa(site, qa="alle", batch=site.batch, per="3")
    assert "Einträge 1–3 von 7" in everything and "Seite 1 von 3" in everything
    assert _entries(everything) == site.documents[:3]
    assert 'href="/scanstelle?qa=alle&amp;batch=' in everything and "page=2" in everything
    last = _qa(site, qa="alle", batch=site.batch, per="3", page="3")
    assert _entries(last) == site.documents[6:]
    assert "Einträge 7–7 von 7" in last and "Nächste Seite" not in last
    assert "Vorherige Seite" in last
    # By type: the pay slips alone.
    typed = _qa(site, type="verdienstabrechnung")
    pay_slips = _entries(typed)
    assert site.letter in pay_slips and len(pay_slips) < len(_entries(_qa(site)))
    assert all("<h3>Lohn-/Verdienstabrechnung" in _entry(typed, d) for d in pay_slips)
    # By day handed in.
    today, yesterday = local_today(), local_today() - timedelta(days=1)
    assert site.letter in _entries(_qa(site, day=today.isoformat()))
    assert "Keine Einträge für diesen Filter." in _qa(site, day=yesterday.isoformat())
    # By state: the counts in the state filter follow the decisions.
    before = _qa(site, batch=site.batch)
    pending = len(_entries(before))
    assert f"offen ({pending})" in before
    approved = site.client.post(
        f"/api/documents/{site.documents[4]}/qa", json={"decision": "approve", "counted_pages": 1}
    )
    assert approved.status_code == 200
    after = _qa(site, batch=site.batch)
    assert len(_entries(after)) == pending - 1 and f"offen ({pending - 1})" in after
    assert site.documents[4] in _entries(_qa(site, qa="approved", batch=site.batch))


def test_batch_list_pages_filters_and_answers_304_while_nothing_changed(site: Desk) -> None:
    listing = site.client.get("/scanstelle/stapel", params={"bper": "1"})
    assert listing.status_code == 200
    assert "Stapel 1–1 von 2" in listing.text and "Seite 1 von 2" in listing.text
    assert "batch-2.pdf" in listing.text and "0001.pdf" not in listing.text
    second = site.client.get("/scanstelle/stapel", params={"bper": "1", "bpage": "2"}).text
    assert "0001.pdf" in second and "batch-2.pdf" not in second
    failed = site.client.get("/scanstelle/stapel", params={"bstatus": "failed"}).text
    assert "batch-2.pdf" not in failed and "0 in Arbeit, 0 fehlgeschlagen" in failed

    for path in ("/scanstelle/stapel", "/scanstelle/pruefung"):
        first = site.client.get(path)
        tag = first.headers["etag"]
        unchanged = site.client.get(path, headers={"If-None-Match": tag})
        assert unchanged.status_code == 304 and unchanged.content == b""
    batches = site.client.get("/scanstelle/stapel")
    checks = site.client.get("/scanstelle/pruefung")
    decided = site.client.post(
        f"/api/documents/{site.documents[5]}/qa", json={"decision": "approve", "counted_pages": 1}
    )
    assert decided.status_code == 200
    for before in (batches, checks):
        path = before.url.path
        changed = site.client.get(path, headers={"If-None-Match": before.headers["etag"]})
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != before.headers["etag"]
    row = site.client.get("/scanstelle/stapel").text
    assert "freigegeben" in row and "post.1" not in row

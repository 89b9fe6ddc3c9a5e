"""The desk's transfer record is stored after the decision's commit through the blob outbox
(issue 20, records.blob_outbox): a blob store that is away then, or a process that dies right
after the commit, leaves the record's bytes in the database for the drainer; a decision that
is rolled back leaves no stray blob."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import build_runtime
from core.db import transaction
from core.errors import BackendUnavailable, BlobMissing
from records import blob_outbox
from records.models import BlobOutbox, Document
from records.runtime import Runtime
from tests.support import client_for, load_people, make_settings, sample, work_until_idle

DESK = "post.1"


@dataclass
class Site:
    runtime: Runtime
    desk: TestClient
    documents: list[str]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    runtime = build_runtime(make_settings(tmp_path / "data", qa_required=True))
    load_people(runtime)
    desk = client_for(runtime, DESK)
    answer = desk.post(
        "/api/documents", files={"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
    )
    assert answer.status_code == 201, answer.text
    work_until_idle(runtime)
    documents = [
        d["id"] for d in desk.get(f"/api/batches/{answer.json()['id']}").json()["documents"]
    ]
    assert documents
    yield Site(runtime, desk, documents)
    runtime.close()


def _approve(site: Site) -> Any:
    with transaction(site.runtime.sessions, read_only=True) as session:
        pages = {str(d.id): d.page_count for d in session.scalars(select(Document))}
    body = {"documents": [{"id": d, "counted_pages": pages[d]} for d in site.documents]}
    return site.desk.post("/api/qa-approvals", json=body)


def _records(runtime: Runtime) -> dict[str, str | None]:
    with transaction(runtime.sessions, read_only=True) as session:
        return {
            d.scan_record_key: d.scan_record_sha256
            for d in session.scalars(select(Document))
            if d.scan_record_key
        }


def _waiting(runtime: Runtime) -> int:
    with transaction(runtime.sessions, read_only=True) as session:
        return blob_outbox.lag(session)


def _exists(runtime: Runtime, key: str) -> bool:
    try:
        runtime.blobs.stat(key)
    except BlobMissing:
        return False
    return True


def _stored_sha256(runtime: Runtime, key: str) -> str:
    return hashlib.sha256(b"".join(runtime.blobs.open(key))).hexdigest()


def test_a_record_the_blob_store_missed_after_the_commit_is_stored_by_the_drainer(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = site.runtime
    store = runtime.blobs.put

    def away(key: str, source: Any) -> Any:
        raise BackendUnavailable("Der Dokumentenspeicher ist nicht erreichbar.")

    monkeypatch.setattr(runtime.blobs, "put", away)
    answer = _approve(site)
    assert answer.status_code == 200, answer.text
    assert all(r["approved"] for r in answer.json()["results"])  # the decision stands
    records = _records(runtime)
    assert len(records) == len(site.documents)
    assert not any(_exists(runtime, key) for key in records)
    assert _waiting(runtime) == len(records)
    assert blob_outbox.drain(runtime) == 0  # still away: every row waits longer
    monkeypatch.setattr(runtime.blobs, "put", store)
    with transaction(runtime.sessions) as session:  # the pause is over
        for row in session.scalars(select(BlobOutbox)):
            row.next_try = row.queued_at
    assert blob_outbox.drain(runtime) == len(records)
    assert _waiting(runtime) == 0
    for key, sha in records.items():
        assert _stored_sha256(runtime, key) == sha  # the very bytes the decision named


def test_a_record_stored_before_the_row_was_removed_counts_as_stored(site: Site) -> None:
    runtime = site.runtime
    assert _approve(site).status_code == 200
    assert _waiting(runtime) == 0  # the fast path stored it and removed its row
    key, sha = next(iter(_records(runtime).items()))
    content = b"".join(runtime.blobs.open(key))
    with transaction(runtime.sessions) as session:  # as if the process died before removing it
        assert sha is not None
        session.add(BlobOutbox(key=key, content=content, sha256=sha))
    assert blob_outbox.drain(runtime) == 1
    assert _waiting(runtime) == 0 and _stored_sha256(runtime, key) == sha


def test_a_row_whose_record_no_document_names_is_dropped_without_a_blob(site: Site) -> None:
    runtime = site.runtime
    assert _approve(site).status_code == 200
    document = site.documents[0]
    stale = [
        f"records/{uuid.uuid4()}/transfervermerk-20261208T010000000000.json",  # no such document
        f"records/{document}/transfervermerk-20200101T000000000000.json",  # replaced since
    ]
    with transaction(runtime.sessions) as session:
        for key in stale:
            session.add(BlobOutbox(key=key, content=b"{}", sha256="0" * 64))
    assert blob_outbox.drain(runtime) == 2
    assert _waiting(runtime) == 0
    assert not any(_exists(runtime, key) for key in stale)


def test_a_refused_approval_leaves_neither_a_row_nor_a_blob(site: Site) -> None:
    runtime = site.runtime
    body = {"documents": [{"id": site.documents[0], "counted_pages": 999}]}  # miscounted
    answer = site.desk.post("/api/qa-approvals", json=body)
    assert answer.status_code == 200 and answer.json()["results"][0]["approved"] is False
    assert _records(runtime) == {} and _waiting(runtime) == 0
    stored = runtime.blobs.keys()
    assert not [key for key in stored if key.startswith("records/")]

"""A storage outage that outlasts the blob store's own retries (issue 20): the batch's job waits
without using up an attempt, for as long as the outage lasts, the desk reads why, and once the
store answers again the letter is filed once. (On the real cluster: tests/test_cluster20.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import select

from app.runtime import build_runtime
from core.db import transaction, utcnow
from core.errors import BackendUnavailable
from ingest.worker import run_one
from records.jobs import claim_next
from records.models import Document, Job
from records.runtime import Runtime
from storage.base import BlobInfo, BlobStore
from tests.support import client_for, load_people, make_settings, sample, work_until_idle

pytestmark = pytest.mark.slow  # real OCR of one letter


class _StoreDown:
    """The real store, except that it cannot write while `down` (reads go on)."""

    def __init__(self, real: BlobStore) -> None:
        self.real = real
        self.down = False
        self.lock = threading.Lock()

    def put(self, key: str, source: BinaryIO) -> BlobInfo:
        if self.down:
            raise BackendUnavailable(
                "Der Dokumentenspeicher ist nicht erreichbar oder überlastet (Speichern, nach 6 "
                "Versuchen)."
            )
        return self.real.put(key, source)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.real, name)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(
        make_settings(tmp_path / "data", job_max_attempts=2, job_outage_retry_seconds=0.2)
    )
    load_people(built)
    yield built
    built.close()


def test_a_long_storage_outage_uses_up_no_attempt_and_loses_no_letter(runtime: Runtime) -> None:
    desk = client_for(runtime, "post.1")
    letter = sample("docs/0001.pdf")
    accepted = desk.post("/api/documents", files={"file": (letter.name, letter.read_bytes())})
    assert accepted.status_code == 201, accepted.text
    store = _StoreDown(runtime.blobs)
    runtime.blobs = store  # type: ignore[assignment]
    store.down = True
    # Longer than the job's two attempts: three runs meet the outage.
    for _ in range(3):
        with transaction(runtime.sessions) as session:  # its pause is over at once
            session.execute(Job.__table__.update().values(not_before=utcnow()))
        job = claim_next(runtime.sessions, "test-worker", 60)
        assert job is not None
        run_one(runtime, job)
        with transaction(runtime.sessions, read_only=True) as session:
            row = session.scalars(select(Job)).one()
            assert (row.state, row.attempts) == ("queued", 0)
            assert "wartet, bis der Speicher wieder erreichbar ist" in (row.last_error or "")
    [batch] = desk.get("/api/batches").json()["batches"]
    assert batch["status"] != "failed"
    assert "Dokumentenspeicher" in (batch["status_message"] or "")
    store.down = False
    work_until_idle(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        row = session.scalars(select(Job)).one()
        assert (row.state, row.attempts) == ("done", 1)
        documents = session.scalars(select(Document)).all()
    assert len(documents) == 1  # filed once
    assert desk.get("/api/batches").json()["batches"][0]["status"] == "processed"

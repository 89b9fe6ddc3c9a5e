"""The work queue: each job done once, a dead worker's job retried, failures never dropped."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.db import transaction, utcnow
from records.jobs import LeaseLost, claim_next, complete, enqueue, extend_lease, fail
from records.models import Document, Job
from tests.support import migrated_sessions


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine, factory = migrated_sessions(database_url)
    yield factory
    engine.dispose()


def add_jobs(sessions, count: int, max_attempts: int = 3) -> list[int]:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return [enqueue(session, "ocr", None, max_attempts).id for _ in range(count)]


def expire_leases(sessions) -> None:  # type: ignore[no-untyped-def]
    """What the clock does to the lease of a worker that died."""
    with transaction(sessions) as session:
        session.execute(
            update(Job)
            .where(Job.state == "running")
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_concurrent_workers_claim_every_job_exactly_once(sessions) -> None:  # type: ignore[no-untyped-def]
    created = add_jobs(sessions, 40)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := claim_next(sessions, name, 60)) is not None:
            with transaction(sessions) as session:
                complete(session, job)
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == created


def test_job_of_a_dead_worker_is_taken_over_and_its_late_result_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    add_jobs(sessions, 1)
    first = claim_next(sessions, "dies", 60)
    assert first is not None and claim_next(sessions, "other", 60) is None
    expire_leases(sessions)
    second = claim_next(sessions, "takes-over", 60)
    assert second is not None and (second.id, second.attempt) == (first.id, 2)
    assert not extend_lease(sessions, first, 60)
    with pytest.raises(LeaseLost):
        with transaction(sessions) as session:
            complete(session, first)
    with transaction(sessions) as session:
        complete(session, second)
        assert session.get(Job, first.id).state == "done"


def test_failed_attempt_is_retried_after_a_pause(sessions) -> None:  # type: ignore[no-untyped-def]
    [job_id] = add_jobs(sessions, 1)
    job = claim_next(sessions, "w", 60)
    assert fail(sessions, job, "Zeitüberschreitung", permanent=False) == "queued"
    assert claim_next(sessions, "w", 60) is None  # not before the pause is over
    with transaction(sessions) as session:
        session.execute(update(Job).values(not_before=utcnow()))
    retried = claim_next(sessions, "w", 60)
    assert retried is not None and (retried.id, retried.attempt) == (job_id, 2)


def _document(sessions) -> uuid.UUID:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        document = Document(
            source_name="scan.pdf",
            content_type="application/pdf",
            size_bytes=1,
            original_key="originals/x",
            original_sha256="0" * 64,
        )
        session.add(document)
        session.flush()
        enqueue(session, "ocr", document.id, 2)
        return document.id


def test_job_whose_workers_keep_dying_ends_failed_with_the_reason(sessions) -> None:  # type: ignore[no-untyped-def]
    document_id = _document(sessions)
    for _ in range(2):
        assert claim_next(sessions, "dies", 60) is not None
        expire_leases(sessions)
    assert claim_next(sessions, "w", 60) is None
    with transaction(sessions) as session:
        document = session.get(Document, document_id)
        assert document.status == "failed"
        assert "antwortet nicht mehr" in document.status_message


def test_permanent_failure_is_not_retried_and_shows_at_the_document(sessions) -> None:  # type: ignore[no-untyped-def]
    document_id = _document(sessions)
    job = claim_next(sessions, "w", 60)
    assert fail(sessions, job, "Seite nicht lesbar", permanent=True) == "failed"
    with transaction(sessions) as session:
        assert session.get(Document, document_id).status_message == "Seite nicht lesbar"
    assert claim_next(sessions, "w", 60) is None

"""The work queue in the database.

Workers lease jobs. A lease is extended while the worker is alive; when it runs out the worker
is taken for dead and the job is claimed again. Results are committed only together with the
lease check, so a job that was taken over is never completed twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction, utcnow
from core.errors import LeaseLost
from records.models import Document, Job, ScanBatch, WorkerHeartbeat

RETRY_DELAY_SECONDS = 5

# A batch whose documents were committed, but whose job ran out of attempts at the index write
# that follows the commit (ingest.pipeline._index_and_complete): filed, not findable yet.
INDEX_BEHIND = (
    "Die Dokumente sind abgelegt, aber noch nicht in der Suche zu finden: der Suchindex ließ "
    "sich nach {attempts} Versuchen nicht schreiben ({error}). Sie werden automatisch "
    "nachgetragen, sobald der Suchindex wieder erreichbar ist (sofort: „eakte reindex --pending“)."
)


# A batch whose documents were filed while the index could not be written: its entries wait in
# the index outbox (ingest.pipeline._index_and_complete, records.index_outbox).
INDEX_WAITING = (
    "Die Dokumente sind abgelegt; die Suche findet sie, sobald der Suchindex wieder erreichbar "
    "ist (sie werden automatisch nachgetragen)."
)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    document_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    attempt: int
    worker_id: str
    payload: dict[str, Any] | None = None


def enqueue(
    session: Session,
    kind: str,
    document_id: uuid.UUID | None,
    max_attempts: int,
    *,
    batch_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Job:
    job = Job(
        kind=kind,
        document_id=document_id,
        batch_id=batch_id,
        max_attempts=max_attempts,
        payload=payload,
    )
    session.add(job)
    session.flush()
    return job


def claim_next(
    factory: sessionmaker[Session], worker_id: str, lease_seconds: int
) -> ClaimedJob | None:
    while True:
        now = utcnow()
        with transaction(factory) as session:
            job = session.scalars(
                select(Job)
                .where(
                    or_(
                        and_(Job.state == "queued", Job.not_before <= now),
                        and_(Job.state == "running", Job.lease_expires_at < now),
                    )
                )
                .order_by(Job.id)
                .limit(1)
                # Several workers, also on several machines: each sees only rows nobody holds.
                .with_for_update(skip_locked=True)
            ).first()
            if job is None:
                return None
            if job.state == "running":
                job.last_error = (
                    f"Verarbeitung abgebrochen (Worker {job.lease_owner} antwortet nicht mehr)"
                )
                if job.attempts >= job.max_attempts:
                    _give_up(session, job, now)
                    continue
            job.state = "running"
            job.attempts += 1
            job.lease_owner = worker_id
            job.lease_expires_at = now + timedelta(seconds=lease_seconds)
            job.started_at = now
            return ClaimedJob(
                job.id,
                job.kind,
                job.document_id,
                job.batch_id,
                job.attempts,
                worker_id,
                job.payload,
            )


def extend_lease(factory: sessionmaker[Session], job: ClaimedJob, lease_seconds: int) -> bool:
    with transaction(factory) as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.lease_owner == job.worker_id, Job.state == "running")
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        return _rows(result) == 1


def hold(session: Session, job: ClaimedJob) -> None:
    """Make sure this worker still holds the job, and keep it held until the caller's
    transaction ends: the row stays locked, so no other worker takes the job over while the
    results are committed. Raises LeaseLost when another worker has taken it."""
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.lease_owner == job.worker_id, Job.state == "running")
        .values(lease_owner=job.worker_id)
    )
    if _rows(result) != 1:
        raise LeaseLost(f"job {job.id} was taken over")


def complete(session: Session, job: ClaimedJob) -> None:
    """Mark the job done inside the caller's transaction, which also holds the job's results."""
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.lease_owner == job.worker_id, Job.state == "running")
        .values(state="done", finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
    )
    if _rows(result) != 1:
        raise LeaseLost(f"job {job.id} was taken over")


def fail(
    factory: sessionmaker[Session],
    job: ClaimedJob,
    message: str,
    *,
    permanent: bool,
    wait_seconds: float | None = None,
) -> str:
    """Record a failed attempt; retry later unless the failure is permanent or attempts ran out.

    wait_seconds: the failure was not the job's (the installation lacks a program): the attempt
    does not count, the job waits that long, and its batch shows the message meanwhile.
    Returns the job's new state.
    """
    now = utcnow()
    with transaction(factory) as session:
        row = session.get(Job, job.id, with_for_update=True)
        if row is None or row.lease_owner != job.worker_id or row.state != "running":
            return row.state if row else "gone"
        row.last_error = message
        if wait_seconds is not None and not permanent:
            row.attempts -= 1
            row.state = "queued"
            row.lease_owner = None
            row.lease_expires_at = None
            row.not_before = now + timedelta(seconds=wait_seconds)
            batch = session.get(ScanBatch, row.batch_id) if row.batch_id else None
            if batch is not None:
                batch.status_message = message
            return row.state
        if permanent or row.attempts >= row.max_attempts:
            _give_up(session, row, now)
        else:
            row.state = "queued"
            row.lease_owner = None
            row.lease_expires_at = None
            row.not_before = now + timedelta(seconds=RETRY_DELAY_SECONDS * row.attempts)
        return row.state


def index_behind(session: Session, job: ClaimedJob) -> None:
    """The desk is told that the job's batch is filed but not yet found by search."""
    row = session.get(Job, job.id)
    batch = session.get(ScanBatch, row.batch_id) if row is not None and row.batch_id else None
    if batch is not None and INDEX_WAITING not in (batch.status_message or ""):
        batch.status_message = ". ".join(filter(None, (batch.status_message, INDEX_WAITING)))


def _give_up(session: Session, job: Job, now) -> None:  # type: ignore[no-untyped-def]
    job.state = "failed"
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None
    if job.document_id is not None:
        document = session.get(Document, job.document_id)
        if document is not None:
            document.status = "failed"
            document.status_message = job.last_error
    if job.batch_id is not None:
        batch = session.get(ScanBatch, job.batch_id)
        if batch is None:
            return
        if batch.status == "processed":
            # Its documents are filed and in the Postkorb: the batch did not fail, but the desk
            # is told that search does not know them yet (beside any set-aside pages).
            behind = INDEX_BEHIND.format(attempts=job.attempts, error=(job.last_error or "")[:300])
            batch.status_message = ". ".join(filter(None, (batch.status_message, behind)))
            return
        batch.status = "failed"
        batch.status_message = job.last_error
        batch.finished_at = now


def queue_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    counts = {state: 0 for state in ("queued", "running", "done", "failed")}
    counts.update({state: int(n) for state, n in rows})
    return counts


def has_unfinished_jobs(factory: sessionmaker[Session], ignoring: Collection[int] = ()) -> bool:
    """Whether a job is queued or running, other than those in `ignoring`."""
    query = select(Job.id).where(Job.state.in_(("queued", "running")))
    if ignoring:
        query = query.where(Job.id.not_in(list(ignoring)))
    with transaction(factory) as session:
        return session.scalar(query.limit(1)) is not None


# A worker reports in at most this often while it waits or between jobs; during a job its
# lease shows it is alive. Reports older than a day are removed (a process that died).
HEARTBEAT_SECONDS = 15.0
_HEARTBEAT_KEPT = timedelta(days=1)


def report_in(
    factory: sessionmaker[Session],
    worker: str,
    *,
    host: str,
    pid: int,
    job_id: int | None,
    jobs_done: int,
) -> None:
    """Note that this worker is alive (for the administration's state page)."""
    now = utcnow()
    with transaction(factory) as session:
        row = session.get(WorkerHeartbeat, worker)
        if row is None:
            session.execute(
                delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - _HEARTBEAT_KEPT)
            )
            row = WorkerHeartbeat(worker_id=worker, host=host[:200], pid=pid, started_at=now)
            session.add(row)
        row.seen_at = now
        row.job_id = job_id
        row.jobs_done = jobs_done


def sign_off(factory: sessionmaker[Session], worker: str) -> None:
    """A worker that stops cleanly leaves the state page."""
    with transaction(factory) as session:
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker))


def _rows(result: Result[Any]) -> int:
    """Rows an UPDATE changed: SQLAlchemy answers an UPDATE with a CursorResult, typed as the
    general Result."""
    return cast(CursorResult[Any], result).rowcount

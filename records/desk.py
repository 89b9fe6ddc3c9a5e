"""The scanning desk's reads and requests: batches with their documents, latest job and set-aside
pages; the time estimate; hash checks; jobs.

A page of batches is read in a fixed number of queries, however many batches it shows: the
batches, their set-aside pages, their latest jobs, their documents with households, and those
documents' inbox items, each in one query for the whole page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.db import utcnow
from core.errors import NotFound
from records.access import Capability, Gate
from records.jobs import enqueue
from records.models import Document, InboxItem, Job, ScanBatch

BATCH_NOT_FOUND = "Stapel nicht gefunden."


@dataclass
class BatchView:
    """A batch as the desk sees it: its latest job, its documents in order, and the inbox item
    of each document that has one."""

    batch: ScanBatch
    job: Job | None
    documents: list[Document]
    inboxes: dict[uuid.UUID, InboxItem] = field(default_factory=dict)
    # For the list: seconds until the queue reaches the end of this batch (0 when done).
    seconds_left: int | None = None


@dataclass
class BatchList:
    batches: list[BatchView]
    counts: dict[str, int]
    seconds_per_page: float | None


def _batch_query() -> Select[ScanBatch]:
    return select(ScanBatch).options(selectinload(ScanBatch.dropped_pages))


def batch_views(session: Session, batches: list[ScanBatch]) -> list[BatchView]:
    """The views of these batches (dropped pages loaded) in three more queries in all."""
    ids = [batch.id for batch in batches]
    if not ids:
        return []
    latest = select(func.max(Job.id)).where(Job.batch_id.in_(ids)).group_by(Job.batch_id)
    jobs = {job.batch_id: job for job in session.scalars(select(Job).where(Job.id.in_(latest)))}
    documents: dict[uuid.UUID, list[Document]] = {batch_id: [] for batch_id in ids}
    for document in session.scalars(
        select(Document)
        .where(Document.batch_id.in_(ids))
        .options(selectinload(Document.household))
        .order_by(Document.sequence)
    ):
        assert document.batch_id is not None
        documents[document.batch_id].append(document)
    document_ids = [d.id for found in documents.values() for d in found]
    inboxes = {
        item.document_id: item
        for item in (
            session.scalars(
                select(InboxItem)
                .where(InboxItem.document_id.in_(document_ids))
                .options(selectinload(InboxItem.user), selectinload(InboxItem.team))
            )
            if document_ids
            else ()
        )
    }
    return [
        BatchView(
            batch,
            jobs.get(batch.id),
            documents[batch.id],
            {d.id: inboxes[d.id] for d in documents[batch.id] if d.id in inboxes},
        )
        for batch in batches
    ]


def batch_view(session: Session, batch_id: uuid.UUID) -> BatchView:
    batch = session.scalar(_batch_query().where(ScanBatch.id == batch_id))
    if batch is None:
        raise NotFound(BATCH_NOT_FOUND)
    return batch_views(session, [batch])[0]


def seconds_per_page(session: Session) -> float | None:
    """How long a page took in the batches of the last day: the basis of the time estimate."""
    since = utcnow() - timedelta(days=1)
    finished = session.execute(
        select(ScanBatch.started_at, ScanBatch.finished_at, ScanBatch.pages_total).where(
            ScanBatch.status == "processed", ScanBatch.finished_at > since
        )
    ).all()
    pages = sum(row.pages_total for row in finished)
    seconds = sum(
        (row.finished_at - row.started_at).total_seconds() for row in finished if row.started_at
    )
    return seconds / pages if pages else None


def list_batches(gate: Gate, limit: int) -> BatchList:
    """The newest batches handed in at the desk, newest first, each with the time until the
    queue (which works the oldest first) is through with it; and the count per status."""
    gate.listing(Capability.SCAN, "batches.list")
    session = gate.session
    # What caseworkers filed themselves (e-mails, decisions) never passes the desk.
    newest = list(
        session.scalars(
            _batch_query()
            .where(ScanBatch.channel != "file")
            .order_by(ScanBatch.received_at.desc())
            .limit(limit)
        )
    )
    views = batch_views(session, newest)
    per_page = seconds_per_page(session)
    open_pages = 0
    for view in reversed(views):  # oldest first: the queue works them in that order
        batch = view.batch
        if batch.status in ("received", "processing"):
            open_pages += batch.pages_total - batch.pages_done
            view.seconds_left = round(open_pages * per_page) if per_page else None
        else:
            view.seconds_left = 0
    by_status = (
        select(ScanBatch.status, func.count())
        .where(ScanBatch.channel != "file")
        .group_by(ScanBatch.status)
    )
    counts = {status: count for status, count in session.execute(by_status).all()}
    return BatchList(views, counts, per_page)


def read_batch(gate: Gate, batch_id: uuid.UUID) -> BatchView:
    """One batch of the desk; what caseworkers filed themselves is not the desk's."""
    gate.require(Capability.SCAN, "batch.read", object_type="batch", object_id=batch_id)
    batch = gate.session.scalar(_batch_query().where(ScanBatch.id == batch_id))
    if batch is None or batch.channel == "file":
        raise gate.refuse("batch.read", BATCH_NOT_FOUND, object_type="batch", object_id=batch_id)
    gate.record("batch.read", object_type="batch", object_id=batch_id)
    return batch_views(gate.session, [batch])[0]


def request_verification(gate: Gate, job_kind: str) -> Job:
    """Queue a check of every stored checksum (the worker's job of that kind does it)."""
    gate.require(Capability.VERIFY_STORE, "store.verify.requested")
    job = enqueue(gate.session, job_kind, None, 1)
    job.created_by_login = gate.user.login
    gate.session.flush()
    gate.record("store.verify.requested", object_type="job", object_id=job.id)
    return job


def read_job(gate: Gate, job_id: int) -> Job:
    if not (gate.may(Capability.SCAN) or gate.may(Capability.VERIFY_STORE)):
        raise gate.refuse("job.read", object_type="job", object_id=job_id)
    job = gate.session.get(Job, job_id)
    if job is None:
        raise NotFound("Auftrag nicht gefunden.")
    return job

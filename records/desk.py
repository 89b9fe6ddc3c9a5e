"""The scanning desk's reads and requests: batches with their documents, latest job and set-aside
pages; the time estimate; hash checks; jobs.

A page of batches is read in a fixed number of queries, however many batches it shows: the
batches, their set-aside pages, their latest jobs, their documents with households, and those
documents' inbox items, each in one query for the whole page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from core.dates import LOCAL_TZ, local_today
from core.db import utcnow
from core.errors import NotFound
from records.access import Capability, Gate
from records.jobs import enqueue
from records.live import fingerprint
from records.models import (
    Document,
    DroppedPage,
    Household,
    InboxItem,
    Job,
    ScanBatch,
    User,
)

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
    total: int = 0  # batches that match the filter, on all pages


# A page of the desk's lists (batches, quality check) shows this many rows.
PER_PAGE = 25
QA_STATES = ("pending", "approved", "rejected")
BATCH_STATES = ("received", "processing", "processed", "failed")


def _on_local_day(column: InstrumentedAttribute[datetime], day: date) -> ColumnElement[bool]:
    """The moment falls on this calendar day in the job centre's time zone."""
    start = datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    return (column >= start) & (column < start + timedelta(days=1))


def _desk_batches() -> ColumnElement[bool]:
    # What caseworkers filed themselves (e-mails, decisions) never passes the desk.
    return ScanBatch.channel != "file"


def _batch_query() -> Select[ScanBatch]:
    return select(ScanBatch).options(selectinload(ScanBatch.dropped_pages))


def _inboxes(session: Session, document_ids: list[uuid.UUID]) -> dict[uuid.UUID, InboxItem]:
    """The inbox item of each of these documents that has one, in one query."""
    if not document_ids:
        return {}
    found = session.scalars(
        select(InboxItem)
        .where(InboxItem.document_id.in_(document_ids))
        .options(selectinload(InboxItem.user), selectinload(InboxItem.team))
    )
    return {item.document_id: item for item in found}


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
    inboxes = _inboxes(session, [d.id for found in documents.values() for d in found])
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


def _batch_filter(status: str | None, day: date | None) -> list[ColumnElement[bool]]:
    """The desk's batches of one status and handed in on one day, if asked."""
    wanted = [_desk_batches()]
    if status:
        wanted.append(ScanBatch.status == status)
    if day:
        wanted.append(_on_local_day(ScanBatch.received_at, day))
    return wanted


def _newest(
    query: Select[Any], wanted: list[ColumnElement[bool]], limit: int, offset: int
) -> Select[Any]:
    """A page of the batch list: newest first."""
    return (
        query.where(*wanted)
        .order_by(ScanBatch.received_at.desc(), ScanBatch.id)
        .offset(offset)
        .limit(limit)
    )


def list_batches(
    gate: Gate,
    limit: int,
    *,
    offset: int = 0,
    status: str | None = None,
    day: date | None = None,
) -> BatchList:
    """The newest batches handed in at the desk, newest first (a page of `limit` from
    `offset`, of one status and handed in on one day if asked), each with the time until the
    queue (which works the oldest first) is through with it; and the count per status."""
    gate.listing(Capability.SCAN, "batches.list")
    session = gate.session
    wanted = _batch_filter(status, day)
    newest = list(session.scalars(_newest(_batch_query(), wanted, limit, offset)))
    views = batch_views(session, newest)
    per_page = seconds_per_page(session)
    # The queue works the oldest first: what waits before the oldest batch shown counts too.
    open_pages = 0
    if views:
        oldest = views[-1].batch.received_at
        waiting_before = select(
            func.coalesce(func.sum(ScanBatch.pages_total - ScanBatch.pages_done), 0)
        ).where(
            _desk_batches(),
            ScanBatch.status.in_(("received", "processing")),
            ScanBatch.received_at < oldest,
        )
        open_pages = int(session.scalar(waiting_before) or 0)
    for view in reversed(views):  # oldest first: the queue works them in that order
        batch = view.batch
        if batch.status in ("received", "processing"):
            open_pages += batch.pages_total - batch.pages_done
            view.seconds_left = round(open_pages * per_page) if per_page else None
        else:
            view.seconds_left = 0
    by_status = (
        select(ScanBatch.status, func.count()).where(_desk_batches()).group_by(ScanBatch.status)
    )
    counts = {status: count for status, count in session.execute(by_status).all()}
    total = session.scalar(select(func.count()).select_from(ScanBatch).where(*wanted)) or 0
    return BatchList(views, counts, per_page, total)


@dataclass(frozen=True)
class QaFilter:
    """Which documents the quality check lists: by decision, batch, type and day handed in."""

    state: str | None = "pending"
    batch_id: uuid.UUID | None = None
    doc_type: str | None = None
    day: date | None = None


@dataclass
class QaPage:
    """One page of the quality check: the documents with household, caseworker, batch and the
    inbox item each lies in; the count of all that match, and the count per decision."""

    documents: list[Document]
    inboxes: dict[uuid.UUID, InboxItem]
    total: int
    counts: dict[str, int]
    deciders: dict[int, str] = field(default_factory=dict)  # who decided, by user id: name


def _qa_query(wanted: QaFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Document.batch_id.is_not(None),
        Document.batch_id.in_(select(ScanBatch.id).where(_desk_batches())),
        # A document still being read is the batch's progress, not yet the check's.
        (Document.status == "processed") | (Document.qa_status != "pending"),
        Document.restricted_at.is_(None),  # restricted (Art. 18 DSGVO): not the desk's either
    ]
    if wanted.state:
        where.append(Document.qa_status == wanted.state)
    if wanted.batch_id:
        where.append(Document.batch_id == wanted.batch_id)
    if wanted.doc_type:
        # The type recognised is the desk's business only while it checks the document.
        where += [Document.doc_type == wanted.doc_type, Document.qa_status == "pending"]
    if wanted.day:
        where.append(_on_local_day(Document.received_at, wanted.day))
    return where


def qa_page(gate: Gate, wanted: QaFilter, limit: int = PER_PAGE, offset: int = 0) -> QaPage:
    """The documents of the quality check, the oldest first (the order they were scanned in),
    with what the desk needs to decide: type, household and its caseworker, pages, sender."""
    gate.listing(Capability.SCAN, "desk.qa.list", state=wanted.state)
    session = gate.session
    where = _qa_query(wanted)
    documents = list(
        session.scalars(
            select(Document)
            .where(*where)
            .options(
                selectinload(Document.household).selectinload(Household.caseworker),
                selectinload(Document.batch),
            )
            .order_by(Document.received_at, Document.batch_id, Document.sequence)
            .offset(offset)
            .limit(limit)
        )
    )
    inboxes = _inboxes(session, [document.id for document in documents])
    total = session.scalar(select(func.count()).select_from(Document).where(*where)) or 0
    unfiltered = _qa_query(QaFilter(state=None, batch_id=wanted.batch_id, day=wanted.day))
    by_state = select(Document.qa_status, func.count()).where(*unfiltered)
    counts = {state: n for state, n in session.execute(by_state.group_by(Document.qa_status))}
    decider_ids = {document.qa_by_id for document in documents if document.qa_by_id}
    named = select(User.id, User.name).where(User.id.in_(decider_ids))
    deciders = {i: name for i, name in session.execute(named)} if decider_ids else {}
    return QaPage(documents, inboxes, total, counts, deciders)


def recent_batches(session: Session, limit: int, also: uuid.UUID | None = None) -> list[ScanBatch]:
    """The newest batches of the desk (the quality check's filter offers these), and the one
    asked for if it is older."""
    found = list(
        session.scalars(
            select(ScanBatch)
            .where(_desk_batches())
            .order_by(ScanBatch.received_at.desc())
            .limit(limit)
        )
    )
    if also and all(batch.id != also for batch in found):
        found += session.scalars(select(ScanBatch).where(_desk_batches(), ScanBatch.id == also))
    return found


def desk_doc_types(session: Session) -> list[str]:
    """The types recognised in what waits for the check (the filter offers these)."""
    found = select(Document.doc_type).where(*_qa_query(QaFilter()), Document.doc_type.is_not(None))
    return sorted({code for code in session.scalars(found.distinct()) if code})


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


# --- change tokens: has the desk's list changed since the browser's copy? -------------------
# A poll of an open desk (web.desk_pages) compares the token with its copy's ETag and is
# answered 304 without reading or drawing the list when they match. A token is a fingerprint
# of aggregates (counts, latest changes) the database computes in a few short queries; it
# names nobody, so it is not audited (the list it leads to is).


def qa_token(gate: Gate, wanted: QaFilter) -> str:
    """The quality check's token for this filter, from one pass over the documents of every
    decision in the filter's batch and day (a decision, a new rendition or any other change of
    a document changes `updated_at`; one arriving or leaving the count) with their households
    (whose file: a new caseworker changes the household) and inbox items (where they went: a
    letter forwarded elsewhere); the batches and types the filter offers; and the day (a
    rejection can be taken back on its day only)."""
    gate.require(Capability.SCAN, "desk.qa.changes")
    session = gate.session
    scope = QaFilter(state=None, batch_id=wanted.batch_id, day=wanted.day)
    target = func.coalesce(InboxItem.user_id, InboxItem.team_id, 0)
    documents = session.execute(
        select(
            Document.qa_status,
            func.count(),
            func.max(Document.updated_at),
            func.max(Household.updated_at),
            func.count(InboxItem.id),
            func.max(InboxItem.id),
            func.sum(target),
            func.sum(InboxItem.id * target),
        )
        .select_from(Document)
        .outerjoin(Household, Household.id == Document.household_id)
        .outerjoin(InboxItem, InboxItem.document_id == Document.id)
        .where(*_qa_query(scope))
        .group_by(Document.qa_status)
        .order_by(Document.qa_status)
    ).all()
    # The types the filter offers are those of every letter waiting: in the pass above unless
    # the list is narrowed to a batch or day.
    types = desk_doc_types(session) if scope != QaFilter(state=None) else None
    batches = session.execute(
        select(func.count(), func.max(ScanBatch.received_at)).where(_desk_batches())
    ).one()
    return fingerprint(
        [tuple(row) for row in documents],
        types,
        tuple(batches),
        local_today(),
    )


def batches_token(
    gate: Gate, limit: int, *, offset: int = 0, status: str | None = None, day: date | None = None
) -> str:
    """The token of a page of the batch list (as `list_batches` reads it): the batches on the
    page as they stand (progress, message, times), their set-aside pages and the decisions on
    their documents; per status the count and pages of all batches (the queue's summary and
    what waits before them) and the page's total; the time estimate while any waits."""
    gate.require(Capability.SCAN, "batches.changes")
    session = gate.session
    wanted = _batch_filter(status, day)
    ids = list(session.scalars(_newest(select(ScanBatch.id), wanted, limit, offset)))
    shown = session.execute(
        select(
            ScanBatch.id,
            ScanBatch.status,
            ScanBatch.status_message,
            ScanBatch.pages_total,
            ScanBatch.pages_done,
            ScanBatch.documents_count,
            ScanBatch.started_at,
            ScanBatch.finished_at,
        )
        .where(ScanBatch.id.in_(ids))
        .order_by(ScanBatch.id)
    ).all()
    # The page's letters and set-aside pages (by index, however long the list of batches).
    documents = session.execute(
        select(Document.batch_id, Document.qa_status, func.count(), func.max(Document.updated_at))
        .where(Document.batch_id.in_(ids))
        .group_by(Document.batch_id, Document.qa_status)
        .order_by(Document.batch_id, Document.qa_status)
    ).all()
    dropped = session.scalar(select(func.count()).where(DroppedPage.batch_id.in_(ids)))
    statuses = session.execute(
        select(
            ScanBatch.status,
            func.count(),
            func.sum(ScanBatch.pages_total),
            func.sum(ScanBatch.pages_done),
            func.max(ScanBatch.received_at),
        )
        .where(_desk_batches())
        .group_by(ScanBatch.status)
        .order_by(ScanBatch.status)
    ).all()
    total = session.scalar(select(func.count()).select_from(ScanBatch).where(*wanted))
    working = any(row[0] in ("received", "processing") for row in statuses)
    return fingerprint(
        [tuple(row) for row in shown],
        [tuple(row) for row in documents],
        dropped,
        [tuple(row) for row in statuses],
        total,
        seconds_per_page(session) if working else None,
    )

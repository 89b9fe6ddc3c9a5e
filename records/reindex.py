"""Rebuild the search index from the database: every document again, nothing left over.

The index is derived data; the database (documents, page texts, households) is the truth. A run
writes every searchable document again in batches, then removes every entry it did not write:
documents that no longer exist, were rejected for a new scan, were discarded or are not
processed. Entries carry
the time they were written, so "not written by this run" is "written before the run started".

A run can be interrupted at any point and is resumed from a checkpoint file (the last document
id done, and when the run started); indexing again is idempotent, so a repeated batch is
harmless. Web app and workers may keep indexing meanwhile: what they write is newer than the
run's start and stays.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session, selectinload

from core.db import after_commit, transaction
from records.models import Document, Household, InboxItem, IndexOutbox, Note
from records.routing import index_entry
from records.runtime import Runtime
from search import FILE_NOTE_KIND, IndexedDocument, file_note_key

log = logging.getLogger(__name__)

# Documents changed this long before the run started are written once more at its end: a
# worker may have indexed a new document just before the start and committed it only after the
# run's pass went by its id.
CATCH_UP = timedelta(minutes=10)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReindexReport:
    indexed: int
    removed: int
    total: int
    resumed: bool
    seconds: float


def _searchable() -> ColumnElement[bool]:
    return (
        (Document.status == "processed")
        & (Document.qa_status != "rejected")
        & Document.discarded_at.is_(None)  # discarded: kept with the original, found by no one
        & Document.restricted_at.is_(None)  # restricted (Art. 18 DSGVO): kept, found by no one
    )


def checkpoint_path(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "run" / "reindex.json"


def _target(runtime: Runtime) -> str:
    settings = runtime.settings
    if settings.search_index == "embedded":
        return f"embedded:{settings.index_dir.resolve()}"
    return f"opensearch:{settings.opensearch_url}/{settings.opensearch_index}"


def _load(path: Path, target: str) -> tuple[datetime, str | None, int] | None:
    try:
        saved = json.loads(path.read_text())
        if saved["target"] != target:
            return None
        return datetime.fromisoformat(saved["started_at"]), saved["last_id"], int(saved["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(path: Path, target: str, started: datetime, last_id: str | None, done: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(
        json.dumps(
            {"target": target, "started_at": started.isoformat(), "last_id": last_id, "done": done}
        )
    )
    partial.replace(path)


def _batch(session: Session, after: str | None, size: int) -> list[Document]:
    query = (
        select(Document)
        .where(_searchable())
        .options(selectinload(Document.pages), selectinload(Document.household))
        .order_by(Document.id)
        .limit(size)
    )
    if after is not None:
        query = query.where(Document.id > uuid.UUID(after))
    return list(session.scalars(query))


def _entries(session: Session, documents: list[Document]) -> list[IndexedDocument]:
    """Index entries of a batch, with inbox items and notes read in two queries."""
    ids = [document.id for document in documents]
    items = {
        item.document_id: item
        for item in session.scalars(select(InboxItem).where(InboxItem.document_id.in_(ids)))
    }
    notes: dict[uuid.UUID, list[str]] = {}
    for document_id, text in session.execute(
        select(Note.document_id, Note.text)
        .where(Note.document_id.in_(ids))
        .order_by(Note.created_at, Note.id)
    ):
        if document_id is not None:  # always: the query asks for notes on these documents
            notes.setdefault(document_id, []).append(text)
    return [index_entry(d, item=items.get(d.id), notes=notes.get(d.id, [])) for d in documents]


def reindex_documents(runtime: Runtime, document_ids: list[uuid.UUID]) -> None:
    """Write these documents' entries as the database holds them now; drop the entries of
    rejected or vanished ones. Meant to run after the commit that changed them
    (core.db.after_commit): it reads in a read-only transaction and writes the index with
    no transaction open, so the index's time never counts against SQLite's write lock."""
    wanted = list(dict.fromkeys(document_ids))
    if not wanted:
        return
    with transaction(runtime.sessions, read_only=True) as session:
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.id.in_(wanted))
                .options(selectinload(Document.pages), selectinload(Document.household))
            )
        )
        kept = [
            d
            for d in documents
            if d.qa_status != "rejected" and d.discarded_at is None and d.restricted_at is None
        ]
        entries = _entries(session, kept)
    runtime.index.index_many(entries)
    for gone in {str(i) for i in wanted} - {entry.document_id for entry in entries}:
        runtime.index.delete(gone)


def file_note_entry(note: Note, bg_number: str) -> IndexedDocument:
    """A note on a household's file, searchable by those who may see the file."""
    return IndexedDocument(
        document_id=file_note_key(note.id),
        source_name="Vermerk zur Akte",
        received_at=note.created_at,
        pages=[],
        bg_number=bg_number,
        direction=FILE_NOTE_KIND,
        status=FILE_NOTE_KIND,
        notes=(note.text,),
    )


def _file_notes(
    session: Session, *, after: int = 0, size: int | None = None, only: list[int] | None = None
) -> list[tuple[int, IndexedDocument]]:
    """Notes on whole files by id (after `after`, or just those `only`), with their entries."""
    query = (
        select(Note, Household.bg_number)
        .join(Household, Household.id == Note.household_id)
        .where(Note.document_id.is_(None), Note.id > after)
        .order_by(Note.id)
        .limit(size)
    )
    if only is not None:
        query = query.where(Note.id.in_(only))
    return [(note.id, file_note_entry(note, bg)) for note, bg in session.execute(query)]


def write_file_notes(runtime: Runtime, note_ids: list[int]) -> None:
    """Write these notes on files as the database holds them now; drop the entries of notes
    that are gone (like reindex_documents, after the commit, no write transaction open)."""
    wanted = list(dict.fromkeys(note_ids))
    if not wanted:
        return
    with transaction(runtime.sessions, read_only=True) as reading:
        found = _file_notes(reading, only=wanted)
    runtime.index.index_many([entry for _, entry in found])
    for gone in set(wanted) - {note_id for note_id, _ in found}:
        runtime.index.delete(file_note_key(gone))


# --- the index follows the commit, through the outbox (issue 20) ----------------------------
#
# A change that the index must follow leaves a row in `index_outbox` in its own transaction:
# if the change stands, so does the row. After the commit the entry is written at once (the
# fast path) and the row removed; if the index cannot be written then (OpenSearch down), the
# row stays and records.index_outbox.drain writes the entry later. The change itself never
# fails for the index: the caseworker's note is saved, search catches up.

OUTBOX_DOCUMENT = "document"
OUTBOX_FILE_NOTE = "file_note"


def enqueue_index_writes(session: Session, kind: str, keys: list[str]) -> list[IndexOutbox]:
    """Rows saying that these entries must be written again, in the caller's transaction."""
    rows = [IndexOutbox(kind=kind, key=key) for key in dict.fromkeys(keys)]
    session.add_all(rows)
    return rows


def drop_index_writes(session: Session, row_ids: list[int]) -> None:
    """The entries of these rows were written: remove the rows, in the caller's transaction.
    By id, never by key: a row for the same key committed meanwhile stays for its change."""
    if row_ids:
        session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_(row_ids)))


def pending_index_writes_of(session: Session, kind: str, keys: list[str]) -> list[int]:
    """The ids of the outbox rows waiting for these entries (read before they are written, so
    that only these rows are removed afterwards)."""
    if not keys:
        return []
    return list(
        session.scalars(
            select(IndexOutbox.id).where(IndexOutbox.kind == kind, IndexOutbox.key.in_(keys))
        )
    )


def forget_index_writes(runtime: Runtime, row_ids: list[int]) -> None:
    """drop_index_writes in a short write transaction of its own."""
    if not row_ids:
        return
    with transaction(runtime.sessions) as session:
        drop_index_writes(session, row_ids)


def _write_now(runtime: Runtime, rows: list[IndexOutbox], write: Callable[[], None]) -> None:
    """The fast path after the commit: write the entries, then remove their rows; when the
    index cannot be written, the rows stay for the drainer, and the commit stands."""
    try:
        write()
    except Exception as exc:  # noqa: BLE001 - the outbox keeps the work; the change stands
        # The error's type only: an index's answer may quote what it was given (client data).
        log.warning(
            "search index not written after commit (%s); %s entries wait in the outbox",
            type(exc).__name__,
            len(rows),
        )
        return
    forget_index_writes(runtime, [row.id for row in rows])


def index_file_note_after_commit(session: Session, runtime: Runtime, note: Note) -> None:
    """The note on a file is searchable once it is committed (and not if it is rolled back)."""
    if note.id is None:
        session.flush()
    rows = enqueue_index_writes(session, OUTBOX_FILE_NOTE, [str(note.id)])
    write = functools.partial(write_file_notes, runtime, [note.id])
    after_commit(session, functools.partial(_write_now, runtime, rows, write))


def reindex_ids_after_commit(
    session: Session, runtime: Runtime, document_ids: list[uuid.UUID]
) -> None:
    """The index follows the commit that changed these documents (and not a rolled-back one)."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        return
    rows = enqueue_index_writes(session, OUTBOX_DOCUMENT, [str(i) for i in ids])
    write = functools.partial(reindex_documents, runtime, ids)
    after_commit(session, functools.partial(_write_now, runtime, rows, write))


def reindex_after_commit(session: Session, runtime: Runtime, *documents: Document) -> None:
    """The index follows the commit that changed these documents (and not a rolled-back one)."""
    reindex_ids_after_commit(session, runtime, [d.id for d in documents])


def reindex_all(
    runtime: Runtime,
    *,
    batch_size: int = 500,
    restart: bool = False,
    on_progress: Progress | None = None,
) -> ReindexReport:
    """Write every searchable document into the index again and remove all other entries."""
    began = time.monotonic()
    index = runtime.index
    path = checkpoint_path(runtime)
    target = _target(runtime)
    saved = None if restart else _load(path, target)
    if saved is not None:
        started, last_id, done = saved
    else:
        started, last_id, done = datetime.now(UTC), None, 0
        _save(path, target, started, last_id, done)
    with transaction(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(Document).where(_searchable())) or 0
    if on_progress:
        on_progress(done, total)
    indexed = 0
    while True:
        with transaction(runtime.sessions) as session:
            documents = _batch(session, last_id, batch_size)
            entries = _entries(session, documents)
        if not entries:
            break
        indexed += index.index_many(entries)
        done += len(entries)
        last_id = entries[-1].document_id
        _save(path, target, started, last_id, done)
        if on_progress:
            on_progress(min(done, total), total)
    with transaction(runtime.sessions) as session:
        recent = list(
            session.scalars(
                select(Document)
                .where(_searchable(), Document.updated_at >= started - CATCH_UP)
                .options(selectinload(Document.pages), selectinload(Document.household))
            )
        )
        late = _entries(session, recent)
    for start in range(0, len(late), batch_size):
        index.index_many(late[start : start + batch_size])
    after_note = 0
    while True:
        with transaction(runtime.sessions) as session:
            notes = _file_notes(session, after=after_note, size=batch_size)
        if not notes:
            break
        index.index_many([entry for _, entry in notes])
        after_note = notes[-1][0]
    removed = index.delete_indexed_before(started)
    # issue 20: what waited in the index outbox from before the run is in the index now (the
    # run wrote every entry as the database held it); later rows stay for the drainer.
    with transaction(runtime.sessions) as session:
        session.execute(delete(IndexOutbox).where(IndexOutbox.queued_at < started - CATCH_UP))
    path.unlink(missing_ok=True)
    return ReindexReport(
        indexed=indexed,
        removed=removed,
        total=total,
        resumed=saved is not None,
        seconds=time.monotonic() - began,
    )

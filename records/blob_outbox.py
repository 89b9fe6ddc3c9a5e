"""Blobs a committed change names, stored after the commit without being lost (issue 20).

The desk's transfer record (ingest.qa) is named by the decision's row and stored as a blob.
Storing it inside the transaction would hold the database's write lock during blob I/O and
leave a stray blob when the decision is rolled back; storing it after the commit, as before,
lost it when the web process died right after the commit (found by the crash tests: a
document named a transfer record the blob store did not have) or the blob store was away.

So the bytes go into `blob_outbox` in the change's own transaction (`store_after_commit`);
right after the commit they are stored and the row removed. When that does not happen (the
process killed, the blob store unreachable), the row stays, and `drain` stores the blob later,
from the same thread of `eakte serve` and the workers that drains the index outbox. A blob that
is already there with the same hash (stored, then the process died before removing the row)
counts as stored; a row whose key no document names any more (the record was replaced, the
document destroyed) is dropped.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.db import after_commit, transaction, utcnow
from core.errors import BlobExists
from records.models import BlobOutbox, Document
from records.runtime import Runtime

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 5.0
LONGEST_PAUSE_SECONDS = 300.0
DEFAULT_LIMIT = 100


def store_after_commit(session: Session, runtime: Runtime, key: str, content: bytes) -> str:
    """Store `content` under `key` once the session's transaction has committed (and never if
    it is rolled back); returns its SHA-256 for the row that names it."""
    sha256 = hashlib.sha256(content).hexdigest()
    row = BlobOutbox(key=key, content=content, sha256=sha256)
    session.add(row)
    session.flush()
    after_commit(session, functools.partial(_store_now, runtime, row.id, key, content, sha256))
    return sha256


def _store(runtime: Runtime, key: str, content: bytes, sha256: str) -> None:
    try:
        stored = runtime.blobs.put(key, io.BytesIO(content)).sha256
    except BlobExists:
        stored = runtime.blobs.stat(key).sha256
    if stored != sha256:
        raise RuntimeError(f"blob {key} is stored with another hash")


def _forget(runtime: Runtime, row_ids: list[int]) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(delete(BlobOutbox).where(BlobOutbox.id.in_(row_ids)))


def _store_now(runtime: Runtime, row_id: int, key: str, content: bytes, sha256: str) -> None:
    """The fast path after the commit; a failure leaves the row for the drainer."""
    try:
        _store(runtime, key, content, sha256)
    except Exception as exc:  # noqa: BLE001 - the outbox keeps the bytes; the change stands
        log.warning("blob not stored after commit (%s); it waits in the outbox", type(exc).__name__)
        return
    _forget(runtime, [row_id])


def lag(session: Session) -> int:
    """Blobs still to be stored."""
    return int(session.scalar(select(func.count(BlobOutbox.id))) or 0)


def _named(session: Session, key: str) -> bool:
    """Whether the document a transfer record's key names (`records/<document id>/...`) still
    names this record: by the document's primary key, never a scan of all documents."""
    parts = key.split("/")
    try:
        document_id = uuid.UUID(parts[1]) if len(parts) > 2 and parts[0] == "records" else None
    except ValueError:
        document_id = None
    if document_id is None:
        return True  # a key of another shape: stored as asked
    document = session.get(Document, document_id)
    return document is not None and document.scan_record_key == key


def drain(runtime: Runtime, limit: int = DEFAULT_LIMIT) -> int:
    """Store the blobs of up to `limit` due rows; returns how many rows were done (stored, or
    dropped because nothing names their key). A blob that cannot be stored waits longer."""
    now = utcnow()
    with transaction(runtime.sessions, read_only=True) as session:
        due = session.scalars(
            select(BlobOutbox)
            .where(BlobOutbox.next_try <= now)
            .order_by(BlobOutbox.id)
            .limit(limit)
        ).all()
        rows = [(r.id, r.key, r.content, r.sha256, r.attempts, _named(session, r.key)) for r in due]
    done: list[int] = []
    for row_id, key, content, sha256, attempts, named in rows:
        if not named:
            done.append(row_id)
            continue
        try:
            _store(runtime, key, content, sha256)
        except Exception as exc:  # noqa: BLE001 - this one waits, the others go on
            log.warning("blob outbox: blob not stored (%s)", type(exc).__name__)
            pause = min(FIRST_PAUSE_SECONDS * 2**attempts, LONGEST_PAUSE_SECONDS)
            with transaction(runtime.sessions) as session:
                row = session.get(BlobOutbox, row_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}"[:1000]
                    row.next_try = utcnow() + timedelta(seconds=pause)
        else:
            done.append(row_id)
    if done:
        _forget(runtime, done)
    return len(done)

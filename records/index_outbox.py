"""The index outbox drained: search catches up with what it missed while it was down.

Every change the index must follow leaves a row in `index_outbox` in the change's own
transaction (records.reindex.enqueue_index_writes); right after the commit the entry is
written and the row removed. When the index could not be written then (OpenSearch down or
restarting), the row stays, and `drain` writes the entry later: periodically in `eakte serve`
and in every worker (`start_draining`), or at once with `eakte reindex --pending`.

Rows are read in order, each key written once per round however many rows it has (the entry
is read from the database as it is now, so it holds every change committed so far), and only
the rows read are removed: a row committed meanwhile stays for the next round. Several
drainers at once (serve and its workers) only write an entry twice, which is harmless. While
the index is unreachable the rows wait ever longer (5 s doubling up to 5 min; attempts,
last_error and next_try on the row), so a long outage costs one failed write per interval.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.db import transaction, utcnow
from records import blob_outbox
from records.models import IndexOutbox
from records.reindex import (
    OUTBOX_DOCUMENT,
    OUTBOX_FILE_NOTE,
    forget_index_writes,
    reindex_documents,
    write_file_notes,
)
from records.runtime import Runtime

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 5.0
LONGEST_PAUSE_SECONDS = 300.0
DEFAULT_LIMIT = 500


def lag(session: Session) -> tuple[int, float | None]:
    """Entries still to be written, and the age in seconds of the oldest (None: none)."""
    count, oldest = session.execute(
        select(func.count(IndexOutbox.id), func.min(IndexOutbox.queued_at))
    ).one()
    if not count or oldest is None:
        return 0, None
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())


def pending_index_writes(runtime: Runtime) -> tuple[int, float | None]:
    """`lag` in a read transaction of its own (/health)."""
    with transaction(runtime.sessions, read_only=True) as session:
        return lag(session)


def _pause(attempts: int) -> timedelta:
    return timedelta(
        seconds=min(FIRST_PAUSE_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_PAUSE_SECONDS)
    )


def _writer(runtime: Runtime, kind: str, key: str) -> Callable[[], None] | None:
    """How one key's entry is written; None for a key that cannot be one (dropped)."""
    try:
        if kind == OUTBOX_DOCUMENT:
            document_id = uuid.UUID(key)
            return lambda: reindex_documents(runtime, [document_id])
        if kind == OUTBOX_FILE_NOTE:
            note_id = int(key)
            return lambda: write_file_notes(runtime, [note_id])
    except ValueError:
        pass
    log.error("index outbox: row of kind %r with key %r cannot be written; dropped", kind, key)
    return None


def _write_all(runtime: Runtime, keys: dict[tuple[str, str], list[int]]) -> None:
    """Every key's entry in (at most) two bulk writes."""
    documents = [uuid.UUID(k) for kind, k in keys if kind == OUTBOX_DOCUMENT]
    notes = [int(k) for kind, k in keys if kind == OUTBOX_FILE_NOTE]
    reindex_documents(runtime, documents)
    write_file_notes(runtime, notes)


def _back_off(runtime: Runtime, row_ids: list[int], error: Exception) -> None:
    """These rows wait longer, with what went wrong (no client data: an exception's text)."""
    message = f"{type(error).__name__}: {error}"[:1000]
    now = utcnow()
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(IndexOutbox).where(IndexOutbox.id.in_(row_ids)))
        for row in rows:
            row.attempts += 1
            row.last_error = message
            row.next_try = now + _pause(row.attempts)


def drain(runtime: Runtime, limit: int = DEFAULT_LIMIT) -> int:
    """Write the entries of up to `limit` due rows; returns how many rows were done.

    The whole round is tried as one bulk write; if that fails and the index answers its ping,
    one key after the other, so that one entry that cannot be written does not hold back the
    others. If the index does not answer, every row of the round waits (backs off)."""
    now = utcnow()
    with transaction(runtime.sessions, read_only=True) as session:
        due = session.execute(
            select(IndexOutbox.id, IndexOutbox.kind, IndexOutbox.key)
            .where(IndexOutbox.next_try <= now)
            .order_by(IndexOutbox.id)
            .limit(limit)
        ).all()
    if not due:
        return 0
    keys: dict[tuple[str, str], list[int]] = {}
    for row_id, kind, key in due:
        keys.setdefault((kind, key), []).append(row_id)
    unusable = [
        row_id
        for (kind, key), row_ids in keys.items()
        if _writer(runtime, kind, key) is None
        for row_id in row_ids
    ]
    keys = {k: ids for k, ids in keys.items() if not set(ids) & set(unusable)}
    try:
        _write_all(runtime, keys)
    except Exception as exc:  # noqa: BLE001 - decided below: outage or one bad entry
        if not runtime.index.ping().ok:
            log.warning(
                "index outbox: search index unreachable (%s); %s entries wait",
                type(exc).__name__,
                len(keys),
            )
            _back_off(runtime, [i for ids in keys.values() for i in ids], exc)
            forget_index_writes(runtime, unusable)
            return len(unusable)
        done = list(unusable)
        for (kind, key), row_ids in keys.items():
            write = _writer(runtime, kind, key)
            assert write is not None  # unusable keys were taken out above
            try:
                write()
            except Exception as single:  # noqa: BLE001 - this entry waits, the others go on
                # The type only: the index's answer may quote the entry (client data).
                log.warning(
                    "index outbox: entry of kind %s not written (%s)", kind, type(single).__name__
                )
                _back_off(runtime, row_ids, single)
            else:
                done.extend(row_ids)
        forget_index_writes(runtime, done)
        return len(done)
    done = unusable + [i for ids in keys.values() for i in ids]
    forget_index_writes(runtime, done)
    return len(done)


def drain_all(runtime: Runtime, limit: int = DEFAULT_LIMIT) -> int:
    """Drain until no due row is left or a round writes nothing (the index is down, or the
    rest waits out its pause); returns how many rows were done."""
    total = 0
    while True:
        done = drain(runtime, limit)
        total += done
        if done == 0:
            return total


def retry_now(runtime: Runtime) -> None:
    """Make every waiting row due at once (an operator's catch-up after the index is back)."""
    with transaction(runtime.sessions) as session:
        session.execute(update(IndexOutbox).values(next_try=utcnow()))


def run_draining(runtime: Runtime, stop: threading.Event) -> None:
    """Drain every `index_outbox_seconds` until stopped (a thread of serve and the workers);
    a round that filled its limit is followed by the next at once. A database or index that
    is away is logged and tried again at the next round. The blob outbox is drained in the
    same rounds."""
    every = runtime.settings.index_outbox_seconds
    while not stop.is_set():
        try:
            # issue 20: the blobs a commit named but did not get to store (records.blob_outbox)
            stored = blob_outbox.drain(runtime)
            if stored:
                log.info("blob outbox: %s blobs stored", stored)
            done = drain(runtime)
        except OperationalError as exc:
            log.warning("index outbox: database not available (%s)", str(exc.orig or exc)[:200])
            done = 0
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("index outbox: drain failed")
            done = 0
        if done:
            log.info("index outbox: %s entries written", done)
        if done < DEFAULT_LIMIT and stop.wait(every):
            return


def start_draining(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_draining, args=(runtime, stop), daemon=True, name="index-outbox"
    )
    thread.start()
    return thread

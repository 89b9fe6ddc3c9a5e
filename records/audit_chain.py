"""The audit log's hash chain, and its verification.

Every audit row carries its position in the log (`seq`), the hash of the row before it
(`prev_hash`) and its own hash (`row_hash`): SHA-256 over a canonical serialisation of all its
fields and `prev_hash`. Changing, removing or slipping in a row therefore breaks the chain at
that row, and `eakte audit verify` names it.

Rows are chained when the transaction that recorded them commits, not when they are recorded:
until then they wait beside the session (a flush holds them back). So the chain's head is
locked only for the commit itself (PostgreSQL: a transaction-level advisory lock, taken in
`before_commit` and released by the commit; SQLite: the write lock, which serialises commits
anyway), however long the audited request ran before. A unique index on `seq` makes a fork
impossible even for a writer that bypassed the lock.

Importing this module registers the session hooks; records/audit.py imports it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from core.db import utcnow
from records.models import AuditEvent, AuditPrune

# The `prev_hash` of the first row.
GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key of the chain's head (the migration lock is 720417).
CHAIN_LOCK_KEY = 720418

# Not hashed: the id is assigned by the database at insert; the hash cannot contain itself.
_NOT_HASHED = frozenset({"id", "row_hash"})
_STAGED = "audit_chain_staged"
_CHAINED = "audit_chain_chained"
_order = itertools.count()
# Each audit row's place in the order of recording, set when the object is made.
_recording_order: WeakKeyDictionary[AuditEvent, int] = WeakKeyDictionary()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def normalised_details(details: Any) -> Any:
    """The details as they read back from the database (tuples become lists, keys strings)."""
    return json.loads(canonical_json(details if details is not None else {}))


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit timestamps must be timezone-aware")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def row_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of a row's fields (by column name, `prev_hash` included) in canonical JSON.

    Empty (NULL) fields are left out, so a nullable column added later does not change the
    hash of the rows written before it.
    """
    payload = {
        name: _canonical_value(value)
        for name, value in fields.items()
        if name not in _NOT_HASHED and value is not None
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def hashed_column_names() -> list[str]:
    return [column.key for column in AuditEvent.__table__.columns if column.key not in _NOT_HASHED]


def _event_fields(audit_event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(audit_event, name) for name in hashed_column_names()}


def _apply_defaults(audit_event: AuditEvent) -> None:
    """Fill Python-side column defaults now, so that the hash covers what the INSERT writes."""
    for column in AuditEvent.__table__.columns:
        if column.key in _NOT_HASHED or getattr(audit_event, column.key) is not None:
            continue
        default = column.default
        if isinstance(default, CallableColumnDefault):
            # SQLAlchemy wraps a default that takes no argument (all of AuditEvent's) into one
            # taking the INSERT's execution context; before the INSERT there is none to give.
            value = default.arg(None)  # type: ignore[arg-type]
        elif isinstance(default, ScalarElementColumnDefault):
            value = default.arg
        else:  # no default, or one the database computes
            continue
        setattr(audit_event, column.key, value)


@event.listens_for(AuditEvent, "init")
def _stamp(target: AuditEvent, _args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # The moment of recording, not of the commit; the counter keeps the recording order.
    kwargs.setdefault("at", utcnow())
    _recording_order[target] = next(_order)


def _current_transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


@event.listens_for(Session, "before_flush")
def _hold_back_until_commit(session: Session, _context: object, _instances: object) -> None:
    unchained = [o for o in session.new if isinstance(o, AuditEvent) and o.row_hash is None]
    if not unchained:
        return
    staged = session.info.setdefault(_STAGED, [])
    transaction = _current_transaction(session)
    for audit_event in unchained:
        session.expunge(audit_event)
        staged.append((transaction, audit_event))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    staged = session.info.get(_STAGED)
    if not staged:
        return

    def _within(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_STAGED] = [(t, e) for t, e in staged if not _within(t)]


@event.listens_for(Session, "after_commit")
def _chained_rows_stand(session: Session) -> None:
    session.info.pop(_CHAINED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # Committed rows were inserted; a closed or rolled-back transaction wrote none.
    if transaction.parent is None:
        session.info.pop(_STAGED, None)
        # A commit that failed after its rows were chained: their ids and links are void, so
        # that the rows are inserted and chained afresh if they are recorded again.
        for audit_event in session.info.pop(_CHAINED, ()):
            for name in ("id", "seq", "prev_hash", "row_hash"):
                setattr(audit_event, name, None)


def unchained(
    session: Session, object_type: str | None = None, object_id: str | None = None
) -> list[AuditEvent]:
    """This transaction's audit rows (of one object, if named), in recording order:
    they reach the table at commit, so a query of the table does not see them yet."""
    staged = [audit_event for _, audit_event in session.info.get(_STAGED, [])]
    pending = [o for o in session.new if isinstance(o, AuditEvent) and o.row_hash is None]
    return sorted(
        (
            e
            for e in staged + pending
            if object_type in (None, e.object_type) and object_id in (None, e.object_id)
        ),
        key=lambda e: _recording_order.get(e, 0),
    )


@event.listens_for(Session, "before_commit")
def _chain_at_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    events = unchained(session)
    session.info.pop(_STAGED, None)
    if not events:
        return
    # Core statements: an ORM query would autoflush, and the flush would hold the rows back.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = connection.execute(
        select(AuditEvent.seq, AuditEvent.row_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    if head is None:
        # Empty: never used, or every row was pruned; then the chain goes on from the anchor.
        head = connection.execute(
            select(AuditPrune.up_to_seq.label("seq"), AuditPrune.last_hash.label("row_hash"))
            .order_by(AuditPrune.up_to_seq.desc())
            .limit(1)
        ).first()
    seq, previous = (head.seq, head.row_hash) if head is not None else (0, GENESIS_HASH)
    for audit_event in events:
        _apply_defaults(audit_event)
        audit_event.details = normalised_details(audit_event.details)
        seq += 1
        audit_event.seq = seq
        audit_event.prev_hash = previous
        audit_event.row_hash = row_hash(_event_fields(audit_event))
        previous = audit_event.row_hash
        session.add(audit_event)
    session.info[_CHAINED] = events


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    kind: str  # "changed" | "missing" | "inserted"
    row_id: int
    seq: int | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None
    # The last row a prune removed, which the chain now starts after (0: the genesis).
    starts_after: int = 0

    @property
    def intact(self) -> bool:
        return self.first_break is None


@dataclass(frozen=True)
class _Row:
    id: int
    seq: int | None
    prev_hash: str | None
    stored_hash: str | None
    computed_hash: str


def _changed(row: _Row) -> ChainBreak:
    return ChainBreak(
        "changed",
        row.id,
        row.seq,
        f"Eintrag {row.id} (Nr. {row.seq}): Inhalt verändert / content changed",
    )


def _inserted(row: _Row, why: str) -> ChainBreak:
    return ChainBreak(
        "inserted",
        row.id,
        row.seq,
        f"Eintrag {row.id} (Nr. {row.seq}): nachträglich eingefügt / row inserted ({why})",
    )


def _missing(row: _Row, first: int, last: int) -> ChainBreak:
    numbers = f"Nr. {first}" if first == last else f"Nr. {first} bis {last}"
    return ChainBreak(
        "missing",
        row.id,
        row.seq,
        f"vor Eintrag {row.id} (Nr. {row.seq}) fehlt {numbers} / row(s) missing",
    )


def _rows(session: Session) -> Iterator[_Row]:
    columns = hashed_column_names()
    statement = (
        select(AuditEvent.id, AuditEvent.row_hash, *(getattr(AuditEvent, c) for c in columns))
        .order_by(AuditEvent.seq.asc().nulls_last(), AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    for result in session.execute(statement):
        fields = {name: getattr(result, name) for name in columns}
        yield _Row(result.id, fields["seq"], fields["prev_hash"], result.row_hash, row_hash(fields))


def _groups(rows: Iterable[_Row]) -> Iterator[list[_Row]]:
    for _, group in itertools.groupby(rows, key=lambda r: r.seq):
        yield list(group)


def verify_chain(session: Session, noted: tuple[int, str] | None = None) -> ChainReport:
    """Walk the chain in order and report its first break (or none).

    The chain proves itself only up to its head: rows removed from the end, or a chain that
    someone recomputed from a forged row on, look intact. `noted` is a (seq, hash) pair noted
    earlier from a report's head (`eakte audit verify` prints it); the chain must still hold
    that row.
    """
    count = 0
    noted_row: _Row | None = None
    groups = _groups(_rows(session))
    group = next(groups, None)
    # After a prune (records.housekeeping) the chain starts at its anchor: the first remaining
    # row must follow the last removed one, whose position and hash the anchor keeps.
    previous = anchor = _anchor(session, group[0].seq if group else None)
    while group is not None:
        following = next(groups, None)
        count += len(group)
        problem = _check_position(previous, group, following)
        if problem is not None:
            return _report(count, previous, problem, anchor)
        previous = group[0] if len(group) == 1 else _genuine(previous, group, following)
        if noted is not None and previous is not None and previous.seq == noted[0]:
            noted_row = previous
        group = following
    if noted is not None and noted_row is None and _pruned(session, noted):
        return _report(count, previous, None, anchor)
    if noted is not None and (noted_row is None or noted_row.stored_hash != noted[1]):
        return _report(count, previous, _not_as_noted(noted, noted_row), anchor)
    return _report(count, previous, None, anchor)


def _anchor(session: Session, first_seq: int | None) -> _Row | None:
    """The last row the latest prune before the first remaining row removed, as the prune
    recorded it: the chain goes on from there (rows missing after it are found as missing).
    None when the chain still starts at the beginning."""
    if first_seq is None or first_seq <= 1:
        return None
    anchor = session.execute(
        select(AuditPrune.up_to_seq, AuditPrune.last_hash)
        .where(AuditPrune.up_to_seq < first_seq)
        .order_by(AuditPrune.up_to_seq.desc())
        .limit(1)
    ).first()
    if anchor is None:
        return None
    return _Row(0, anchor.up_to_seq, None, anchor.last_hash, anchor.last_hash)


def _pruned(session: Session, noted: tuple[int, str]) -> bool:
    """A noted row that a prune removed after its period: the chain holds it only as far as
    the anchor does (the anchor's own row must still carry the noted hash)."""
    seq, digest = noted
    anchors = session.execute(select(AuditPrune.up_to_seq, AuditPrune.last_hash)).all()
    return any(seq < a.up_to_seq or (seq == a.up_to_seq and digest == a.last_hash) for a in anchors)


def _not_as_noted(noted: tuple[int, str], row: _Row | None) -> ChainBreak:
    seq, digest = noted
    if row is None:
        message = f"Eintrag Nr. {seq} fehlt: am Ende entfernt / row(s) removed at the end"
        return ChainBreak("missing", 0, seq, message)
    message = (
        f"Eintrag {row.id} (Nr. {seq}) hat nicht mehr den notierten Hash {digest[:16]}…: "
        "Kette neu berechnet / chain recomputed"
    )
    return ChainBreak("changed", row.id, seq, message)


def _linked(previous: _Row | None, row: _Row) -> bool:
    return row.prev_hash == (previous.stored_hash if previous else GENESIS_HASH)


def _genuine(previous: _Row | None, group: list[_Row], following: list[_Row] | None) -> _Row | None:
    """Of rows claiming one position, the intact one the next row points back to."""
    candidates = [r for r in group if r.computed_hash == r.stored_hash and _linked(previous, r)]
    pointed_to = {r.prev_hash for r in following or ()}
    return next((r for r in candidates if r.stored_hash in pointed_to), None) or next(
        iter(candidates), None
    )


def _check_position(
    previous: _Row | None, group: list[_Row], following: list[_Row] | None
) -> ChainBreak | None:
    row = group[0]
    if row.seq is None:
        return _inserted(row, "ohne Kettenglied / not chained")
    if len(group) > 1:
        genuine = _genuine(previous, group, following)
        if genuine is None:
            return _changed(row)
        fake = next(r for r in group if r is not genuine)
        return _inserted(fake, f"Nr. {fake.seq} doppelt / duplicate position")
    if row.computed_hash != row.stored_hash:
        return _changed(row)
    expected = previous.seq + 1 if previous and previous.seq is not None else 1
    if row.seq > expected:
        return _missing(row, expected, row.seq - 1)
    if row.seq < expected:
        return _inserted(row, f"Nr. {row.seq} außerhalb der Kette / out of sequence")
    if not _linked(previous, row):
        if previous is not None and previous.id == 0:  # the anchor of a prune
            message = (
                f"Eintrag {row.id} (Nr. {row.seq}) passt nicht zum Anker der Aussonderung "
                f"bis Nr. {previous.seq} / does not follow the prune anchor"
            )
            return ChainBreak("changed", row.id, row.seq, message)
        # The row itself is intact, so the row before it is not the one it was chained onto.
        assert previous is not None
        return _inserted(previous, f"Eintrag {row.id} war an einen anderen gekettet")
    return None


def _report(
    count: int, head: _Row | None, problem: ChainBreak | None, anchor: _Row | None = None
) -> ChainReport:
    after = (anchor.seq or 0) if anchor is not None else 0
    if head is None:
        return ChainReport(count, 0, GENESIS_HASH, problem, after)
    return ChainReport(count, head.seq or 0, head.stored_hash or "", problem, after)

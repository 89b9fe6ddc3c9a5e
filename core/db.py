"""Engine, sessions (write and read), units of work with their after-commit steps."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC everywhere; SQLite stores them naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- engines ------------------------------------------------------------------------------
#
# On SQLite one writer at a time holds the database's write lock; readers never wait (WAL).
# Every transaction names what it is when it begins:
#
# - a write transaction takes the write lock at BEGIN (BEGIN IMMEDIATE), so two processes never
#   deadlock upgrading a read lock, and a waiting writer waits in SQLite's busy handler
#   (busy_timeout), which works only when the lock is asked for at BEGIN;
# - a read transaction begins deferred (plain BEGIN) and takes no write lock at all, so a
#   request that only reads never waits for a writer, however long that writer holds the lock.
#   It is also read-only (PRAGMA query_only, PostgreSQL: READ ONLY): a deferred transaction
#   that read and then writes must upgrade its lock, and in WAL mode that upgrade fails at once
#   with SQLITE_BUSY (busy_timeout does not apply) when another writer holds the lock or has
#   committed since the read began. Read sessions therefore never write inside their
#   transaction; see ReadSession for what they do with the rows they record.

_BEGIN_OPTION = "eakte_read_only"
_QUERY_ONLY = "eakte_query_only"


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = 30_000) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "check_same_thread": False},
        )
        _make_sqlite_transactional(engine, sqlite_busy_timeout_ms)
        return engine
    # pool_pre_ping: a pooled connection whose server went away (a restart, a failover to the
    # standby) is noticed at checkout and the pool reconnects, through libpq's host list and
    # target_session_attrs=read-write to the server that takes writes now. connect_timeout: a
    # host that does not answer at all (not even with a refusal) is given up for the next one.
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": 10}
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get(_BEGIN_OPTION):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


def _make_sqlite_transactional(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take over.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # conn.info lives as long as the pooled DBAPI connection, across checkouts.
        if conn.get_execution_options().get(_BEGIN_OPTION):
            conn.exec_driver_sql("BEGIN")
            if not conn.info.get(_QUERY_ONLY):
                conn.exec_driver_sql("PRAGMA query_only=ON")
                conn.info[_QUERY_ONLY] = True
        else:
            if conn.info.pop(_QUERY_ONLY, False):
                conn.exec_driver_sql("PRAGMA query_only=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- side effects after the commit ----------------------------------------------------------
#
# What must not happen inside a write transaction (search index writes, mail, anything slow or
# outside the database) and what must not happen unless the transaction's changes stand is
# registered with after_commit(). The callbacks of a transaction run once it has committed and
# its connection went back to the pool; a rollback (also of a savepoint) drops the callbacks
# registered within it. transaction() and the web requests' unit of work (api.deps.get_db) run
# them; a callback that raises does not stop the others, and the first error is raised after
# all ran (never swallowed: the request answers with an error although the commit stands).

_PENDING = "eakte_after_commit_pending"
_READY = "eakte_after_commit_ready"


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once the session's current transaction has committed, outside of it."""
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((transaction, callback))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(callback for _, callback in pending)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def within(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(t, c) for t, c in pending if not within(t)]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ended without its after_commit: closed or rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def run_after_commit(session: Session) -> None:
    """Run what committed transactions of `session` left to do; call it with no transaction open."""
    ready = session.info.pop(_READY, None)
    if not ready:
        return
    first_error: BaseException | None = None
    for callback in ready:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - the others still run; the first is raised
            if first_error is None:
                first_error = exc
            else:
                log.exception("after-commit step %r failed as well", callback)
    if first_error is not None:
        raise first_error


# --- read sessions --------------------------------------------------------------------------


class ReadOnlyTransaction(RuntimeError):
    """A read session was asked to change or delete rows: a programming error."""


class ReadSession(Session):
    """A session for work that only reads (GET requests, reports): its transactions begin
    deferred and read-only, so they never take or wait for the write lock.

    Rows it is asked to add (the audit rows of what was read: every view is audited) are
    written after the read transaction committed, in a short write transaction of their own
    (BEGIN IMMEDIATE: it waits in the busy handler, never fails on a stale snapshot), before
    the request answers: get_db and transaction() run it. A read transaction that rolls back
    writes none of them (as a write transaction would). Changing or deleting loaded rows in a
    read session is refused (ReadOnlyTransaction): a GET request must not change data.
    Inserting later instead of retrying the read was chosen because a retry would run the
    request's reads (and their access checks) again and could still lose against a steady
    stream of writers; the later insert needs nothing from the read's snapshot.
    """

    writer: sessionmaker[Session]

    def add(self, instance: object, *, _warn: bool = True) -> None:
        if not inspect(instance).transient:
            super().add(instance, _warn=_warn)
            return
        transaction = self.get_nested_transaction() or self.get_transaction() or self.begin()
        batch: tuple[SessionTransaction, list[object]] | None = self.info.get(_INSERT_LATER)
        if batch is None or batch[0] is not transaction:
            batch = (transaction, [])
            self.info[_INSERT_LATER] = batch
            after_commit(self, functools.partial(_insert_later, self.writer, batch[1]))
        batch[1].append(instance)


_INSERT_LATER = "eakte_insert_later"


def _insert_later(writer: sessionmaker[Session], instances: list[object]) -> None:
    with transaction(writer) as session:
        session.add_all(instances)


@event.listens_for(ReadSession, "before_flush")
def _refuse_writes(session: Session, _context: object, _instances: object) -> None:
    changed = [o for o in session.dirty if session.is_modified(o)]
    if session.new or session.deleted or changed:
        rows = [type(o).__name__ for o in (*session.new, *session.deleted, *changed)]
        raise ReadOnlyTransaction(f"read-only session asked to write {sorted(set(rows))}")


def read_session(factory: sessionmaker[Session]) -> ReadSession:
    """A ReadSession on the factory's database; rows it records are written through `factory`."""
    options = dict(factory.kw)
    engine = options.pop("bind")
    # A few microseconds: the option engine shares the engine's pool and its event listeners.
    session = ReadSession(bind=engine.execution_options(**{_BEGIN_OPTION: True}), **options)
    session.writer = factory
    return session


# --- units of work --------------------------------------------------------------------------


@contextmanager
def unit_of_work(session: Session, factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commits when the block succeeds, rolls back when it raises (and writes what the error
    must leave behind, through `factory`); then, with no transaction open, runs what committed
    transactions left to do (after_commit; a ReadSession's rows)."""
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        session.close()
        record_after_rollback(factory, exc)
        raise
    finally:
        session.close()
        # Also after a rollback: what earlier, committed transactions of the session left to do.
        run_after_commit(session)


@contextmanager
def transaction(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """A unit of work: commits when the block succeeds, rolls back when it raises.

    read_only: a ReadSession, which never takes or waits for SQLite's write lock.
    """
    session = read_session(factory) if read_only else factory()
    with unit_of_work(session, factory):
        yield session


def record_after_rollback(factory: sessionmaker[Session], exc: BaseException) -> None:
    """What an error must leave behind although its unit of work rolled back (the audit row of
    a refused access), in a short transaction of its own."""
    write = getattr(exc, "after_rollback", None)
    if write is None:
        return
    with factory() as session:
        write(session)
        session.commit()

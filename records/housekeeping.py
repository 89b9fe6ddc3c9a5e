"""Data with a period of its own, removed when it ends (issue 17).

- The audit log keeps its rows `audit_retention_years` (default 2). `prune_audit_log` (the
  command `eakte audit prune`, and the destruction job) is the one way rows leave it: only a
  whole prefix of the chain whose rows are all older than the period, only from an intact
  chain, and always with an anchor (`audit_prunes`: the last removed row's position and hash)
  from which `verify_chain` then starts, and with an audit row of its own. DELETE on the table
  is refused by triggers; on SQLite the prune lifts the delete trigger inside its transaction,
  on PostgreSQL it calls `eakte_audit_prune`, a function owned by the schema's owner
  (records/db_roles.py creates it) which deletes nothing younger than the period it was
  created with, so the runtime role still cannot delete a row itself.
- Master-data import drafts (the raw CSV of every household) are removed
  `import_draft_keep_days` after they were applied, or after they were uploaded when nobody
  applied them (`prune_import_drafts`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Result, delete, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import transaction, utcnow
from core.errors import ConfigurationError, Conflict, EAkteError
from records import audit
from records.audit_chain import CHAIN_LOCK_KEY, verify_chain
from records.models import AuditEvent, AuditPrune, ImportDraft
from records.object_lock import locking, sweep
from storage import BlobStore

log = logging.getLogger(__name__)
AUDIT_TABLE = "audit_events"
PRUNE_FUNCTION = "eakte_audit_prune"
PRUNE_ACTION = "audit.pruned"
DRAFTS_ACTION = "masterdata.drafts_removed"
SYSTEM_LOGIN = "system"


def years_before(moment: datetime, years: int) -> datetime:
    """The same moment `years` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass(frozen=True)
class AuditPruneReport:
    removed: int
    up_to_seq: int | None  # the last removed row's position (None: nothing was removed)
    older_than: datetime

    def german(self) -> str:
        if not self.removed:
            return (
                "Prüfprotokoll: nichts ausgesondert (kein Eintrag älter als "
                f"{self.older_than:%d.%m.%Y})."
            )
        return (
            f"Prüfprotokoll: {self.removed} Einträge bis Nr. {self.up_to_seq} gelöscht "
            f"(älter als {self.older_than:%d.%m.%Y}); die Kette wird ab dort geprüft."
        )


def prune_audit_log(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    by_login: str = SYSTEM_LOGIN,
    now: datetime | None = None,
) -> AuditPruneReport:
    """Remove the audit rows older than `audit_retention_years`: the longest prefix of the
    chain whose rows are all older (a row recorded later but committed earlier keeps the rows
    after it), with its anchor and an audit row `audit.pruned`, in one transaction.

    Refused (Conflict) when the chain is broken: a prune must not remove the evidence."""
    older_than = years_before(now or utcnow(), settings.audit_retention_years)
    # The walk over the whole chain runs before, outside the write transaction: audited
    # requests are not kept waiting for it. Rows never change and new ones only join at the
    # head, so the prefix chosen here stays prunable (the removal checks it again).
    with transaction(sessions, read_only=True) as session:
        report = verify_chain(session)
        if report.first_break is not None:
            raise Conflict(
                "Das Prüfprotokoll wird nicht ausgesondert, solange seine Kette gebrochen ist: "
                + report.first_break.message,
                code="audit_chain_broken",
            )
        up_to = _prunable_prefix(session.connection(), older_than)
    if up_to is None:
        return AuditPruneReport(0, None, older_than)
    with transaction(sessions) as session:
        connection = session.connection()
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            # No commit chains a row while the prefix (perhaps the head itself) goes.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
        if postgresql:
            removed = _prune_postgresql(connection, settings, up_to, older_than, by_login)
        else:
            removed = _prune_sqlite(session, up_to, older_than, by_login)
        audit.record(
            session,
            None,
            PRUNE_ACTION,
            actor_login=by_login,
            object_type="audit_log",
            object_id=str(up_to),
            removed=removed,
            up_to_seq=up_to,
            older_than=older_than.isoformat(),
            retention_years=settings.audit_retention_years,
        )
    return AuditPruneReport(removed, up_to, older_than)


def _prunable_prefix(connection: Connection, older_than: datetime) -> int | None:
    first = connection.execute(select(func.min(AuditEvent.seq))).scalar()
    if first is None:
        return None
    first_young = connection.execute(
        select(func.min(AuditEvent.seq)).where(AuditEvent.at >= older_than)
    ).scalar()
    up_to = (
        connection.execute(select(func.max(AuditEvent.seq))).scalar()
        if first_young is None
        else first_young - 1
    )
    return up_to if up_to is not None and up_to >= first else None


def _prune_sqlite(session: Session, up_to: int, older_than: datetime, by_login: str) -> int:
    last_hash = session.execute(
        select(AuditEvent.row_hash).where(AuditEvent.seq == up_to)
    ).scalar_one()
    # DDL is part of the transaction on SQLite (core.db begins it explicitly): a failure
    # rolls the trigger back in with the rows.
    session.execute(text("DROP TRIGGER audit_events_no_delete"))
    removed = _count(session.execute(delete(AuditEvent).where(AuditEvent.seq <= up_to)))
    session.execute(
        text(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
    )
    session.add(
        AuditPrune(
            up_to_seq=up_to,
            last_hash=last_hash,
            row_count=removed,
            older_than=older_than,
            by_login=by_login,
        )
    )
    # Written now: when every row went, the audit row of the prune is chained onto it.
    session.flush()
    return int(removed)


def _count(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _prune_postgresql(
    connection: Connection, settings: Settings, up_to: int, older_than: datetime, by_login: str
) -> int:
    if _owns_audit_log(connection):
        # Run as the schema's owner (no separate runtime role): the same function, so both
        # setups prune by the same checks.
        create_prune_function(connection, settings.audit_retention_years)
    elif not connection.execute(
        text("SELECT to_regprocedure(:signature) IS NOT NULL"),
        {"signature": f"{PRUNE_FUNCTION}(bigint, timestamp with time zone, text)"},
    ).scalar():
        raise ConfigurationError(
            "Das Prüfprotokoll kann nicht ausgesondert werden: Die Datenbankfunktion "
            f"{PRUNE_FUNCTION} fehlt. Bitte `eakte migrate` mit EAKTE_MIGRATION_DATABASE_URL "
            "(oder `eakte db grant-runtime`) ausführen."
        )
    removed = connection.execute(
        text(f"SELECT {PRUNE_FUNCTION}(:up_to, :older_than, :by_login)"),
        {"up_to": up_to, "older_than": older_than, "by_login": by_login},
    ).scalar_one()
    return int(removed)


def _owns_audit_log(connection: Connection) -> bool:
    return bool(
        connection.execute(
            text(
                "SELECT pg_has_role(current_user, tableowner, 'MEMBER') FROM pg_tables"
                " WHERE tablename = :table AND schemaname = current_schema()"
            ),
            {"table": AUDIT_TABLE},
        ).scalar()
    )


def create_prune_function(connection: Connection, retention_years: int) -> None:
    """(Re)create the owner's prune function: SECURITY DEFINER, so the runtime role may call
    it without DELETE on the table; it removes only a gap-free prefix of the chain up to
    `p_up_to`, all of it recorded before `p_older_than` and at least `retention_years` ago
    (the earlier of both counts, so a caller cannot shorten the period); it writes the
    anchor. Run by the schema's owner."""
    years = int(retention_years)
    # (psycopg reads % as a placeholder: the RAISE formats are written %%.)
    schema = connection.dialect.identifier_preparer.quote(
        connection.execute(text("SELECT current_schema()")).scalar_one()
    )
    connection.exec_driver_sql(
        f"""
        CREATE OR REPLACE FUNCTION {PRUNE_FUNCTION}(
            p_up_to bigint, p_older_than timestamptz, p_by text
        ) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
        DECLARE
            -- Never younger than the period, whatever the caller asks.
            v_older_than timestamptz := least(p_older_than, now() - interval '{years} years');
            v_from bigint;
            v_count integer;
            v_hash text;
        BEGIN
            SELECT coalesce(max(up_to_seq), 0) INTO v_from FROM audit_prunes;
            IF p_up_to <= v_from THEN
                RAISE EXCEPTION 'the audit log is pruned up to %% already', v_from;
            END IF;
            IF EXISTS (
                SELECT 1 FROM audit_events WHERE seq <= p_up_to AND at >= v_older_than
            ) THEN
                RAISE EXCEPTION 'audit rows up to %% are not all older than %% ({years} years)',
                    p_up_to, v_older_than;
            END IF;
            SELECT count(*) INTO v_count FROM audit_events WHERE seq <= p_up_to;
            SELECT row_hash INTO v_hash FROM audit_events WHERE seq = p_up_to;
            IF v_hash IS NULL OR v_count <> p_up_to - v_from THEN
                RAISE EXCEPTION 'the audit chain up to %% has a gap', p_up_to;
            END IF;
            ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
            DELETE FROM audit_events WHERE seq <= p_up_to;
            ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
            INSERT INTO audit_prunes (up_to_seq, last_hash, row_count, older_than, by_login, at)
                VALUES (p_up_to, v_hash, v_count, v_older_than, p_by, now());
            RETURN v_count;
        END
        $fn$
        """
    )
    connection.exec_driver_sql(
        f"REVOKE ALL ON FUNCTION {PRUNE_FUNCTION}(bigint, timestamptz, text) FROM PUBLIC"
    )


@dataclass(frozen=True)
class DraftsReport:
    removed: int
    kept_days: int

    def german(self) -> str:
        return (
            f"Stammdaten-Entwürfe: {self.removed} entfernt "
            f"(übernommene und verworfene nach {self.kept_days} Tagen)."
        )


def prune_import_drafts(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> DraftsReport:
    """Remove master-data drafts `import_draft_keep_days` after they were applied, or after
    they were uploaded when never applied: each holds the raw CSV of every household."""
    days = settings.import_draft_keep_days
    cutoff = (now or utcnow()) - timedelta(days=days)
    with transaction(sessions) as session:
        removed = _count(
            session.execute(
                delete(ImportDraft).where(
                    or_(
                        ImportDraft.applied_at < cutoff,
                        (ImportDraft.applied_at.is_(None)) & (ImportDraft.created_at < cutoff),
                    )
                )
            )
        )
        if removed:
            audit.record(
                session,
                None,
                DRAFTS_ACTION,
                actor_login=SYSTEM_LOGIN,
                object_type="import_draft",
                removed=int(removed),
                keep_days=days,
            )
    return DraftsReport(int(removed), days)


SPOOL_PREFIX = "upload-"  # ingest.uploads._spool's files in <data>/incoming
SPOOL_KEEP = timedelta(hours=1)  # an upload is stored within seconds of being spooled


@dataclass(frozen=True)
class SpoolReport:
    removed: int

    def german(self) -> str:
        return f"Liegengebliebene Uploads: {self.removed} entfernt."


def prune_upload_spool(settings: Settings, *, now: datetime | None = None) -> SpoolReport:
    """Remove uploads spooled to `<data>/incoming` more than SPOOL_KEEP ago: a web process
    killed while it stored one leaves the scan (client data) there, and nothing else would
    ever read it again (the desk's upload failed; the desk hands the file in again)."""
    cutoff = ((now or utcnow()) - SPOOL_KEEP).timestamp()
    folder = settings.data_dir / "incoming"
    removed = 0
    for path in folder.glob(f"{SPOOL_PREFIX}*") if folder.is_dir() else ():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # stored and removed by its upload meanwhile
    return SpoolReport(removed)


# --- the scheduled rounds in `eakte serve` --------------------------------------------------

CHECK_SECONDS = 60
DRAFTS_EVERY = timedelta(hours=24)


@dataclass
class _Task:
    name: str
    every: timedelta
    run: Callable[[], str]
    last: datetime | None = None


def _tasks(sessions: sessionmaker[Session], settings: Settings, blobs: BlobStore) -> list[_Task]:
    tasks = [
        _Task("drafts", DRAFTS_EVERY, lambda: prune_import_drafts(sessions, settings).german()),
        _Task("uploads", SPOOL_KEEP, lambda: prune_upload_spool(settings).german()),
    ]
    if locking(blobs) and settings.s3_lock_sweep_minutes > 0:
        tasks.append(
            _Task(
                "object lock",
                timedelta(minutes=settings.s3_lock_sweep_minutes),
                lambda: sweep(sessions, settings, blobs).german(),
            )
        )
    return tasks


def run_scheduled(
    sessions: sessionmaker[Session], settings: Settings, blobs: BlobStore, stop: threading.Event
) -> None:
    """Remove the drafts whose period ended (daily) and uploads left spooled by a killed web
    process (hourly), and extend object locks (every `s3_lock_sweep_minutes`) until stopped:
    a thread of `eakte serve`; a failing round is logged and tried again at the next. The
    audit log is not pruned here: only by its job."""
    tasks = _tasks(sessions, settings, blobs)
    while True:
        now = utcnow()
        for task in tasks:
            if task.last is not None and now - task.last < task.every:
                continue
            task.last = now
            try:
                log.info("housekeeping: %s", task.run())
            except EAkteError as exc:
                log.error("housekeeping (%s): %s", task.name, exc.message)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("housekeeping (%s) failed", task.name)
        if stop.wait(CHECK_SECONDS):
            return


def start_scheduled_housekeeping(
    sessions: sessionmaker[Session], settings: Settings, blobs: BlobStore, stop: threading.Event
) -> threading.Thread:
    thread = threading.Thread(
        target=run_scheduled,
        args=(sessions, settings, blobs, stop),
        daemon=True,
        name="housekeeping",
    )
    thread.start()
    return thread

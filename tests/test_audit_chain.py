"""The audit log is a hash chain, and `eakte audit verify` finds every break in it."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.db import make_engine, make_session_factory, transaction
from records import audit
from records.audit_chain import GENESIS_HASH, row_hash, verify_chain
from records.models import AuditEvent, Team
from records.schema import MIGRATIONS_DIR
from tests.support import cli_env, migrated_sessions, run_cli


def verify_command(
    tmp_path: Path, database_url: str, *options: str
) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path / "cli-data", EAKTE_DATABASE_URL=database_url)
    return run_cli(env, "audit", "verify", *options, timeout=120)


def record_reads(sessions, count: int) -> None:  # type: ignore[no-untyped-def]
    for number in range(1, count + 1):
        with transaction(sessions) as session:
            audit.record(
                session,
                None,
                "document.read",
                actor_login=f"lsb.{number}",
                object_type="document",
                object_id=f"doc-{number}",
                bg_number="12345BG0000001",
                seite=number,
                treffer=("Müller", "Straße"),
            )


def chain(engine: Engine) -> list[tuple[int, int, str, str]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.row_hash
                ).order_by(AuditEvent.seq)
            )
        ]


def test_rows_are_chained_in_the_order_they_were_recorded(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    with transaction(sessions) as session:
        for action in ("first", "second", "third"):
            audit.record(session, None, action, actor_login="lsb.1")
            # A query in between flushes the session; the rows still wait for the commit.
            session.execute(select(AuditEvent.id)).all()
    with pytest.raises(RuntimeError):
        with transaction(sessions) as session:
            audit.record(session, None, "rolled-back", actor_login="lsb.1")
            session.flush()
            raise RuntimeError("the request failed")
    with transaction(sessions) as session:
        audit.record(session, None, "kept", actor_login="lsb.1")
        savepoint = session.begin_nested()
        audit.record(session, None, "undone-in-savepoint", actor_login="lsb.1")
        session.flush()
        savepoint.rollback()
        audit.record(session, None, "fourth", actor_login="lsb.1")
    with transaction(sessions) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        report = verify_chain(session)
    assert actions == ["first", "second", "third", "kept", "fourth"]
    rows = chain(engine)
    assert [seq for _, seq, _, _ in rows] == [1, 2, 3, 4, 5]
    assert rows[0][2] == GENESIS_HASH
    assert all(rows[i][2] == rows[i - 1][3] for i in range(1, len(rows)))
    assert report.intact and report.rows == 5 and report.head_hash == rows[-1][3]
    engine.dispose()


def test_a_refusal_is_chained_after_the_rollback(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    session = sessions()
    try:
        audit.record(session, None, "document.read", actor_login="lsb.1")
        session.flush()
        # A refusal: everything the request did is rolled back, the refusal alone is written.
        session.rollback()
        audit.record(session, None, "household.read", actor_login="lsb.2", outcome="denied")
        session.commit()
    finally:
        session.close()
    with transaction(sessions) as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.outcome)).all()
        assert events == [("household.read", "denied")]
        assert verify_chain(session).intact
    engine.dispose()


def test_rows_of_a_failed_commit_are_chained_afresh_when_recorded_again(
    database_url: str,
) -> None:
    engine, sessions = migrated_sessions(database_url)
    session = sessions()
    try:
        retried = audit.record(session, None, "document.read", actor_login="lsb.1")
        session.add_all([Team(name="Doppelt"), Team(name="Doppelt")])
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        with transaction(sessions) as other:
            audit.record(other, None, "document.read", actor_login="lsb.2")
        session.add(retried)
        session.commit()
    finally:
        session.close()
    with transaction(sessions) as session:
        assert verify_chain(session).intact
        logins = session.scalars(select(AuditEvent.actor_login).order_by(AuditEvent.seq)).all()
    assert logins == ["lsb.2", "lsb.1"]
    engine.dispose()


def test_verify_reports_an_intact_chain_and_exits_zero(database_url: str, tmp_path: Path) -> None:
    engine, sessions = migrated_sessions(database_url)
    record_reads(sessions, 5)
    engine.dispose()
    result = verify_command(tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "Prüfkette intakt: 5 Einträge" in result.stdout


def _lift_guards(connection, dialect: str) -> None:  # type: ignore[no-untyped-def]
    """What an attacker with the database owner's rights does first."""
    if dialect == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
    connection.exec_driver_sql("DROP INDEX ix_audit_events_seq")


def _forge_third_row(connection, forged_id: int | None) -> int:  # type: ignore[no-untyped-def]
    """A row that claims position 3, chained correctly onto row 2 and hashed correctly."""
    second = connection.execute(select(AuditEvent.row_hash).where(AuditEvent.seq == 2)).scalar()
    fields = {
        "at": connection.execute(select(AuditEvent.at).where(AuditEvent.seq == 2)).scalar(),
        "actor_login": "lsb.9",
        "action": "document.read",
        "object_type": "document",
        "object_id": "doc-alibi",
        "outcome": "ok",
        "details": {},
        "seq": 3,
        "prev_hash": second,
    }
    values = dict(fields, row_hash=row_hash(fields))
    if forged_id is not None:
        values["id"] = forged_id
    connection.execute(AuditEvent.__table__.insert().values(**values))
    return connection.execute(
        select(AuditEvent.id).where(AuditEvent.object_id == "doc-alibi")
    ).scalar_one()


@pytest.mark.parametrize("tampering", ["changed", "deleted", "inserted", "inserted-first"])
def test_verify_names_the_first_broken_row(
    database_url: str, tmp_path: Path, tampering: str
) -> None:
    engine, sessions = migrated_sessions(database_url)
    record_reads(sessions, 5)
    ids = {seq: row_id for row_id, seq, _, _ in chain(engine)}
    with engine.begin() as connection:
        _lift_guards(connection, engine.dialect.name)
        if tampering == "changed":
            connection.execute(
                AuditEvent.__table__.update()
                .where(AuditEvent.seq == 3)
                .values(actor_login="jemand.anders")
            )
            expected = f"Eintrag {ids[3]} (Nr. 3): Inhalt verändert"
        elif tampering == "deleted":
            connection.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 3))
            expected = f"vor Eintrag {ids[4]} (Nr. 4) fehlt Nr. 3"
        else:
            # The forged row sorts after the genuine one, or (with the lowest id) before it.
            forged = _forge_third_row(connection, 0 if tampering == "inserted-first" else None)
            expected = f"Eintrag {forged} (Nr. 3): nachträglich eingefügt"
    engine.dispose()

    result = verify_command(tmp_path, database_url)
    assert result.returncode == 1
    assert "Prüfkette gebrochen" in result.stderr
    assert expected in result.stderr, result.stderr


def test_a_row_changed_without_its_hash_is_found_in_every_field(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    record_reads(sessions, 3)
    for column, value in (
        ("at", "2020-01-01 00:00:00"),
        ("outcome", "denied"),
        ("details", '{"seite": 2}'),
        ("client_ip", "10.0.0.1"),
        ("prev_hash", GENESIS_HASH),
    ):
        with engine.begin() as connection:
            _lift_guards(connection, engine.dialect.name)
            connection.execute(
                text(f"UPDATE audit_events SET {column} = :value WHERE seq = 2"), {"value": value}
            )
            report = verify_chain(make_session_factory(engine)(bind=connection))
            assert report.first_break is not None, column
            assert (report.first_break.kind, report.first_break.seq) == ("changed", 2), column
            connection.rollback()
    engine.dispose()


def test_migration_chains_the_rows_already_in_the_log(database_url: str) -> None:
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        for number in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor_login, action, outcome, details)"
                    " VALUES (:at, :login, 'document.read', 'ok', :details)"
                ),
                {
                    "at": f"2026-0{number}-01 08:00:00",
                    "login": f"lsb.{number}",
                    "details": f'{{"seite": {number}, "wer": "Müller"}}',
                },
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    sessions = make_session_factory(engine)
    record_reads(sessions, 1)
    with transaction(sessions) as session:
        report = verify_chain(session)
        logins = session.scalars(select(AuditEvent.actor_login).order_by(AuditEvent.seq)).all()
    assert report.intact and report.rows == 4
    assert logins == ["lsb.1", "lsb.2", "lsb.3", "lsb.1"]
    # The append-only triggers are back after the chaining pass.
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_events"))
    engine.dispose()


@pytest.mark.services
def test_concurrent_transactions_never_chain_onto_one_predecessor(postgres_url: str) -> None:
    engine, sessions = migrated_sessions(postgres_url)
    threads, per_thread = 8, 15
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def audited_requests(worker: int) -> None:
        try:
            start.wait()
            for number in range(per_thread):
                with transaction(sessions) as session:
                    audit.record(session, None, "document.read", actor_login=f"w{worker}")
                    session.execute(select(AuditEvent.id).limit(1)).all()
                    audit.record(session, None, "document.page", actor_login=f"w{number}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    workers = [threading.Thread(target=audited_requests, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    with transaction(sessions) as session:
        report = verify_chain(session)
    assert report.intact and report.rows == threads * per_thread * 2
    assert [seq for _, seq, _, _ in chain(engine)] == list(range(1, report.rows + 1))
    engine.dispose()


def _recompute_from(connection, seq: int) -> None:  # type: ignore[no-untyped-def]
    """An attacker who knows the algorithm rewrites every hash from `seq` on."""
    names = [c.key for c in AuditEvent.__table__.columns if c.key not in ("id", "row_hash")]
    rows = connection.execute(
        select(AuditEvent.__table__).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)
    ).all()
    previous = connection.execute(
        select(AuditEvent.row_hash).where(AuditEvent.seq == seq - 1)
    ).scalar_one()
    for row in rows:
        fields = {name: getattr(row, name) for name in names}
        fields["prev_hash"] = previous
        previous = row_hash(fields)
        connection.execute(
            AuditEvent.__table__.update()
            .where(AuditEvent.id == row.id)
            .values(prev_hash=fields["prev_hash"], row_hash=previous)
        )


@pytest.mark.parametrize("tampering", ["cut-off-end", "recomputed"])
def test_a_noted_head_finds_what_the_chain_alone_cannot(
    database_url: str, tmp_path: Path, tampering: str
) -> None:
    engine, sessions = migrated_sessions(database_url)
    record_reads(sessions, 5)
    intact = verify_command(tmp_path, database_url)
    assert intact.returncode == 0, intact.stderr
    [noted] = [line.rsplit(" ", 1)[1] for line in intact.stdout.splitlines() if "--notiert" in line]
    assert noted.startswith("5:")
    with engine.begin() as connection:
        _lift_guards(connection, engine.dialect.name)
        if tampering == "cut-off-end":
            connection.execute(AuditEvent.__table__.delete().where(AuditEvent.seq >= 4))
            expected = "Eintrag Nr. 5 fehlt: am Ende entfernt"
        else:
            connection.execute(
                AuditEvent.__table__.update()
                .where(AuditEvent.seq == 3)
                .values(actor_login="jemand.anders")
            )
            _recompute_from(connection, 3)
            expected = "(Nr. 5) hat nicht mehr den notierten Hash"
    engine.dispose()

    assert verify_command(tmp_path, database_url).returncode == 0  # looks intact on its own
    result = verify_command(tmp_path, database_url, "--notiert", noted)
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr

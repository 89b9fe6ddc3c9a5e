"""The audit log keeps its rows for its own period; `eakte audit prune` is the one way they go,
and the chain stays verifiable from the prune's anchor (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import make_engine, make_session_factory, transaction, utcnow
from core.errors import Conflict
from records.audit_chain import verify_chain
from records.db_roles import migrate_database
from records.housekeeping import PRUNE_ACTION, prune_audit_log
from records.models import AuditEvent, AuditPrune
from tests.support import cli_env, make_settings, run_cli


@dataclass
class Log:
    settings: Settings
    runtime: Engine  # the product's role (on PostgreSQL the least-privilege runtime role)
    owner: Engine  # the schema's owner: what an attacker with full rights would use
    sessions: sessionmaker[Session]
    url: str


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.services),
        # Without a runtime role of its own: the owner runs the product (and the prune).
        pytest.param("postgresql-owner", marks=pytest.mark.services),
    ]
)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    if request.param == "sqlite":
        url = owner_url = f"sqlite:///{tmp_path / 'eakte.db'}"
        settings = make_settings(tmp_path / "data", database_url=url)
    elif request.param == "postgresql-owner":
        url = owner_url = request.getfixturevalue("postgres_url")
        settings = make_settings(tmp_path / "data", database_url=url)
    else:
        owner_url = request.getfixturevalue("postgres_url")
        url = request.getfixturevalue("postgres_runtime_url")
        settings = make_settings(
            tmp_path / "data", database_url=url, migration_database_url=owner_url
        )
    runtime = make_engine(url)
    migrate_database(settings, runtime)
    owner = make_engine(owner_url)
    try:
        yield Log(settings, runtime, owner, make_session_factory(runtime), url)
    finally:
        runtime.dispose()
        owner.dispose()


YEARS_AGO = 3


def write_rows(log: Log, *ages_in_years: int) -> None:
    """One committed audit row per age, in this order (the chain's order)."""
    now = utcnow()
    for number, years in enumerate(ages_in_years, start=1):
        with transaction(log.sessions) as session:
            session.add(
                AuditEvent(
                    at=now - timedelta(days=365 * years + 1) if years else now,
                    actor_login=f"lsb.{number}",
                    action="document.read",
                    object_type="document",
                    object_id=f"doc-{number}",
                    bg_number="12345BG0000001",
                    outcome="ok",
                    details={"seite": number},
                )
            )


def seqs(log: Log) -> list[int]:
    with log.runtime.connect() as connection:
        return list(connection.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars())


def lift_guards(log: Log, connection: Connection) -> None:
    """What an attacker with the owner's rights does first."""
    if log.owner.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")


def tamper(log: Log, seq: int) -> None:
    with log.owner.begin() as connection:
        lift_guards(log, connection)
        connection.execute(
            AuditEvent.__table__.update()
            .where(AuditEvent.seq == seq)
            .values(actor_login="jemand.anders")
        )


def test_prune_removes_the_old_prefix_only_and_the_chain_still_verifies(log: Log) -> None:
    # Row 4 is old too, but row 3 (younger) comes before it: no hole is ever cut.
    write_rows(log, YEARS_AGO, YEARS_AGO, 0, YEARS_AGO, 0)

    report = prune_audit_log(log.sessions, log.settings, by_login="admin")

    assert (report.removed, report.up_to_seq) == (2, 2)
    assert seqs(log) == [3, 4, 5, 6]  # 6: the prune's own audit row
    with transaction(log.sessions, read_only=True) as session:
        chain = verify_chain(session)
        assert chain.intact, chain.first_break
        assert chain.rows == 4
        anchor = session.scalars(select(AuditPrune)).one()
        assert (anchor.up_to_seq, anchor.row_count, anchor.by_login) == (2, 2, "admin")
        pruned = session.scalars(select(AuditEvent).where(AuditEvent.action == PRUNE_ACTION)).one()
        assert pruned.seq == 6 and pruned.actor_login == "admin"
        assert pruned.details["removed"] == 2 and pruned.details["up_to_seq"] == 2

    # Again: row 3 is still young, nothing more goes, nothing is audited.
    assert prune_audit_log(log.sessions, log.settings).removed == 0
    assert seqs(log) == [3, 4, 5, 6]


def test_a_prune_of_every_row_goes_on_from_the_anchor(log: Log) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO)
    assert prune_audit_log(log.sessions, log.settings).removed == 2
    write_rows(log, 0)
    assert seqs(log) == [3, 4]  # the prune's row is chained onto the anchor, not the genesis
    with transaction(log.sessions, read_only=True) as session:
        assert verify_chain(session).intact


@pytest.mark.parametrize("seq", [3, 4])
def test_a_changed_row_is_still_found_after_a_prune(log: Log, seq: int) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0, YEARS_AGO)
    prune_audit_log(log.sessions, log.settings)
    tamper(log, seq)  # 3: the first row after the anchor
    with transaction(log.sessions, read_only=True) as session:
        chain = verify_chain(session)
    assert chain.first_break is not None
    assert chain.first_break.kind == "changed" and chain.first_break.seq == seq


def test_rows_younger_than_the_period_stay(log: Log) -> None:
    write_rows(log, 1, 0)  # one year: the default period is two
    assert prune_audit_log(log.sessions, log.settings).removed == 0
    assert seqs(log) == [1, 2]


def test_a_broken_chain_is_not_pruned(log: Log) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0)
    tamper(log, 1)
    with pytest.raises(Conflict, match="Kette gebrochen|gebrochen"):
        prune_audit_log(log.sessions, log.settings)
    assert seqs(log) == [1, 2, 3]


def delete_rows(log: Log, up_to: int, after: int = 0) -> None:
    with log.owner.begin() as connection:
        lift_guards(log, connection)
        connection.execute(
            AuditEvent.__table__.delete().where(AuditEvent.seq > after, AuditEvent.seq <= up_to)
        )


def test_rows_removed_without_a_prune_are_still_reported_missing(log: Log) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0)
    delete_rows(log, 2)
    with transaction(log.sessions, read_only=True) as session:
        chain = verify_chain(session)
    assert chain.first_break is not None and chain.first_break.kind == "missing"
    assert "fehlt Nr. 1 bis 2" in chain.first_break.message


def test_rows_removed_after_the_anchor_are_reported_missing(log: Log) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0, 0, 0)
    prune_audit_log(log.sessions, log.settings)
    delete_rows(log, 4, after=2)
    with transaction(log.sessions, read_only=True) as session:
        chain = verify_chain(session)
    assert chain.first_break is not None and chain.first_break.kind == "missing"
    assert "fehlt Nr. 3 bis 4" in chain.first_break.message


def test_a_head_noted_before_the_prune_still_verifies(log: Log) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0)
    with transaction(log.sessions, read_only=True) as session:
        before = verify_chain(session)
    write_rows(log, 0)
    prune_audit_log(log.sessions, log.settings)
    with transaction(log.sessions, read_only=True) as session:
        # Row 3 (the noted head) is still there; a noted row 2 went with the prune.
        assert verify_chain(session, (before.head_seq, before.head_hash)).intact
        after = verify_chain(session)
        assert verify_chain(session, (after.head_seq, after.head_hash)).intact
        assert not verify_chain(session, (after.head_seq, "f" * 64)).intact


def test_the_command_prunes_and_verify_passes_from_the_anchor(log: Log, tmp_path: Path) -> None:
    write_rows(log, YEARS_AGO, YEARS_AGO, 0)
    env = cli_env(tmp_path / "cli-data", EAKTE_DATABASE_URL=log.url)
    if log.settings.migration_database_url:
        env["EAKTE_MIGRATION_DATABASE_URL"] = log.settings.migration_database_url
    pruned = run_cli(env, "audit", "prune", timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    assert "2 Einträge bis Nr. 2 gelöscht" in pruned.stdout
    verified = run_cli(env, "audit", "verify", timeout=120)
    assert verified.returncode == 0, verified.stderr
    assert "Prüfkette intakt: 2 Einträge" in verified.stdout
    assert "Beginnt nach Nr. 2" in verified.stdout


@pytest.mark.services
def test_the_runtime_role_still_cannot_delete_or_forge_an_anchor(
    postgres_url: str, postgres_runtime_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "data", database_url=postgres_runtime_url, migration_database_url=postgres_url
    )
    runtime = make_engine(postgres_runtime_url)
    try:
        migrate_database(settings, runtime)
        log = Log(settings, runtime, runtime, make_session_factory(runtime), postgres_runtime_url)
        write_rows(log, YEARS_AGO, 1, 0)
        for attack in (
            "DELETE FROM audit_events",
            "INSERT INTO audit_prunes (up_to_seq, last_hash, row_count, older_than, at)"
            " VALUES (1, repeat('0', 64), 1, now(), now())",
            "DELETE FROM audit_prunes",
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
        ):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                with runtime.begin() as connection:
                    connection.exec_driver_sql(attack)
        # The function deletes nothing younger than its period, whatever the caller asks.
        with pytest.raises(DBAPIError, match=r"not all older than .* \(2 years\)"):
            with runtime.begin() as connection:
                connection.execute(text("SELECT eakte_audit_prune(2, now(), 'x')"))
        assert seqs(log) == [1, 2, 3]
        assert prune_audit_log(log.sessions, settings).removed == 1
        assert seqs(log) == [2, 3, 4]
    finally:
        runtime.dispose()

"""PostgreSQL least privilege: the product runs as a role that cannot rewrite the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.runtime import build_runtime
from core.db import make_engine, transaction
from core.errors import ConfigurationError
from records.audit_chain import verify_chain
from records.db_roles import grant_runtime_role
from records.models import AuditEvent
from records.schema import migrate
from tests.support import (
    cli_env,
    client_for,
    load_people,
    make_settings,
    run_cli,
)

pytestmark = pytest.mark.services

CASEWORKER = "lsb.95401.2"
OWN = "95401BG1231743"  # a household of CASEWORKER

ATTACKS = [
    "UPDATE audit_events SET actor_login = 'jemand.anders'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "DROP INDEX ix_audit_events_seq",
    "DROP TABLE audit_events",
    "UPDATE alembic_version SET version_num = 'x'",
]


def test_runtime_role_may_only_append_to_the_audit_log_while_the_product_works(
    postgres_url: str, postgres_runtime_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "data",
        database_url=postgres_runtime_url,
        migration_database_url=postgres_url,
    )
    runtime = build_runtime(settings)
    try:
        load_people(runtime)
        caseworker = client_for(runtime, CASEWORKER)
        assert caseworker.get(f"/api/households/{OWN}/file").status_code == 200
        assert caseworker.get("/api/search", params={"q": "Miete"}).status_code == 200
        with transaction(runtime.sessions) as session:
            actions = set(session.scalars(select(AuditEvent.action)))
            assert {"auth.login", "household.read", "search"} <= actions
            assert verify_chain(session).intact

        for attack in ATTACKS:
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                with runtime.engine.begin() as connection:
                    connection.exec_driver_sql(attack)
        with runtime.engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar() == "eakte_app"
    finally:
        runtime.close()

    # Web app and workers run without the owner's URL: the migration is then a no-op.
    again = build_runtime(make_settings(tmp_path / "data", database_url=postgres_runtime_url))
    try:
        assert client_for(again, CASEWORKER).get(f"/api/households/{OWN}/file").status_code == 200
    finally:
        again.close()


def test_tables_of_later_migrations_follow_the_default_privileges(
    postgres_url: str, postgres_runtime_url: str
) -> None:
    owner = make_engine(postgres_url)
    migrate(owner)
    grant_runtime_role(owner, "eakte_app")
    with owner.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE later_table (id serial PRIMARY KEY, x text)")
    runtime = make_engine(postgres_runtime_url)
    with runtime.begin() as connection:
        connection.exec_driver_sql("INSERT INTO later_table (x) VALUES ('a')")
        connection.exec_driver_sql("UPDATE later_table SET x = 'b'")
        connection.exec_driver_sql("DELETE FROM later_table")
    runtime.dispose()
    owner.dispose()


def test_the_owner_or_a_member_of_it_is_refused_as_runtime_role(postgres_url: str) -> None:
    owner = make_engine(postgres_url)
    migrate(owner)
    with pytest.raises(ConfigurationError, match="weder Superuser noch Eigentümerin"):
        grant_runtime_role(owner, owner.url.username or "")
    with pytest.raises(ConfigurationError, match="gibt es nicht"):
        grant_runtime_role(owner, "niemand_hier")
    owner.dispose()


def test_grant_runtime_command_gives_the_runtime_role_its_rights(
    postgres_url: str, postgres_runtime_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        tmp_path / "data",
        EAKTE_DATABASE_URL=postgres_runtime_url,
        EAKTE_MIGRATION_DATABASE_URL=postgres_url,
    )
    runtime = make_engine(postgres_runtime_url)
    result = run_cli(env, "db", "grant-runtime", "eakte_app", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Rechte für eakte_app gesetzt" in result.stdout
    with runtime.begin() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM users")
    with pytest.raises(DBAPIError, match="permission denied"):
        with runtime.begin() as connection:
            connection.exec_driver_sql("DELETE FROM audit_events")
    runtime.dispose()

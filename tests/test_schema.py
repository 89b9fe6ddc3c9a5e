"""The schema is built by the migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from core.db import transaction
from records import audit
from records.models import AuditEvent, Base
from tests.support import migrated_sessions


def test_migrations_build_every_table_of_the_models(database_url: str) -> None:
    engine, _ = migrated_sessions(database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    engine.dispose()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine, _ = migrated_sessions(database_url)
    from records.schema import migrate

    migrate(engine)
    from alembic.script import ScriptDirectory

    from records.schema import MIGRATIONS_DIR

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()


def test_audit_log_is_append_only(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    with transaction(sessions) as session:
        audit.record(session, None, "document.read", actor_login="lsb.1", object_id="x")
    for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with transaction(sessions) as session:
                session.execute(text(statement))
    with transaction(sessions) as session:
        [event] = session.query(AuditEvent).all()
        assert (event.action, event.actor_login) == ("document.read", "lsb.1")
    engine.dispose()


def test_migrations_and_models_describe_the_same_schema(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine, _ = migrated_sessions(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()

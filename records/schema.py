"""The schema of the domain's tables, brought to the newest revision by the Alembic migrations
in records/migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision with the Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Web app and workers may start together; one migrates, the others wait for it.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(720417)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

"""Least privilege on PostgreSQL: an owner role migrates, a runtime role runs the product.

The runtime role reads and writes the business tables, but may only insert and read the audit
log, reads the schema version and owns nothing; so it can neither rewrite the audit log nor
drop its append-only triggers. Default privileges make tables of later migrations follow.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from core.config import Settings
from core.db import make_engine
from core.errors import ConfigurationError
from records.housekeeping import PRUNE_FUNCTION, create_prune_function
from records.schema import migrate

# The lock records.schema.migrate takes: grants never run beside a migration or each other
# (concurrent GRANTs on one table fail with "tuple concurrently updated").
_MIGRATION_LOCK = 720417
AUDIT_TABLE = "audit_events"
# audit_prunes: the anchors from which the chain is verified; only the owner's prune function
# (records.housekeeping) writes them.
READ_ONLY_TABLES = ("alembic_version", "audit_prunes")


def migrate_database(settings: Settings, engine: Engine) -> None:
    """Bring the schema up to date: with the owner's URL when one is set, and then grant the
    runtime role of `engine` its privileges."""
    if not settings.migration_database_url:
        migrate(engine)
        return
    owner = make_engine(settings.migration_database_url)
    try:
        migrate(owner)
        runtime_role = engine.url.username
        if owner.dialect.name == "postgresql" and runtime_role != owner.url.username:
            if not runtime_role:
                raise ConfigurationError("EAKTE_DATABASE_URL nennt keinen Datenbankbenutzer")
            grant_runtime_role(owner, runtime_role, settings.audit_retention_years)
    finally:
        owner.dispose()


def grant_runtime_role(owner: Engine, role: str, audit_retention_years: int = 2) -> None:
    """Grant `role` what the product needs at run time, run as the owner of the schema.

    The audit log's rows leave it only through the owner's prune function, which deletes no
    row younger than `audit_retention_years` (records.housekeeping); `role` may call it."""
    if owner.dialect.name != "postgresql":
        raise ConfigurationError("Datenbankrollen gibt es nur mit PostgreSQL")
    with owner.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        _refuse_powerful_role(connection, role)
        quote = connection.dialect.identifier_preparer.quote
        grantee = quote(role)
        database = quote(connection.execute(text("SELECT current_database()")).scalar_one())
        schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
        for statement in (
            f"GRANT CONNECT ON DATABASE {database} TO {grantee}",
            f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
            f" GRANT USAGE, SELECT ON SEQUENCES TO {grantee}",
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {AUDIT_TABLE} FROM {grantee}",
            *(
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table}"
                f" FROM {grantee}"
                for table in READ_ONLY_TABLES
            ),
        ):
            connection.exec_driver_sql(statement)
        create_prune_function(connection, audit_retention_years)
        connection.exec_driver_sql(
            f"GRANT EXECUTE ON FUNCTION {PRUNE_FUNCTION}(bigint, timestamptz, text) TO {grantee}"
        )


def _refuse_powerful_role(connection: Connection, role: str) -> None:
    found = connection.execute(
        text(
            "SELECT r.rolsuper OR r.rolbypassrls AS powerful,"
            " pg_has_role(r.oid, t.tableowner, 'MEMBER') AS owner"
            " FROM pg_roles r LEFT JOIN pg_tables t"
            " ON t.tablename = :table AND t.schemaname = current_schema()"
            " WHERE r.rolname = :role"
        ),
        {"role": role, "table": AUDIT_TABLE},
    ).first()
    if found is None:
        raise ConfigurationError(f"Die Datenbankrolle {role} gibt es nicht")
    if found.powerful or found.owner:
        raise ConfigurationError(
            f"Die Laufzeitrolle {role} darf weder Superuser noch Eigentümerin des Schemas sein"
        )

"""Alembic environment: migrations run on the connection the product hands over."""

from alembic import context
from sqlalchemy import Connection

from core.config import get_settings
from core.db import make_engine
from records.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(get_settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)

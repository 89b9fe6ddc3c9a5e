"""audit log hash chain, client address and user agent

Every audit row gets its position (`seq`), its predecessor's hash and its own
(records/audit_chain.py); rows already in the log are chained in id order. The append-only
triggers are lifted for that one pass and put back.

Revision ID: 0007_audit
Revises: 0007_requests
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
from records.audit_chain import GENESIS_HASH, row_hash

revision: str = "0007_audit"
down_revision: str | None = "0007_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAIN_COLUMNS = ("seq", "prev_hash", "row_hash")

# The table as this revision knows it, so that later model changes do not change this pass.
audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("at", core.db.UTCDateTime(timezone=True)),
    sa.column("actor_login", sa.String()),
    sa.column("on_behalf_of_login", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("bg_number", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("client_ip", sa.String()),
    sa.column("user_agent", sa.String()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # client_ip and user_agent came with 0007_gate; they are part of the hash from here on.
    op.add_column("audit_events", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("row_hash", sa.String(length=64), nullable=True))

    if postgresql:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    _chain_existing_rows()
    if postgresql:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
        for name in CHAIN_COLUMNS:
            op.alter_column("audit_events", name, nullable=False)
    else:
        # SQLite sets NOT NULL by copying the table, which drops its triggers: put them back.
        with op.batch_alter_table("audit_events", recreate="always") as batch_op:
            for name in CHAIN_COLUMNS:
                batch_op.alter_column(name, nullable=False)
        _sqlite_append_only_triggers()
    op.create_index("ix_audit_events_seq", "audit_events", ["seq"], unique=True)


def _chain_existing_rows() -> None:
    connection = op.get_bind()
    names = [c.name for c in audit_events.columns if c.name not in ("id", "row_hash")]
    previous = GENESIS_HASH
    rows = connection.execute(sa.select(audit_events).order_by(audit_events.c.id)).all()
    for seq, row in enumerate(rows, start=1):
        fields = {name: getattr(row, name) for name in names}
        fields.update(seq=seq, prev_hash=previous)
        digest = row_hash(fields)
        connection.execute(
            audit_events.update()
            .where(audit_events.c.id == row.id)
            .values(seq=seq, prev_hash=previous, row_hash=digest)
        )
        previous = digest


def _sqlite_append_only_triggers() -> None:
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_audit_events_seq", table_name="audit_events")
    if postgresql:
        for name in ("row_hash", "prev_hash", "seq"):
            op.drop_column("audit_events", name)
        return
    op.execute("DROP TRIGGER audit_events_no_update")
    op.execute("DROP TRIGGER audit_events_no_delete")
    with op.batch_alter_table("audit_events", recreate="always") as batch_op:
        for name in ("row_hash", "prev_hash", "seq"):
            batch_op.drop_column(name)
    _sqlite_append_only_triggers()

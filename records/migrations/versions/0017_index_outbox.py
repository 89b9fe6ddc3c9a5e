"""index outbox: index entries still to be written (issue 20)

Revision ID: 0017_index_outbox
Revises: 0016_requests
Create Date: 2026-12-07 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0017_index_outbox"
down_revision: str | None = "0016_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "index_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("queued_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_try", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('document', 'file_note')", name=op.f("ck_index_outbox_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_outbox")),
    )
    with op.batch_alter_table("index_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_index_outbox_due", ["next_try", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("index_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_index_outbox_due")
    op.drop_table("index_outbox")

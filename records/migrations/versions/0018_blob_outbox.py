"""blob outbox: blobs a committed change names, still to be stored (issue 20)

Revision ID: 0018_blob_outbox
Revises: 0017_index_outbox
Create Date: 2026-12-08 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0018_blob_outbox"
down_revision: str | None = "0017_index_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blob_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("queued_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_try", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_outbox")),
    )
    with op.batch_alter_table("blob_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_blob_outbox_due", ["next_try", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("blob_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_blob_outbox_due")
    op.drop_table("blob_outbox")

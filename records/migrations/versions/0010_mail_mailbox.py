"""function mailbox: messages taken from IMAP, each once

Revision ID: 0010_mail
Revises: 0007_audit
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0010_mail"
down_revision: str | None = "0007_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=300), nullable=False),
        sa.Column("message_key", sa.String(length=80), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("sender", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("taken_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'quarantined')", name=op.f("ck_mailbox_messages_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_mailbox_messages_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_messages")),
        sa.UniqueConstraint(
            "mailbox", "message_key", name=op.f("uq_mailbox_messages_mailbox_message_key")
        ),
    )
    with op.batch_alter_table("mailbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mailbox_messages_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mailbox_messages_taken_at"), ["taken_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mailbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_messages_taken_at"))
        batch_op.drop_index(batch_op.f("ix_mailbox_messages_batch_id"))
    op.drop_table("mailbox_messages")

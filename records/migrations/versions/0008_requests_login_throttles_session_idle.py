"""login throttles and the last request of a login session

Revision ID: 0007_requests
Revises: 0006
Create Date: 2026-12-06 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0007_requests"
down_revision: str | None = "0007_gate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('account', 'address')", name=op.f("ck_login_throttles_kind")
        ),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_login_throttles")),
    )
    op.create_index(
        op.f("ix_login_throttles_last_failed_at"),
        "login_throttles",
        ["last_failed_at"],
        unique=False,
    )
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(
            sa.Column("last_seen_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Sessions open at the upgrade have none; their idle time counts from their login.


def downgrade() -> None:
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("last_seen_at")
    op.drop_index(op.f("ix_login_throttles_last_failed_at"), table_name="login_throttles")
    op.drop_table("login_throttles")

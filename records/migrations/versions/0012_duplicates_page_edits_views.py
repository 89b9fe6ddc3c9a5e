"""duplicates, page editing lineage, discarded documents, saved views

Revision ID: 0012_workplace
Revises: 0011_identity
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0012_workplace"
down_revision: str | None = "0011_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("text_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("derived_from_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("discarded_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("discarded_by_login", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("discard_reason", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_documents_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_documents_text_fingerprint"), ["text_fingerprint"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_duplicate_of_id_documents"),
            "documents",
            ["duplicate_of_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_derived_from_id_documents"),
            "documents",
            ["derived_from_id"],
            ["id"],
        )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint(
            "user_id", "page", "name", name=op.f("uq_saved_views_user_id_page_name")
        ),
    )
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_views_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_views_user_id"))
    op.drop_table("saved_views")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_documents_derived_from_id_documents"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_documents_duplicate_of_id_documents"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_documents_text_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_documents_duplicate_of_id"))
        batch_op.drop_column("discard_reason")
        batch_op.drop_column("discarded_by_login")
        batch_op.drop_column("discarded_at")
        batch_op.drop_column("derived_from_id")
        batch_op.drop_column("text_fingerprint")
        batch_op.drop_column("duplicate_kind")
        batch_op.drop_column("duplicate_of_id")

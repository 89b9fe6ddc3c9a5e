"""file exports and appeal status

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:43:49.914517
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('file_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=True),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('legal_basis', sa.String(length=30), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('blob_key', sa.String(length=300), nullable=False),
    sa.Column('created_by_login', sa.String(length=100), nullable=False),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("scope IN ('file', 'objection', 'appeal')", name=op.f('ck_file_exports_scope')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_file_exports_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_file_exports_household_id_households')),
    sa.ForeignKeyConstraint(['objection_id'], ['objections.id'], name=op.f('fk_file_exports_objection_id_objections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_exports'))
    )
    with op.batch_alter_table('file_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_file_exports_household_id'), ['household_id'], unique=False)

    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_by_login', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('status_at', core.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_column('status_at')
        batch_op.drop_column('status_by_login')

    with op.batch_alter_table('file_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_exports_household_id'))

    op.drop_table('file_exports')

"""objections and appeals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:11:43.464300
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=True),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('receipt_date', sa.Date(), nullable=False),
    sa.Column('proven_notification', sa.Date(), nullable=True),
    sa.Column('legal_remedy_notice_ok', sa.Boolean(), nullable=False),
    sa.Column('land', sa.String(length=5), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_by_login', sa.String(length=100), nullable=False),
    sa.Column('status_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_login', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("form IN ('schriftlich', 'zur_niederschrift', 'elektronisch')", name=op.f('ck_objections_form')),
    sa.CheckConstraint("status IN ('eingegangen', 'in_bearbeitung', 'abhilfe', 'teilabhilfe', 'zurueckgewiesen', 'zurueckgenommen')", name=op.f('ck_objections_status')),
    sa.ForeignKeyConstraint(['decision_id'], ['documents.id'], name=op.f('fk_objections_decision_id_documents')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_objections_document_id_documents')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_objections_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections')),
    sa.UniqueConstraint('document_id', name=op.f('uq_objections_document_id'))
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_household_id'), ['household_id'], unique=False)

    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=True),
    sa.Column('court', sa.String(length=200), nullable=False),
    sa.Column('file_reference', sa.String(length=60), nullable=False),
    sa.Column('parties', sa.Text(), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('court_deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_by_login', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('anhaengig', 'erledigt')", name=op.f('ck_appeals_status')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_appeals_document_id_documents')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_appeals_household_id_households')),
    sa.ForeignKeyConstraint(['objection_id'], ['objections.id'], name=op.f('fk_appeals_objection_id_objections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('document_id', name=op.f('uq_appeals_document_id'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_file_reference'), ['file_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_household_id'), ['household_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_household_id'))
        batch_op.drop_index(batch_op.f('ix_appeals_file_reference'))

    op.drop_table('appeals')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_household_id'))

    op.drop_table('objections')

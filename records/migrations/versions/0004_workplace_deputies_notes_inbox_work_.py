"""workplace: deputies, notes, inbox work, document details

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:40:15.373733
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deputies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('absent_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by_login', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('absent_id <> deputy_id', name=op.f('ck_deputies_not_self')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_deputies_period')),
    sa.ForeignKeyConstraint(['absent_id'], ['users.id'], name=op.f('fk_deputies_absent_id_users')),
    sa.ForeignKeyConstraint(['deputy_id'], ['users.id'], name=op.f('fk_deputies_deputy_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deputies'))
    )
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputies_absent_id'), ['absent_id'], unique=False)
        batch_op.create_index('ix_deputies_deputy_period', ['deputy_id', 'starts_on', 'ends_on'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Uuid(), nullable=True),
    sa.Column('author_login', sa.String(length=100), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('on_behalf_of_login', sa.String(length=100), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('household_id IS NOT NULL OR document_id IS NOT NULL', name=op.f('ck_notes_target')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_notes_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_notes_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notes_household_id'), ['household_id'], unique=False)

    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preset_household_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('preset_doc_type', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('preset_direction', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('preset_dispatch_date', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_batches_preset_household_id_households'), 'households', ['preset_household_id'], ['id'])

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('sender', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('direction', sa.String(length=10), server_default='in', nullable=False))
        batch_op.add_column(sa.Column('dispatch_date', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_documents_receipt_date'), ['receipt_date'], unique=False)

    # Documents filed before: the day of the scan, or the received stamp where one was read.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE documents SET receipt_date = COALESCE(stamp_date, "
                   "(received_at AT TIME ZONE 'Europe/Berlin')::date)")
    else:
        op.execute("UPDATE documents SET receipt_date = COALESCE(stamp_date, date(received_at))")

    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('forwarded_by_login', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('read_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('done_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('done_by_login', sa.String(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.drop_column('done_by_login')
        batch_op.drop_column('done_at')
        batch_op.drop_column('read_at')
        batch_op.drop_column('forwarded_by_login')
        batch_op.drop_column('comment')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_receipt_date'))
        batch_op.drop_column('dispatch_date')
        batch_op.drop_column('direction')
        batch_op.drop_column('sender')
        batch_op.drop_column('receipt_date')

    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_batches_preset_household_id_households'), type_='foreignkey')
        batch_op.drop_column('preset_dispatch_date')
        batch_op.drop_column('preset_direction')
        batch_op.drop_column('preset_doc_type')
        batch_op.drop_column('preset_household_id')

    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_household_id'))
        batch_op.drop_index(batch_op.f('ix_notes_document_id'))

    op.drop_table('notes')
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_index('ix_deputies_deputy_period')
        batch_op.drop_index(batch_op.f('ix_deputies_absent_id'))

    op.drop_table('deputies')

"""scan batches and renditions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:12:42.943249
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('station', sa.String(length=100), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('original_key', sa.String(length=300), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('pages_total', sa.Integer(), nullable=False),
    sa.Column('pages_done', sa.Integer(), nullable=False),
    sa.Column('pages_dropped', sa.Integer(), nullable=False),
    sa.Column('documents_count', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('received', 'processing', 'processed', 'failed')", name=op.f('ck_batches_status')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_batches_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_original_sha256'), ['original_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_received_at'), ['received_at'], unique=False)

    op.create_table('dropped_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('source_page', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.CheckConstraint("reason IN ('separator', 'blank', 'unreadable')", name=op.f('ck_dropped_pages_reason')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_dropped_pages_batch_id_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dropped_pages')),
    sa.UniqueConstraint('batch_id', 'source_page', name=op.f('uq_dropped_pages_batch_id_source_page'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('first_page', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_page', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pdf_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('pdf_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('qa_status', sa.String(length=20), nullable=False, server_default='pending')
        )
        batch_op.create_check_constraint(
            'qa_status', "qa_status IN ('pending', 'approved', 'rejected')"
        )
        batch_op.add_column(sa.Column('qa_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('qa_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('qa_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('scan_record_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('scan_record_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_documents_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_documents_batch_id_batches'), 'batches', ['batch_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_documents_qa_by_id_users'), 'users', ['qa_by_id'], ['id'])

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('created_by_login', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_jobs_batch_id_batches'), 'batches', ['batch_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_page', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dpi', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scan_dpi', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('colour', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rotation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('skew', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('image_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('image_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('thumb_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('thumb_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('words_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('words_sha256', sa.String(length=64), nullable=True))

    # Every document handed in before batches existed becomes a batch of its own.
    op.execute(
        """
        INSERT INTO batches (id, source_name, channel, content_type, size_bytes, original_key,
            original_sha256, status, pages_total, pages_done, pages_dropped, documents_count,
            uploaded_by_id, received_at)
        SELECT id, source_name, 'upload', content_type, size_bytes, original_key,
            original_sha256, status, COALESCE(page_count, 0), 0, 0, 1, uploaded_by_id, received_at
        FROM documents
        """
    )
    op.execute("UPDATE documents SET batch_id = id, first_page = 1, last_page = page_count")
    op.execute("UPDATE jobs SET batch_id = document_id, kind = 'batch' WHERE kind = 'ocr'")



def downgrade() -> None:
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_column('words_sha256')
        batch_op.drop_column('words_key')
        batch_op.drop_column('thumb_sha256')
        batch_op.drop_column('thumb_key')
        batch_op.drop_column('image_sha256')
        batch_op.drop_column('image_key')
        batch_op.drop_column('skew')
        batch_op.drop_column('rotation')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('colour')
        batch_op.drop_column('scan_dpi')
        batch_op.drop_column('dpi')
        batch_op.drop_column('source_page')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_jobs_batch_id_batches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_jobs_batch_id'))
        batch_op.drop_column('created_by_login')
        batch_op.drop_column('result')
        batch_op.drop_column('batch_id')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint('ck_documents_qa_status', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_documents_qa_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_documents_batch_id_batches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_documents_batch_id'))
        batch_op.drop_column('scan_record_sha256')
        batch_op.drop_column('scan_record_key')
        batch_op.drop_column('qa_note')
        batch_op.drop_column('qa_at')
        batch_op.drop_column('qa_by_id')
        batch_op.drop_column('qa_status')
        batch_op.drop_column('pdf_sha256')
        batch_op.drop_column('pdf_key')
        batch_op.drop_column('last_page')
        batch_op.drop_column('first_page')
        batch_op.drop_column('sequence')
        batch_op.drop_column('batch_id')

    op.drop_table('dropped_pages')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_received_at'))
        batch_op.drop_index(batch_op.f('ix_batches_original_sha256'))

    op.drop_table('batches')

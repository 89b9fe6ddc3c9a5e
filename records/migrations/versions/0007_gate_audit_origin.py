"""audit rows carry the client's address and user agent; documents held for QA

Revision ID: 0007_gate
Revises: 0006
Create Date: 2026-12-06 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_gate'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): the table's append-only triggers stay as they are.
    op.add_column('audit_events', sa.Column('client_ip', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('user_agent', sa.String(length=300), nullable=True))
    op.add_column(
        'documents',
        sa.Column('held_for_qa', sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch_op:
        batch_op.drop_column('held_for_qa')
    op.drop_column('audit_events', 'user_agent')
    op.drop_column('audit_events', 'client_ip')

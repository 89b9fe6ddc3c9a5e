"""members carry the IBAN and e-mail address of the Fachverfahren's export

Revision ID: 0011_identity
Revises: 0010_mail
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_identity"
down_revision: str | None = "0010_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("iban", sa.String(length=34), nullable=True))
    op.add_column("members", sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("iban")

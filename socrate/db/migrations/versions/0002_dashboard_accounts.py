"""dashboard accounts: users.password_hash

Revision ID: 0002d
Revises: 0001
Create Date: 2026-11-22 19:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002d"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_hash")

"""Documents from links: the address the worker fetches the page or file from.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("source_url", sa.String(2048), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "source_url")

"""Leases: the worker that claimed a run and its last heartbeat, so a dead worker's document is
re-queued within a minute instead of after ten.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("worker", sa.String(length=255), nullable=True))
    op.add_column("documents", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "heartbeat_at")
    op.drop_column("documents", "worker")

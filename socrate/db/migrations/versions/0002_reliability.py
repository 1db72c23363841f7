"""Reliability: per-tenant concurrency and retention, last error, Telegram link codes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("max_concurrent", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.create_table(
        "link_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_link_codes_tenant_id", "link_codes", ["tenant_id"])
    op.create_index("ix_link_codes_expires_at", "link_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_link_codes_expires_at", table_name="link_codes")
    op.drop_index("ix_link_codes_tenant_id", table_name="link_codes")
    op.drop_table("link_codes")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("last_error")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("retention_days")
        batch.drop_column("max_concurrent")

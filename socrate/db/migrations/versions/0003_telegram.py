"""Telegram: where each document's status message lives, and whether its final edit went out.

Revision ID: 0003
Revises: 0002d
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002d"
branch_labels = None
depends_on = None

PENDING = sa.text("telegram_chat_id IS NOT NULL AND telegram_notified_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("telegram_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("telegram_notified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_documents_telegram_pending",
        "documents",
        ["telegram_chat_id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_documents_telegram_pending", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("telegram_notified_at")
        batch.drop_column("telegram_message_id")
        batch.drop_column("telegram_chat_id")

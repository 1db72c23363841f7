"""Documents whose Telegram status message still owes its user a final edit.

The bot follows these rows rather than its own memory, so a restarted bot picks up where the
last one stopped, and ``claim_final`` makes the final message go out once however many bots run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from socrate.db.models import Document, utcnow
from socrate.documents.lifecycle import FINAL

MAX_FOLLOWED = 500


@dataclass(frozen=True)
class ChatStatus:
    document_id: str
    tenant_id: str
    chat_id: int
    message_id: int
    filename: str
    status: str
    progress: int
    message: str
    error_message: str | None
    total_chunks: int | None
    total_tokens: int | None
    pages: int | None
    language: str | None

    @property
    def final(self) -> bool:
        return self.status in FINAL


_COLUMNS = (
    Document.id,
    Document.tenant_id,
    Document.telegram_chat_id,
    Document.telegram_message_id,
    Document.filename,
    Document.status,
    Document.progress,
    Document.message,
    Document.error_message,
    Document.total_chunks,
    Document.total_tokens,
    Document.pages,
    Document.language,
)


def pending(conn: Connection) -> list[ChatStatus]:
    """Every followed document not yet given its final message, oldest first (one indexed read)."""
    stmt = (
        select(*_COLUMNS)
        .where(Document.telegram_chat_id.is_not(None), Document.telegram_notified_at.is_(None))
        .order_by(Document.created_at)
        .limit(MAX_FOLLOWED)
    )
    return [ChatStatus(*row) for row in conn.execute(stmt)]


def claim_final(conn: Connection, tenant_id: str, document_id: str) -> bool:
    """True for exactly one caller once the document is final: that caller sends the last message."""
    stmt = (
        update(Document)
        .where(
            Document.id == document_id,
            Document.tenant_id == tenant_id,
            Document.telegram_notified_at.is_(None),
            Document.status.in_(FINAL),
        )
        .values(telegram_notified_at=utcnow())
    )
    return conn.execute(stmt).rowcount == 1

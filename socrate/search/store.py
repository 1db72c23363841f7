"""A ready document's search rows: its chunks (words indexed by the database) and embedding windows.

A document has rows exactly while it is ``ready``, so search never needs to look at statuses: the
worker writes them in the transaction that marks the document ready, queuing a ready document again
removes them in the same transaction, and deleting a document or a tenant removes them (foreign keys
cascade). ``reindex`` writes them from the stored outputs of documents encoded before search moved
into the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from socrate.db.models import Chunk, Window
from socrate.encoding import Windows

# langdetect's codes -> PostgreSQL's Snowball stemmers (migration 0004 makes an unaccented socrate_* copy
# of each); any other language is indexed word for word.
LANGUAGE_CONFIGS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "fi": "finnish", "fr": "french", "hi": "hindi", "hu": "hungarian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}  # fmt: skip
SIMPLE = "socrate_simple"


def text_config(language: str | None) -> str:
    """The text search configuration for a document in ``language``."""
    name = LANGUAGE_CONFIGS.get(language or "")
    return f"socrate_{name}" if name else SIMPLE


@dataclass(frozen=True)
class Passage:
    """One chunk as stored: its text and, for PDFs, the pages it spans."""

    text: str
    page_start: int | None = None
    page_end: int | None = None


def replace_rows(
    session: Session,
    tenant_id: str,
    document_id: str,
    language: str | None,
    passages: Sequence[Passage],
    windows: Windows,
) -> None:
    """Swap the document's rows for these, in the caller's transaction (all or nothing)."""
    delete_rows(session, tenant_id, document_id)
    config = text_config(language)
    chunk_rows = [
        {"tenant_id": tenant_id, "document_id": document_id, "chunk_index": number, "text": passage.text,
         "page_start": passage.page_start, "page_end": passage.page_end, "ts_config": config}
        for number, passage in enumerate(passages)
    ]  # fmt: skip
    if not chunk_rows:
        return
    ids = session.scalars(insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True), chunk_rows).all()
    window_rows = [
        {"tenant_id": tenant_id, "document_id": document_id, "chunk_id": ids[int(chunk)],
         "char_start": int(span[0]), "char_end": int(span[1]), "embedding": vector}
        for vector, chunk, span in zip(windows.vectors, windows.chunk, windows.span, strict=True)
    ]  # fmt: skip
    if window_rows:
        session.execute(insert(Window), window_rows)


def delete_rows(session: Session, tenant_id: str, document_id: str) -> None:
    """Remove the document's rows in the caller's transaction (windows first: their partition is known
    from the tenant, while the cascade from chunks would look in every partition)."""
    session.execute(delete(Window).where(Window.tenant_id == tenant_id, Window.document_id == document_id))
    session.execute(delete(Chunk).where(Chunk.tenant_id == tenant_id, Chunk.document_id == document_id))

"""One document, looked at closely (the dashboard's document page and the API behind it): rename it,
read its passages with their pages, download the original file, encode it again.

Everything is scoped to the tenant through ``service.get``: another tenant's document is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socrate import textfields
from socrate.db.models import Chunk, Document
from socrate.documents import service
from socrate.documents.lifecycle import FINAL, Status
from socrate.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from socrate.storage import Storage
from socrate.taskqueue import DocumentQueue
from socrate.tenancy import get_owned

MAX_TITLE = 500
MAX_PASSAGES = 100


def rename(session: Session, tenant_id: str, document_id: str, title: object) -> Document:
    """A new title (what lists, answers and the bot show); the file name stays what was uploaded."""
    if not isinstance(title, str):
        raise BadRequest('"title" must be a string')
    shown = textfields.shown(textfields.refuse_controls(title, "Title"))
    if not shown:
        raise BadRequest("The title cannot be empty")
    if len(shown) > MAX_TITLE:
        raise BadRequest(f"The title must be at most {MAX_TITLE} characters")
    doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
    doc.title = shown
    session.commit()
    return doc


@dataclass(frozen=True)
class Passages:
    rows: list[dict[str, Any]]
    total: int


def passages(session: Session, tenant_id: str, document_id: str, *, limit: int, offset: int) -> Passages:
    """The ready document's passages in reading order, with their pages (PDFs); none until it is ready."""
    if not 1 <= limit <= MAX_PASSAGES or offset < 0:
        raise BadRequest(f"limit must be 1-{MAX_PASSAGES} and offset at least 0")
    doc = service.get(session, tenant_id, document_id)
    mine = (Chunk.tenant_id == tenant_id, Chunk.document_id == doc.id)
    total = session.scalar(select(func.count()).select_from(Chunk).where(*mine)) or 0
    found = session.scalars(
        select(Chunk).where(*mine).order_by(Chunk.chunk_index).limit(limit).offset(offset)
    )
    rows = [{"chunk_index": c.chunk_index, "text": c.text, "page_start": c.page_start, "page_end": c.page_end}
            for c in found]  # fmt: skip
    return Passages(rows, total)


@dataclass(frozen=True)
class Original:
    path: Path
    download_name: str
    content_type: str


def original(session: Session, tenant_id: str, document_id: str, *, storage: Storage) -> Original:
    """The file as it was uploaded (a link's download once fetched)."""
    doc = service.get(session, tenant_id, document_id)
    if not doc.storage_key:
        raise Conflict("This link has not been downloaded yet")
    try:
        path = storage.local_file(doc.storage_key)
    except FileNotFoundError:
        raise NotFound("The original file is missing from storage") from None
    return Original(path, doc.filename, doc.content_type or "application/octet-stream")


def reencode(session: Session, tenant_id: str, document_id: str, *, queue: DocumentQueue) -> Document:
    """Encode a finished document again from its original (after a new encoder or chunking, say); a
    ready one leaves search until the new run is ready."""
    doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
    if doc.status not in FINAL:
        raise Conflict("This document is still being processed: cancel it first, or wait")
    if doc.status != Status.READY:
        return service.retry(session, tenant_id, doc.id, queue=queue)
    doc.attempts = 0
    if not service.requeue(session, doc, queue, "Queued to be encoded again"):  # recovery sends it later
        raise ServiceUnavailable(
            "The job queue is unavailable: the document stays queued and is sent when it is back"
        )
    return doc

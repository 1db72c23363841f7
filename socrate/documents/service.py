"""The document service: create (validate, store, queue), status, details, list, delete."""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from socrate import logs, textfields
from socrate.accounts import apikeys
from socrate.config import Settings
from socrate.db.models import DOCUMENT_SOURCES, Document, Tenant, iso, utcnow
from socrate.documents import lifecycle, quotas
from socrate.documents.lifecycle import ACTIVE, Status, Transition
from socrate.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, Unauthorized
from socrate.integrations import webhooks
from socrate.ops import metrics
from socrate.processing import filetypes
from socrate.search import store
from socrate.storage import Storage
from socrate.taskqueue import DocumentQueue
from socrate.tenancy import get_key_and_owned_columns, get_owned, get_owned_columns, select_owned

log = logging.getLogger(__name__)
MAX_LIST_LIMIT = 200
MAX_LIST_OFFSET = 1_000_000_000  # beyond any tenant's quota; PostgreSQL's OFFSET is a 64-bit integer
QUEUED_MESSAGE = "Document uploaded and queued for processing"
DUPLICATE_MESSAGE = "Already in your library as {filename}: nothing new was stored"
KEPT = (Status.QUEUED, Status.PROCESSING, Status.READY)  # a failed or cancelled copy is no reason to refuse
MIN_PREFIX = 8
_ID_CHARS = set("0123456789abcdef-")


@dataclass(frozen=True)
class Created:
    """What an upload became: a new document, or (``duplicate``) the tenant's existing one with the
    same content, in which case nothing was stored or queued."""

    document: Document
    duplicate: bool = False
    queued_message: str = QUEUED_MESSAGE

    @property
    def message(self) -> str:
        return (
            DUPLICATE_MESSAGE.format(filename=self.document.filename)
            if self.duplicate
            else self.queued_message
        )


@dataclass(frozen=True)
class Upload:
    """An incoming file as any adapter (web form, API, Telegram) hands it over."""

    filename: str
    stream: IO[bytes]
    title: str | None = None


def create(
    session: Session,
    tenant_id: str,
    upload: Upload,
    *,
    source: str,
    storage: Storage,
    queue: DocumentQueue,
    settings: Settings,
    chat: tuple[int, int] | None = None,
    allow_duplicate: bool = False,
) -> Created:
    """Validate, store, commit the row, then queue; on any failure nothing is left behind.

    A file the tenant already has (same SHA-256, queued, processing or ready) is not stored again:
    the existing document comes back as a duplicate, unless ``allow_duplicate``. ``chat`` is the
    Telegram (chat id, message id) whose status message follows a new document.
    """
    if source not in DOCUMENT_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    title = textfields.shown(textfields.refuse_controls(upload.title or "", "Title"))[:500]
    filename = filetypes.clean_filename(upload.filename or "")
    if not filename:
        raise BadRequest("No file was uploaded (multipart field 'file')")
    kind = filetypes.kind_from_name(filename)
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise BadRequest("Unknown tenant")
    quotas.check_count(session, tenant)
    session.rollback()  # no connection held while the bytes stream to storage (checked again below)

    stored = storage.save_stream(tenant_id, upload.stream, settings.max_upload_bytes)
    doc_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    final_key = f"{storage.document_prefix(tenant_id, doc_id)}/original.{kind}"
    try:
        filetypes.confirm_kind(kind, stored.head, lambda: storage.local_file(stored.temp_key))
        session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
        if not allow_duplicate and (existing := _same_content(session, tenant_id, stored.sha256)) is not None:
            session.commit()  # releases the tenant's lock; nothing was written
            session.refresh(existing)  # loaded now: adapters read it after their session closes
            storage.delete(stored.temp_key)
            log.info("duplicate upload", extra=logs.fields(tenant_id=tenant_id, document_id=existing.id))
            return Created(existing, duplicate=True)
        quotas.check_count(session, tenant)
        quotas.check_bytes(session, tenant, stored.size)
        now = utcnow()
        doc = Document(
            id=doc_id,
            tenant_id=tenant_id,
            title=title or filename,
            filename=filename[:500],
            source=source,
            content_type=filetypes.CONTENT_TYPES[kind],
            file_kind=kind,
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=final_key,
            created_at=now,
            **lifecycle.queued(task_id, "Waiting for a worker", now),
        )
        if chat is not None:
            doc.telegram_chat_id, doc.telegram_message_id = chat
        storage.move(stored.temp_key, final_key)
        session.add(doc)
        session.commit()
    except BaseException as exc:
        session.rollback()
        storage.delete(stored.temp_key)
        storage.delete(storage.document_prefix(tenant_id, doc_id))
        if isinstance(exc, SQLAlchemyError):
            raise ServiceUnavailable("The database is unavailable; please retry shortly") from exc
        raise

    try:
        queue.process_document(doc_id, tenant_id, task_id)
    except ServiceUnavailable:
        remove(session, doc, storage)
        raise
    metrics.record_upload(settings.redis_url, stored.size)
    log.info("document queued", extra=logs.fields(tenant_id=tenant_id, document_id=doc_id, task_id=task_id))
    return Created(doc)


def _same_content(session: Session, tenant_id: str, sha256: str) -> Document | None:
    """The tenant's oldest kept document with this content (the tenant's row lock is held: two
    identical uploads at once cannot both miss each other)."""
    stmt = select_owned(Document, tenant_id).where(Document.sha256 == sha256, Document.status.in_(KEPT))
    return session.scalars(stmt.order_by(Document.created_at).limit(1)).first()


def get(session: Session, tenant_id: str, document_id: str) -> Document:
    """The tenant's document or NotFound."""
    return get_owned(session, Document, document_id, tenant_id)


def find(session: Session, tenant_id: str, reference: str) -> Document:
    """The tenant's document by full id or by an unambiguous prefix of 8+ characters (chat users type ids)."""
    reference = reference.strip().lower()
    if len(reference) == 36:
        return get(session, tenant_id, reference)
    if not MIN_PREFIX <= len(reference) < 36 or not set(reference) <= _ID_CHARS:
        raise NotFound("document not found")
    matches = Document.id.startswith(reference, autoescape=True)
    stmt = select_owned(Document, tenant_id).where(matches).limit(2)
    rows = list(session.scalars(stmt))
    if len(rows) != 1:
        raise NotFound("document not found" if not rows else "several documents match; give more of the id")
    return rows[0]


STATUS_COLUMNS = (
    Document.id,
    Document.status,
    Document.progress,
    Document.task_state,
    Document.message,
    Document.error_message,
    Document.total_chunks,
)


def status(conn: Connection, tenant_id: str, document_id: str) -> dict[str, Any]:
    """The polling body from one indexed read of just the columns it needs (no ORM session)."""
    return lifecycle.status_view(get_owned_columns(conn, Document, document_id, tenant_id, STATUS_COLUMNS))


def status_for_key(conn: Connection, presented_key: str, document_id: str) -> dict[str, Any]:
    """The polling body, from one query that also authenticates the API key."""
    prefix, digest = apikeys.parse(presented_key)
    row = get_key_and_owned_columns(conn, Document, document_id, prefix, STATUS_COLUMNS)
    if row is None:
        raise Unauthorized(apikeys.INVALID)
    apikeys.verify(row.key_hash, row.revoked_at, digest)
    apikeys.touch(conn, prefix, row.last_used_at)
    if row.id is None:
        raise NotFound("document not found")
    return lifecycle.status_view(row)


@dataclass(frozen=True)
class Filters:
    """What the library is narrowed to: each None means all; ``name`` matches title or file name."""

    status: str | None = None
    source: str | None = None
    kind: str | None = None
    language: str | None = None
    name: str | None = None
    sort: str = "newest"


SORTS = {
    "newest": (Document.created_at.desc(), Document.id),
    "oldest": (Document.created_at.asc(), Document.id),
    "name": (func.lower(Document.title).asc(), Document.id),
    "largest": (Document.size_bytes.desc().nulls_last(), Document.id),
}
KIND_FILTERS = (*filetypes.CONTENT_TYPES, filetypes.LINK)


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} must be one of: {', '.join(allowed)}")
    return value


def list_documents(
    session: Session, tenant_id: str, filters: Filters = Filters(), *, limit: int = 50, offset: int = 0
) -> tuple[list[Document], int]:
    """The tenant's documents as ``filters`` narrow and order them, with the total for pagination."""
    status = lifecycle.status_filter(filters.status)
    if not 1 <= limit <= MAX_LIST_LIMIT or not 0 <= offset <= MAX_LIST_OFFSET:
        raise BadRequest(f"limit must be 1-{MAX_LIST_LIMIT} and offset 0-{MAX_LIST_OFFSET:,}")
    if filters.sort not in SORTS:
        raise BadRequest(f"sort must be one of: {', '.join(SORTS)}")
    name = textfields.refuse_controls(filters.name or "", "name").strip()
    if len(name) > 200:
        raise BadRequest("name must be at most 200 characters")
    stmt = select_owned(Document, tenant_id)
    wanted = {
        Document.status: status,
        Document.source: _one_of("source", filters.source, DOCUMENT_SOURCES),
        Document.file_kind: _one_of("type", filters.kind, KIND_FILTERS),
        Document.language: filters.language[:16] if filters.language else None,
    }
    for column, value in wanted.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if name:
        pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            Document.title.ilike(pattern, escape="\\") | Document.filename.ilike(pattern, escape="\\")
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(*SORTS[filters.sort]).limit(limit).offset(offset))
    return list(rows), total


def delete(
    session: Session,
    tenant_id: str,
    document_id: str,
    *,
    storage: Storage,
    queue: DocumentQueue,
    settings: Settings,
) -> str:
    """Remove the row and every stored file, revoking a task that is still queued or running, and
    announce it (``document.deleted``); the document's id as stored (however the caller spelled it)."""
    doc = get_owned(session, Document, document_id, tenant_id)
    if doc.status in ACTIVE and doc.task_id:
        queue.revoke(doc.task_id, terminate=doc.status == Status.PROCESSING)
    deliveries = webhooks.record_document(session, doc, webhooks.DELETED, settings=settings)
    remove(session, doc, storage)
    queue.deliver_webhooks(tenant_id, deliveries)
    log.info("document deleted", extra=logs.fields(tenant_id=tenant_id, document_id=doc.id))
    return doc.id


def cancel(session: Session, tenant_id: str, document_id: str, *, queue: DocumentQueue) -> Document:
    """Stop a queued or processing document: revoke its task and mark it ``cancelled``."""
    doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
    was_processing = doc.status == Status.PROCESSING
    lifecycle.apply(doc, Transition.CANCEL, lifecycle.cancelled(utcnow()))
    session.commit()
    if doc.task_id:
        queue.revoke(doc.task_id, terminate=was_processing)
    log.info("document cancelled", extra=logs.fields(tenant_id=tenant_id, document_id=document_id))
    return doc


def retry(session: Session, tenant_id: str, document_id: str, *, queue: DocumentQueue) -> Document:
    """Queue a failed or cancelled document again, from a clean slate of attempts."""
    doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
    lifecycle.require(doc, Transition.RETRY)
    previous = (doc.status, doc.task_state, doc.message, doc.task_id, doc.error_message, doc.attempts)
    doc.attempts = 0
    if not requeue(session, doc, queue, "Queued again for processing"):
        doc.status, doc.task_state, doc.message, doc.task_id, doc.error_message, doc.attempts = previous
        session.commit()
        raise ServiceUnavailable("The job queue is unavailable; please retry shortly")
    return doc


def requeue(session: Session, doc: Document, queue: DocumentQueue, message: str) -> bool:
    """Commit the document as queued under a fresh task id, then dispatch it; False if the broker is down.

    A still-running or redelivered run of the old task id is superseded: it stops at its next write. A
    ready document leaves search until its new run is ready.
    """
    if doc.status == Status.READY:
        store.delete_rows(session, doc.tenant_id, doc.id)
    task_id = str(uuid.uuid4())
    lifecycle.apply(doc, Transition.REQUEUE, lifecycle.queued(task_id, message, utcnow()))
    session.commit()
    try:
        queue.process_document(doc.id, doc.tenant_id, task_id)
    except ServiceUnavailable:
        return False
    log.info(
        "document requeued",
        extra=logs.fields(tenant_id=doc.tenant_id, document_id=doc.id, task_id=doc.task_id),
    )
    return True


def remove(session: Session, doc: Document, storage: Storage) -> None:
    session.delete(doc)
    session.commit()
    storage.delete(storage.document_prefix(doc.tenant_id, doc.id))


MEMORY_NOT_READY = "The document's memory exists once it is ready (this one is {status})"


def memory_archive(
    session: Session, tenant_id: str, document_id: str, *, storage: Storage
) -> tuple[str, IO[bytes]]:
    """The document's portable memory as one zip: memvid's FAISS index and JSON metadata, the search
    windows (``windows.npz``) when the encoder wrote them, and a manifest saying what made them.

    Returns the download name and the archive, positioned at its start.
    """
    doc = get(session, tenant_id, document_id)
    if doc.status != Status.READY or not doc.outputs:
        raise Conflict(MEMORY_NOT_READY.format(status=doc.status))
    archive = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (the caller closes it)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for key in doc.outputs.values():
            bundle.write(storage.local_file(key), arcname=PurePosixPath(key).name)
        manifest = {"document_id": doc.id, "filename": doc.filename, "encoder": doc.encoder,
                    "encoder_version": doc.encoder_version, "chunk_size": doc.chunk_size,
                    "chunk_overlap": doc.chunk_overlap, "total_chunks": doc.total_chunks,
                    "language": doc.language, "processed_at": iso(doc.processed_at)}  # fmt: skip
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2))
    archive.seek(0)
    return f"{PurePosixPath(doc.filename).stem or 'document'}-memory.zip", archive


def details_view(doc: Document) -> dict[str, Any]:
    """Everything a tenant may know about its document."""
    return {
        **lifecycle.status_view(doc),
        "title": doc.title,
        "filename": doc.filename,
        "source": doc.source,
        "source_url": doc.source_url,
        "content_type": doc.content_type,
        "size_bytes": doc.size_bytes,
        "sha256": doc.sha256,
        "error": doc.error_message,
        "last_error": doc.last_error,
        "attempts": doc.attempts,
        "task": {
            "id": doc.task_id,
            "state": doc.task_state,
            "info": {"progress": doc.progress, "message": doc.message},
        },
        "metadata": {
            "total_chunks": doc.total_chunks,
            "total_tokens": doc.total_tokens,
            "pages": doc.pages,
            "language": doc.language,
            "encoder": doc.encoder,
            "encoder_version": doc.encoder_version,
            "chunk_size": doc.chunk_size,
            "chunk_overlap": doc.chunk_overlap,
            "processed_at": iso(doc.processed_at),
            "worker": doc.worker_info,
        },
        "files": {"original": doc.storage_key, **(doc.outputs or {})},
        "timestamps": {
            "created_at": iso(doc.created_at),
            "queued_at": iso(doc.queued_at),
            "started_at": iso(doc.started_at),
            "completed_at": iso(doc.completed_at),
            "updated_at": iso(doc.updated_at),
        },
    }

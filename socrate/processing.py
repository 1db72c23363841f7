"""The worker's side of a document: extract, chunk, encode, record — reporting real progress."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from socrate import encoding
from socrate.config import Settings
from socrate.db import session_scope
from socrate.encoding import Encoder
from socrate.errors import DocumentGone, NotFound, ProcessingError
from socrate.extract import extract_text
from socrate.models import Document, utcnow
from socrate.storage import LocalStorage
from socrate.tenancy import get_owned, update_owned

log = logging.getLogger(__name__)

ENCODE_START, ENCODE_END = 20, 80
TIMED_OUT = "Processing timed out; the document may be too large"


class _Reporter:
    """Writes status/progress/message to the row in short transactions; never goes backwards."""

    def __init__(self, factory: sessionmaker[Session], tenant_id: str, document_id: str) -> None:
        self.factory, self.tenant_id, self.document_id = factory, tenant_id, document_id
        self.progress = 0

    def __call__(self, progress: int, message: str, **fields: object) -> None:
        self.progress = max(self.progress, progress)
        try:
            with session_scope(self.factory) as session:
                update_owned(
                    session,
                    Document,
                    self.document_id,
                    self.tenant_id,
                    progress=self.progress,
                    message=message,
                    updated_at=utcnow(),
                    **fields,
                )
        except NotFound as exc:
            raise DocumentGone("document was deleted during processing") from exc


def process(
    factory: sessionmaker[Session],
    tenant_id: str,
    document_id: str,
    *,
    task_id: str,
    storage: LocalStorage,
    settings: Settings,
    get_encoder: Callable[[], Encoder] = encoding.get_encoder,
    is_timeout: Callable[[BaseException], bool] = lambda exc: False,
) -> str:
    """Run one document to ``ready`` or ``failed``; returns the final status."""
    with session_scope(factory) as session:
        try:
            doc = get_owned(session, Document, document_id, tenant_id)
        except NotFound:
            log.info("document gone before start tenant_id=%s document_id=%s", tenant_id, document_id)
            return "deleted"
        if doc.status in ("ready", "failed"):
            return doc.status
        source_key, kind, attempts = doc.storage_key, doc.file_kind, doc.attempts
    report = _Reporter(factory, tenant_id, document_id)
    work_dir = storage.path(f"{storage.document_prefix(tenant_id, document_id)}/.tmp-{uuid.uuid4().hex}")
    try:
        report(
            10,
            "Reading file",
            status="processing",
            task_state="STARTED",
            task_id=task_id,
            started_at=utcnow(),
            attempts=attempts + 1,
            error_message=None,
        )
        source = storage.path(source_key)
        if not source.is_file():
            raise ProcessingError("The uploaded file is missing from storage; please upload it again")
        _encode(report, source, kind, work_dir, tenant_id, document_id, storage, settings, get_encoder)
        return "ready"
    except DocumentGone:
        log.info("document deleted mid-processing tenant_id=%s document_id=%s", tenant_id, document_id)
        storage.delete(storage.document_prefix(tenant_id, document_id))  # outputs we may have moved in
        return "deleted"
    except BaseException as exc:
        message = _human_message(exc, is_timeout)
        log.warning(
            "document failed tenant_id=%s document_id=%s task_id=%s error=%r",
            tenant_id,
            document_id,
            task_id,
            exc,
            exc_info=not isinstance(exc, ProcessingError),
        )
        try:
            report(
                report.progress,
                "Failed",
                status="failed",
                task_state="FAILURE",
                error_message=message,
                completed_at=utcnow(),
            )
        except DocumentGone:
            return "deleted"
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt/SystemExit: record, then let the worker stop
        return "failed"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _encode(
    report: _Reporter,
    source: Path,
    kind: str,
    work_dir: Path,
    tenant_id: str,
    document_id: str,
    storage: LocalStorage,
    settings: Settings,
    get_encoder: Callable[[], Encoder],
) -> None:
    report(20, "Extracting text")
    extracted = extract_text(source, kind)
    language = encoding.detect_language(extracted.text)
    encoder = get_encoder()
    chunks = encoder.chunk(extracted.text, settings.chunk_tokens, settings.chunk_overlap)
    report(
        ENCODE_START,
        "Running memvid encoder",
        pages=extracted.pages,
        language=language,
        total_tokens=chunks.total_tokens,
        task_state="PROGRESS",
    )

    def on_progress(done: int, total: int) -> None:
        span = ENCODE_END - ENCODE_START
        report(ENCODE_START + span * done // total, f"Running memvid encoder ({done}/{total} chunks)")

    memory = encoder.encode(chunks.texts, work_dir, on_progress)
    report(85, "Saving metadata")
    out_key = f"{storage.document_prefix(tenant_id, document_id)}/memvid"
    storage.replace_dir(work_dir, out_key)
    now = utcnow()
    report(
        100,
        "Complete",
        status="ready",
        task_state="SUCCESS",
        total_chunks=memory.chunks,
        encoder=encoder.name,
        encoder_version=encoder.version,
        chunk_size=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        outputs={"index": f"{out_key}/{memory.index_file}", "metadata": f"{out_key}/{memory.metadata_file}"},
        worker_info={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "model_loads": encoding.model_loads(),
        },
        processed_at=now,
        completed_at=now,
    )


def _human_message(exc: BaseException, is_timeout: Callable[[BaseException], bool]) -> str:
    if isinstance(exc, ProcessingError):
        return exc.message
    if is_timeout(exc):
        return TIMED_OUT
    return "Processing failed because of an internal error; please retry or contact support"

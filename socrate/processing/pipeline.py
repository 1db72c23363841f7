"""The worker's side of a document: claim, extract, chunk, encode, record — with real progress.

Runs are idempotent: the row names the task id that owns it, every write is conditional on that
ownership, outputs are built in a private temporary folder and published as one unit (a folder rename
on disk, a fresh per-run prefix in object storage) before the row points at them, so a redelivered
or superseded run can never mix its files with another's.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from socrate import encoding, logs
from socrate.config import Settings
from socrate.db import session_scope
from socrate.db.models import Document, Tenant, utcnow
from socrate.documents import lifecycle, quotas
from socrate.documents.lifecycle import Status, Transition
from socrate.encoding import Encoder, embedding, factory
from socrate.errors import NotFound, ProcessingError, QuotaExceeded, UnsupportedType
from socrate.integrations import fetch, webhooks
from socrate.ops import metrics
from socrate.processing import filetypes, leases
from socrate.processing.extract import extract_text
from socrate.processing.filetypes import LINK
from socrate.search import store
from socrate.storage import Storage
from socrate.taskqueue import WebhookQueue
from socrate.tenancy import get_owned, select_owned

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
ENCODE_START, ENCODE_END = 20, 80
OCR_END = 60  # scanned pages take most of a scan's time: they move the bar from ENCODE_START to here
TIMED_OUT = "Processing timed out; the document may be too large"
INTERNAL = "Processing failed because of an internal error; please retry or contact support"


class Superseded(Exception):
    """This run no longer owns the row: deleted, cancelled, or re-dispatched under another task."""


class Busy(Exception):
    """The tenant already has its maximum of documents processing; try again shortly."""


class TimedOut(Exception):
    """The run passed its deadline (checked between embedding batches: memvid swallows Celery's
    asynchronous soft-time-limit exception and would carry on to the hard kill)."""


class Transient(Exception):
    """A temporary failure (database, Redis, storage I/O); the task retries it with backoff."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def is_transient(exc: BaseException) -> bool:
    """Connection and I/O trouble that a later attempt can outlive."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return True
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, OSError) and exc.errno in {errno.EIO, errno.ENOSPC, errno.EAGAIN, errno.EBUSY}


def backoff_seconds(attempt: int, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter, so retries of many documents do not stampede."""
    return random.uniform(0, min(cap, base * 2**attempt))


@dataclass(frozen=True)
class _Claim:
    source_key: str
    kind: str
    attempts: int
    source_url: str | None


class _Reporter:
    """Writes progress to the row in short transactions, only while this run owns it."""

    def __init__(
        self, run: leases.Run, deadline: float | None, settings: Settings, webhooks_queue: WebhookQueue | None
    ) -> None:
        self.run, self.deadline, self.settings, self.webhooks_queue = run, deadline, settings, webhooks_queue
        self.progress = 0

    def __call__(self, progress: int, message: str, **details: object) -> None:
        """Progress of the run, never backwards (and TimedOut past its deadline)."""
        self._before_deadline()
        self.progress = max(self.progress, progress)
        self._write(None, progress=self.progress, message=message, updated_at=utcnow(), **details)

    def record(self, also: Callable[[Session], None] | None, **values: object) -> None:
        """Write fields other than progress (a link's file, once downloaded), with ``also`` alongside."""
        self._write(also, **values)

    def finish(self, fields: dict[str, Any], also: Callable[[Session], None] | None = None) -> None:
        """The run's last transition (lifecycle.ready or lifecycle.failed), with ``also`` and the
        webhook event in the same transaction, whose deliveries are sent once it commits; failing is
        always allowed, succeeding only before the deadline."""
        if fields["status"] != Status.FAILED:
            self._before_deadline()
        event = webhooks.FAILED if fields["status"] == Status.FAILED else webhooks.READY
        deliveries: list[str] = []

        def and_announce(session: Session) -> None:
            if also is not None:
                also(session)
            doc = get_owned(session, Document, self.run.document_id, self.run.tenant_id)
            deliveries.extend(webhooks.record_document(session, doc, event, settings=self.settings))

        self._write(and_announce, **fields)
        if deliveries and self.webhooks_queue is not None:
            self.webhooks_queue.deliver_webhooks(self.run.tenant_id, deliveries)

    def _before_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimedOut

    def _write(self, also: Callable[[Session], None] | None, **values: object) -> None:
        """Update the row if this run still owns it (a processing row naming its task)."""
        try:
            self.run.write(also, **values)
        except NotFound as exc:
            raise Superseded from exc


def _claim(
    factory: sessionmaker[Session],
    tenant_id: str,
    document_id: str,
    task_id: str,
    previous_error: str | None,
    worker: str | None,
) -> _Claim | str:
    """Take ownership (and the lease) for this run, or say why not (a final status, or 'superseded')."""
    with session_scope(factory) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.id == tenant_id).with_for_update()).first()
        try:  # row lock: a concurrent cancel or retry must not be overwritten by this claim
            doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
        except NotFound:
            return "deleted"
        if doc.task_id != task_id:
            return "superseded"
        if not lifecycle.is_legal(Transition.CLAIM, doc.status):
            return doc.status
        busy = select_owned(Document, tenant_id).where(
            Document.status == Status.PROCESSING, Document.id != doc.id
        )
        if (
            tenant
            and (session.scalar(select(func.count()).select_from(busy.subquery())) or 0)
            >= tenant.max_concurrent
        ):
            raise Busy
        lifecycle.apply(doc, Transition.CLAIM, lifecycle.claimed(worker, utcnow()))
        doc.attempts += 1
        if previous_error:
            doc.last_error = previous_error
        return _Claim(doc.storage_key, doc.file_kind, doc.attempts, doc.source_url)


def process(
    factory: sessionmaker[Session],
    tenant_id: str,
    document_id: str,
    *,
    task_id: str,
    storage: Storage,
    settings: Settings,
    get_encoder: Callable[[], Encoder] = factory.get_encoder,
    is_timeout: Callable[[BaseException], bool] = lambda exc: False,
    previous_error: str | None = None,
    deadline: float | None = None,
    worker: str | None = None,
    webhooks_queue: WebhookQueue | None = None,
) -> str:
    """Run one document to a final status; raises Busy or Transient for the task to re-queue.

    ``previous_error`` is why an earlier attempt of this task gave up (kept as ``last_error``);
    ``deadline`` (``time.monotonic()`` value) fails the run as timed out at its next progress write;
    ``worker`` is the Celery node name that holds the run's lease; ``webhooks_queue`` sends the
    webhook deliveries that the final status recorded (without one, the sweep sends them later).
    """
    claim = _claim(factory, tenant_id, document_id, task_id, previous_error, worker)
    if isinstance(claim, str):
        ids = logs.fields(tenant_id=tenant_id, document_id=document_id, task_id=task_id, reason=claim)
        log.info("nothing to do", extra=ids)
        return claim
    started = time.monotonic()
    run = leases.Run(factory, tenant_id, document_id, task_id)
    report = _Reporter(run, deadline, settings, webhooks_queue)
    report.progress = 10
    prefix = storage.document_prefix(tenant_id, document_id)
    lease = leases.Heartbeat(run, settings.lease_seconds)
    try:
        with lease, storage.workspace(prefix) as work:
            if claim.kind == LINK and claim.source_url:
                source, kind = _download(report, claim.source_url, work, prefix, storage, settings)
            else:
                source, kind = _stored(storage, claim.source_key, work), claim.kind
            _encode(report, source, kind, work, prefix, storage, settings, get_encoder)
        elapsed = time.monotonic() - started
        metrics.record_run(settings.redis_url, Status.READY, elapsed)
        log.info("document ready", extra=logs.fields(tenant_id=tenant_id, document_id=document_id,
                 task_id=task_id, seconds=round(elapsed, 2), attempt=claim.attempts))  # fmt: skip
        return Status.READY
    except Superseded:
        ids = logs.fields(tenant_id=tenant_id, document_id=document_id, task_id=task_id)
        log.info("run superseded", extra=ids)
        _drop_outputs_if_deleted(factory, tenant_id, document_id, storage)
        return "superseded"
    except BaseException as exc:
        outcome = _fail_or_retry(report, exc, claim.attempts, is_timeout, (tenant_id, document_id, task_id))
        if outcome == Status.FAILED:
            elapsed = time.monotonic() - started
            metrics.record_run(settings.redis_url, Status.FAILED, elapsed, error_type(exc, is_timeout))
        return outcome


def _stored(storage: Storage, key: str, work: Path) -> Path:
    try:
        return storage.fetch(key, work)
    except FileNotFoundError:
        raise ProcessingError("The uploaded file is missing from storage; please upload it again") from None


def _download(
    report: _Reporter, url: str, work: Path, prefix: str, storage: Storage, settings: Settings
) -> tuple[Path, str]:
    """A link's page or file: fetched (SSRF-safe), its kind from the content type, kept in storage as
    the document's original, and the row's file fields filled in (the tenant's byte quota checked in
    the same transaction). A retry of a document whose download succeeded reads the stored copy."""
    report(12, "Downloading the link")
    target = work / "download"
    fetched = fetch.fetch(
        url, target, max_bytes=settings.max_upload_bytes, timeout_seconds=settings.url_fetch_timeout_seconds,
        allow_loopback=settings.allow_loopback_urls,
    )  # fmt: skip
    try:
        kind, filename = filetypes.kind_of_download(fetched.content_type, fetched.filename)
        with target.open("rb") as stream:
            filetypes.confirm_kind(kind, stream.read(8192), lambda: target)
    except UnsupportedType as exc:
        raise ProcessingError(exc.message) from exc
    run = report.run
    with target.open("rb") as stream:
        stored = storage.save_stream(run.tenant_id, stream, settings.max_upload_bytes)
    key = f"{prefix}/original.{kind}"
    storage.move(stored.temp_key, key)

    def within_quota(session: Session) -> None:
        tenant = session.get(Tenant, run.tenant_id)
        if tenant is not None:
            try:
                quotas.check_bytes(session, tenant, stored.size)
            except QuotaExceeded as exc:
                raise ProcessingError(exc.message) from exc

    report.record(within_quota, file_kind=kind, content_type=filetypes.CONTENT_TYPES[kind], filename=filename,
                  size_bytes=stored.size, sha256=stored.sha256, storage_key=key)  # fmt: skip
    return target, kind


def _fail_or_retry(
    report: _Reporter,
    exc: BaseException,
    attempts: int,
    is_timeout: Callable[[BaseException], bool],
    ids: tuple[str, str, str],
) -> str:
    transient = is_transient(exc)
    tenant_id, document_id, task_id = ids
    log.warning("document error", exc_info=not isinstance(exc, ProcessingError | Transient),
                extra=logs.fields(tenant_id=tenant_id, document_id=document_id, task_id=task_id,
                                  attempt=attempts, transient=transient, error=repr(exc)))  # fmt: skip
    if transient and attempts < MAX_ATTEMPTS:
        reason = f"Temporary problem ({type(exc).__name__}); retrying, attempt {attempts} of {MAX_ATTEMPTS}"
        try:
            report(report.progress, reason, task_state="RETRY", last_error=reason)
        except Exception:  # the database may be the thing that is down: the retry still happens
            log.info("could not record retry", extra=logs.fields(document_id=ids[1]))
        raise Transient(reason, attempts) from exc
    message = _human_message(exc, is_timeout, transient, attempts)
    try:
        report.finish(lifecycle.failed(message, utcnow()))
    except Superseded:
        return "superseded"
    if not isinstance(exc, Exception):
        raise exc  # KeyboardInterrupt/SystemExit: recorded, now let the worker stop
    return Status.FAILED


def _drop_outputs_if_deleted(
    factory: sessionmaker[Session], tenant_id: str, document_id: str, storage: Storage
) -> None:
    """A deleted document's folder may have been recreated by this run's publish: remove it."""
    with session_scope(factory) as session:
        try:
            get_owned(session, Document, document_id, tenant_id)
        except NotFound:
            storage.delete(storage.document_prefix(tenant_id, document_id))


def _encode(
    report: _Reporter,
    source: Path,
    kind: str,
    work_dir: Path,
    prefix: str,
    storage: Storage,
    settings: Settings,
    get_encoder: Callable[[], Encoder],
) -> None:
    report(20, "Reading")

    def on_page(done: int, total: int) -> None:
        span = OCR_END - ENCODE_START
        report(ENCODE_START + span * (done - 1) // total, f"Reading scanned page {done} of {total}")

    extracted = extract_text(source, kind, settings, on_page)
    language = encoding.detect_language(extracted.text)
    encoder = get_encoder()
    chunks = encoder.chunk(extracted.text, settings.chunk_tokens, settings.chunk_overlap)
    start = max(ENCODE_START, report.progress)
    report(start, "Understanding the text", pages=extracted.pages, language=language,
           total_tokens=chunks.total_tokens, task_state="PROGRESS")  # fmt: skip

    def on_progress(done: int, total: int) -> None:
        report(start + (ENCODE_END - start) * done // total, f"Understanding {done} of {total} passages")

    memory = encoder.encode(chunks.texts, work_dir / "memvid", on_progress)
    report(85, "Saving")
    out_key = storage.publish(work_dir / "memvid", prefix)
    now = utcnow()
    outputs = {"index": f"{out_key}/{memory.index_file}", "metadata": f"{out_key}/{memory.metadata_file}"}
    if memory.windows_file:
        outputs["windows"] = f"{out_key}/{memory.windows_file}"
    passages = [store.Passage(text, *extracted.page_range(*span))
                for text, span in zip(chunks.texts, chunks.spans, strict=True)]  # fmt: skip

    def write_search_rows(session: Session) -> None:
        run = report.run
        store.replace_rows(session, run.tenant_id, run.document_id, language, passages, memory.windows)

    done = lifecycle.ready(
        now, total_chunks=memory.chunks, encoder=encoder.name, encoder_version=encoder.version,
        chunk_size=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap, outputs=outputs,
        worker_info=_worker_info(),
    )  # fmt: skip
    try:
        report.finish(done, write_search_rows)
    except BaseException:
        storage.discard(prefix, out_key)  # the row never pointed here (lost ownership, or the write failed)
        raise
    try:
        storage.prune(prefix, keep=out_key)
    except Exception:  # the document is ready; cleanup removes what is left
        log.warning("could not remove superseded outputs", extra=logs.fields(prefix=prefix), exc_info=True)


def _worker_info() -> dict[str, object]:
    """Which process encoded the document, and how often it loaded the model (once, if healthy)."""
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "model_loads": embedding.loads()}


def error_type(exc: BaseException, is_timeout: Callable[[BaseException], bool]) -> str:
    """A small, fixed set of labels for the failures metric."""
    if isinstance(exc, ProcessingError):
        return "document"  # the file itself: encrypted, empty, too large, missing...
    if isinstance(exc, TimedOut) or is_timeout(exc):
        return "timeout"
    if is_transient(exc):
        return "transient"
    return "internal"


def _human_message(exc: BaseException, is_timeout: Callable[[BaseException], bool], transient: bool,
                   attempts: int) -> str:  # fmt: skip
    if isinstance(exc, ProcessingError):
        return exc.message
    if isinstance(exc, TimedOut) or is_timeout(exc):
        return TIMED_OUT
    if transient:
        return f"Processing failed after {attempts} attempts because of a temporary problem; please retry"
    return INTERNAL

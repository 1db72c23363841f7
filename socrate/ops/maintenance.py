"""Work Celery Beat schedules (queue ``maintenance``): cleanup and recovery of stuck documents.

Both are idempotent and never touch a document that is legitimately queued or processing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

import redis
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from socrate import logs
from socrate.context import Context
from socrate.db import session_scope
from socrate.db.models import Document, LinkCode, LoginSession, Tenant, utcnow
from socrate.documents import lifecycle
from socrate.documents import service as documents
from socrate.documents.lifecycle import ACTIVE, Status, Transition
from socrate.integrations import deliveries, webhooks
from socrate.processing import leases
from socrate.processing.pipeline import MAX_ATTEMPTS
from socrate.taskqueue import TaskQueue

log = logging.getLogger(__name__)
TEMP_MAX_AGE_SECONDS = 3600
LOCK_TIMEOUT_SECONDS = 1800
NOT_HELD_UNKNOWN_FACTOR = 3
TEMP_PATTERNS = ("tenants/*/incoming/*", "tenants/*/documents/*/.tmp-*", "tenants/*/documents/*/memvid.old-*")


@contextmanager
def single_run(redis_url: str, name: str) -> Iterator[bool]:
    """A Redis lock so two Beat processes (or overlapping runs) never clean at the same time."""
    client = redis.Redis.from_url(redis_url)
    lock = client.lock(f"socrate:lock:{name}", timeout=LOCK_TIMEOUT_SECONDS, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
        client.close()


def cleanup(ctx: Context, now: datetime | None = None) -> dict[str, int]:
    """Remove old failed/cancelled documents, expired retention, orphans, stale temp files, old codes."""
    removed = sweep(ctx, now)
    if removed is None:
        return {"skipped": 1}
    counts = {kind: len(items) for kind, items in removed.items()}
    log.info("cleanup done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def sweep(ctx: Context, now: datetime | None = None, *, dry_run: bool = False) -> dict[str, list[str]] | None:
    """What cleanup removes, by kind (document ids, storage keys, link code ids); None if another
    run holds the lock. With ``dry_run`` nothing is removed and no lock is taken: the answer is what
    a run at ``now`` would remove."""
    with single_run(ctx.settings.redis_url, "cleanup") if not dry_run else _no_lock() as acquired:
        if not acquired:
            log.info("cleanup skipped: another run holds the lock")
            return None
        now = now or utcnow()
        return {
            "documents_removed": _remove_expired_documents(ctx, now, dry_run),
            "orphans_removed": _remove_orphans(ctx, now.timestamp(), dry_run),
            "temp_removed": _remove_stale_temp(ctx, now.timestamp(), dry_run),
            "link_codes_removed": _remove_expired(ctx, LinkCode, now, dry_run),
            "login_sessions_removed": _remove_expired(ctx, LoginSession, now, dry_run),
            "webhook_deliveries_removed": _remove_finished_deliveries(ctx, now, dry_run),
        }


@contextmanager
def _no_lock() -> Iterator[bool]:
    yield True


def _remove_expired_documents(ctx: Context, now: datetime, dry_run: bool) -> list[str]:
    failed_cutoff = now - timedelta(days=ctx.settings.failed_retention_days)
    removed: list[str] = []
    with session_scope(ctx.sessions) as session:
        kept = select(Tenant.id, Tenant.retention_days).where(Tenant.retention_days.is_not(None))
        retention = cast("dict[str, int]", dict(session.execute(kept).tuples().all()))  # no NULL days left
        stale_failed = (Document.status.in_((Status.FAILED, Status.CANCELLED))) & (
            Document.updated_at < failed_cutoff
        )
        past_retention = [
            (Document.tenant_id == tenant_id) & (Document.created_at < now - timedelta(days=days))
            for tenant_id, days in retention.items()
        ]
        stmt = select(Document).where(Document.status.not_in(ACTIVE), or_(stale_failed, *past_retention))
        for doc in session.scalars(stmt).all():
            removed.append(doc.id)
            if dry_run:
                continue
            session.delete(doc)
            session.commit()
            ctx.storage.delete(ctx.storage.document_prefix(doc.tenant_id, doc.id))
    return removed


def _remove_orphans(ctx: Context, now: float, dry_run: bool) -> list[str]:
    """Document folders with no row (e.g. a crash between storing and committing), older than an hour."""
    folders = [
        e for e in ctx.storage.glob("tenants/*/documents/*") if now - e.modified > TEMP_MAX_AGE_SECONDS
    ]
    if not folders:
        return []
    with session_scope(ctx.sessions) as session:
        known = set(session.scalars(select(Document.id)).all())
    removed = []
    for folder in folders:
        if folder.key.rsplit("/", 1)[1] not in known:
            if not dry_run:
                ctx.storage.delete(folder.key)
            removed.append(folder.key)
    return removed


def _remove_stale_temp(ctx: Context, now: float, dry_run: bool) -> list[str]:
    """Interrupted uploads, partial outputs of killed runs and runs no row points at, older than an hour."""
    removed = []
    for pattern in TEMP_PATTERNS:
        for entry in ctx.storage.glob(pattern):
            if now - entry.modified > TEMP_MAX_AGE_SECONDS:
                if not dry_run:
                    ctx.storage.delete(entry.key)
                removed.append(entry.key)
    runs = [
        e for e in ctx.storage.glob("tenants/*/documents/*/runs/*") if now - e.modified > TEMP_MAX_AGE_SECONDS
    ]
    if runs:
        with session_scope(ctx.sessions) as session:
            live = {
                outputs["index"].rsplit("/", 1)[0]
                for outputs in session.scalars(select(Document.outputs))
                if outputs and "index" in outputs
            }
        for entry in runs:
            if entry.key not in live:
                if not dry_run:
                    ctx.storage.delete_prefix(entry.key)
                removed.append(entry.key)
    return removed


def _remove_expired(
    ctx: Context, model: type[LinkCode | LoginSession], now: datetime, dry_run: bool
) -> list[str]:
    """Rows past ``expires_at`` (Telegram link codes, dashboard log-ins) are dead already."""
    with session_scope(ctx.sessions) as session:
        expired = list(session.scalars(select(model.id).where(model.expires_at <= now)))
        if expired and not dry_run:
            session.execute(delete(model).where(model.id.in_(expired)))
        return expired


def _remove_finished_deliveries(ctx: Context, now: datetime, dry_run: bool) -> list[str]:
    """Webhook deliveries that ended FAILED_RETENTION_DAYS ago (each endpoint's log keeps its own rows)."""
    with session_scope(ctx.sessions) as session:
        return deliveries.remove_finished(
            session, now - timedelta(days=ctx.settings.failed_retention_days), dry_run
        )


def recover_stuck(ctx: Context, queue: TaskQueue, now: datetime | None = None) -> dict[str, int]:
    """Re-dispatch documents no worker is running (bounded), else fail them: a processing run whose
    lease ran out (its worker died) or a queued one whose message nobody holds (a lost broker)."""
    with single_run(ctx.settings.redis_url, "recover") as acquired:
        if not acquired:
            return {"skipped": 1}
        now = now or utcnow()
        held = queue.held_task_ids()
        factor = 1 if held is not None else NOT_HELD_UNKNOWN_FACTOR
        lost = (Document.status == Status.QUEUED) & (
            Document.updated_at < now - timedelta(seconds=ctx.settings.stuck_after_seconds * factor)
        )
        counts = {"requeued": 0, "failed": 0, "unsent": 0}
        with session_scope(ctx.sessions) as session:
            stmt = select(Document).where(lost | leases.expired(now, ctx.settings.lease_seconds * factor))
            for doc in session.scalars(stmt).all():
                if held is not None and doc.task_id in held and not _overdue(ctx, doc, now):
                    continue  # a worker has it (queued behind others, or a run whose beats are late)
                counts[_requeue_or_fail(ctx, session, doc, queue, now, "its worker stopped responding")] += 1
    log.info("recovery done", extra=logs.fields(requeued=counts["requeued"], failed=counts["failed"]))
    return counts


def recover_orphans(ctx: Context, queue: TaskQueue, worker: str) -> dict[str, int]:
    """At worker start-up: what this node name was running when it died is re-queued at once (a node
    that is starting runs nothing yet, so none of these runs is alive)."""
    counts = {"requeued": 0, "failed": 0, "unsent": 0}
    now = utcnow()
    with session_scope(ctx.sessions) as session:
        stmt = select(Document).where(Document.status == Status.PROCESSING, Document.worker == worker)
        for doc in session.scalars(stmt).all():
            counts[_requeue_or_fail(ctx, session, doc, queue, now, "its worker restarted")] += 1
    if any(counts.values()):
        log.info("orphans recovered", extra=logs.fields(worker=worker, counts=counts))
    return counts


def _overdue(ctx: Context, doc: Document, now: datetime) -> bool:
    hard_limit = ctx.settings.task_time_limit + ctx.settings.stuck_after_seconds
    return doc.started_at is not None and doc.started_at < now - timedelta(seconds=hard_limit)


def _requeue_or_fail(
    ctx: Context, session: Session, doc: Document, queue: TaskQueue, now: datetime, why: str
) -> str:
    """'requeued'; 'failed' once the document has used its attempts or its time; 'unsent' if the broker
    is down (the row is queued under a new task id: the next recovery sends it)."""
    overdue = _overdue(ctx, doc, now)
    if doc.attempts >= MAX_ATTEMPTS or overdue:
        _fail(doc, now, overdue)
        deliveries = webhooks.record_document(session, doc, webhooks.FAILED, settings=ctx.settings)
        session.commit()
        queue.deliver_webhooks(doc.tenant_id, deliveries)
        return "failed"
    return "requeued" if documents.requeue(session, doc, queue, f"Re-queued: {why}") else "unsent"


def _fail(doc: Document, now: datetime, overdue: bool) -> None:
    reason = (
        "Processing timed out; the document may be too large"
        if overdue
        else f"Processing did not complete after {doc.attempts} attempts; please retry"
    )
    lifecycle.apply(doc, Transition.FAIL, lifecycle.failed(reason, now))

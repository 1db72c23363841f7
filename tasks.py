"""Thin Celery tasks: take ids, call socrate services. Registered on celery_config.celery."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, worker_init, worker_process_init, worker_ready

from celery_config import celery
from socrate import context
from socrate.config import Settings
from socrate.context import Context
from socrate.encoding import embedding, factory
from socrate.integrations import deliveries
from socrate.ops import maintenance
from socrate.processing import pipeline
from socrate.taskqueue import (
    CLEANUP,
    DELIVER_WEBHOOK,
    DOCUMENTS_QUEUE,
    PROCESS_DOCUMENT,
    RECOVER,
    SWEEP_WEBHOOKS,
    TaskQueue,
)

log = logging.getLogger(__name__)
BUSY_RETRY_SECONDS = 5
_ctx: Context | None = None


def worker_context() -> Context:
    """Per-process context (engine, storage); rebuilt in each forked child."""
    global _ctx
    if _ctx is None:
        _ctx = context.build(Settings.from_env())
    return _ctx


def _serves_documents(sender: Any) -> bool:
    """The documents worker, not the webhooks one (which has no use for the embedding model)."""
    return DOCUMENTS_QUEUE in sender.app.amqp.queues.consume_from


@worker_init.connect
def _preload_encoder_modules(sender: Any, **_: object) -> None:
    """Import torch/memvid once in the parent so every forked (or recycled) child starts fast."""
    if _serves_documents(sender):
        import socrate.encoding.memvid_encoder  # noqa: F401


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    """Fresh DB pool after fork, and the embedding model loaded before the first task."""
    global _ctx
    _ctx = None
    worker_context()
    factory.get_encoder()


@worker_ready.connect
def _take_back_orphans(sender: Any, **_: object) -> None:
    """What this node name was running when it last died goes back on the queue now, not after a lease."""
    if not _serves_documents(sender):
        return
    ctx = context.build(Settings.from_env())
    try:
        maintenance.recover_orphans(ctx, TaskQueue(celery), sender.hostname)
    except Exception:  # the periodic recovery still catches them once their leases run out
        log.warning("could not re-queue this worker's orphans", exc_info=True)
    finally:
        ctx.dispose()


@task_postrun.connect
def _release_memory(**_: object) -> None:
    """Keep a long-lived worker child's size flat from one document to the next."""
    embedding.release_freed_memory()


@celery.task(name=PROCESS_DOCUMENT, bind=True, max_retries=None)  # each retry below sets its own bound
def process_document_task(self, document_id: str, tenant_id: str, previous_error: str | None = None) -> str:  # type: ignore[no-untyped-def]
    ctx = worker_context()
    try:
        return pipeline.process(
            ctx.sessions,
            tenant_id,
            document_id,
            task_id=self.request.id,
            storage=ctx.storage,
            settings=ctx.settings,
            is_timeout=lambda exc: isinstance(exc, SoftTimeLimitExceeded),
            previous_error=previous_error,
            deadline=time.monotonic() + ctx.settings.task_soft_time_limit,
            worker=self.request.hostname,
            webhooks_queue=TaskQueue(celery),
        )
    except pipeline.Busy:
        raise self.retry(countdown=BUSY_RETRY_SECONDS) from None  # waiting for a slot is not an attempt
    except pipeline.Transient as exc:
        # The reason travels with the retry: the database may have been too down to record it.
        raise self.retry(
            countdown=pipeline.backoff_seconds(exc.attempts), kwargs={"previous_error": str(exc)}
        ) from exc  # bounded by the attempts counted on the row
    except Exception as exc:
        if not pipeline.is_transient(exc):
            raise
        # Failed before the run could claim the row (e.g. the database is down): Celery counts these.
        retries = self.request.retries
        raise self.retry(
            countdown=pipeline.backoff_seconds(retries),
            max_retries=pipeline.MAX_ATTEMPTS,
            kwargs={
                "previous_error": f"Temporary problem ({type(exc).__name__}) before processing could start"
            },
        ) from exc


@celery.task(name=CLEANUP)
def cleanup_old_documents() -> dict[str, int]:
    return maintenance.cleanup(worker_context())


@celery.task(name=RECOVER)
def recover_stuck_documents() -> dict[str, int]:
    return maintenance.recover_stuck(worker_context(), TaskQueue(celery))


@celery.task(name=DELIVER_WEBHOOK)
def deliver_webhook_task(tenant_id: str, delivery_id: str) -> str:
    ctx = worker_context()
    outcome, due = deliveries.deliver(ctx.sessions, tenant_id, delivery_id, ctx.settings)
    _send(due)
    return outcome


@celery.task(name=SWEEP_WEBHOOKS)
def sweep_webhooks_task() -> int:
    due = deliveries.sweep(worker_context().sessions, worker_context().settings)
    _send(due)
    return len(due)


def _send(due: list[deliveries.Due]) -> None:
    queue = TaskQueue(celery)
    for tenant_id, delivery_id in due:
        queue.deliver_webhooks(tenant_id, [delivery_id])

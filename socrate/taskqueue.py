"""Dispatch tasks by name so services never import tasks.py (or Celery's app module).

``celery_app`` is the sending half of the Celery app (broker, backend, serialisation, queues, routes):
the web, the bot and the admin CLI send and inspect with it, and celery_config.py adds what only
workers and Beat need (task modules, limits, acknowledgement, the schedule) to the same settings.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Protocol, cast

import redis
from celery import Celery
from kombu import Queue

from socrate import logs
from socrate.config import Settings
from socrate.errors import ServiceUnavailable

log = logging.getLogger(__name__)

PROCESS_DOCUMENT = "socrate.process_document"
CLEANUP = "socrate.cleanup_old_documents"
RECOVER = "socrate.recover_stuck_documents"
DELIVER_WEBHOOK = "socrate.deliver_webhook"
SWEEP_WEBHOOKS = "socrate.sweep_webhooks"
DOCUMENTS_QUEUE = "documents"
MAINTENANCE_QUEUE = "maintenance"
WEBHOOKS_QUEUE = "webhooks"  # its own worker (threads): a slow receiver never holds a document slot

PING_SECONDS = 1.0  # how long live workers get to say so before recovery asks them what they hold
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def celery_app(settings: Settings, include: list[str] | None = None) -> Celery:
    """The app every process sends with; refuses to fall back to Celery's default AMQP broker."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: use scripts/run (it starts an embedded Redis) or set it")
    app = Celery("socrate", broker=settings.redis_url, backend=settings.redis_url, include=include or [])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=(Queue(DOCUMENTS_QUEUE), Queue(MAINTENANCE_QUEUE), Queue(WEBHOOKS_QUEUE)),
        task_default_queue=DOCUMENTS_QUEUE,
        task_routes={
            PROCESS_DOCUMENT: {"queue": DOCUMENTS_QUEUE},
            CLEANUP: {"queue": MAINTENANCE_QUEUE},
            RECOVER: {"queue": MAINTENANCE_QUEUE},
            DELIVER_WEBHOOK: {"queue": WEBHOOKS_QUEUE},
            SWEEP_WEBHOOKS: {"queue": WEBHOOKS_QUEUE},
        },
        task_send_sent_event=True,
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={"visibility_timeout": settings.task_time_limit + 600},
        result_backend_transport_options={"visibility_timeout": settings.task_time_limit + 600},
        redis_socket_connect_timeout=2,
    )
    return app


def log_ids(name: str, args: list[Any] | tuple[Any, ...]) -> dict[str, str]:
    """The ids a task's log lines carry, read from the arguments ``dispatch`` gave it."""
    if name == PROCESS_DOCUMENT and len(args) >= 2:
        return {"document_id": str(args[0]), "tenant_id": str(args[1])}
    if name == DELIVER_WEBHOOK and len(args) >= 2:
        return {"tenant_id": str(args[0]), "delivery_id": str(args[1])}
    return {}


class CeleryLike(Protocol):
    control: Any
    conf: Any

    def send_task(self, name: str, *args: Any, **kwargs: Any) -> Any: ...


class WebhookQueue(Protocol):
    """What recording a webhook event needs of a queue."""

    def deliver_webhooks(self, tenant_id: str, delivery_ids: list[str]) -> None: ...


class DocumentQueue(WebhookQueue, Protocol):
    """What the document service needs of a queue (TaskQueue; tests pass a recording stand-in)."""

    def process_document(self, document_id: str, tenant_id: str, task_id: str) -> None: ...

    def revoke(self, task_id: str, *, terminate: bool) -> None: ...


class TaskQueue:
    """A thin, testable face over a Celery app: dispatch, revoke, ping workers."""

    def __init__(self, celery_app: CeleryLike) -> None:
        self.celery = celery_app

    @classmethod
    def for_settings(cls, settings: Settings) -> TaskQueue:
        """A queue on its own sending app (the bot and the admin CLI; the web is handed one)."""
        return cls(celery_app(settings))

    def dispatch(self, name: str, args: list[Any], queue: str, task_id: str) -> None:
        """Publish a task; a broker outage becomes ServiceUnavailable within about a second."""
        try:
            self.celery.send_task(
                name, args=args, queue=queue, task_id=task_id, retry=True, retry_policy=PUBLISH_RETRY
            )
        except Exception as exc:  # kombu raises OperationalError, redis raises its own types
            log.warning("dispatch failed", extra=logs.fields(task=name, task_id=task_id, error=repr(exc)))
            raise ServiceUnavailable("The job queue is unavailable; please retry shortly") from exc

    def process_document(self, document_id: str, tenant_id: str, task_id: str) -> None:
        """The one way a document reaches a worker: the task's name, argument order and queue live here
        (tasks.process_document takes them in this order; ``log_ids`` reads them back)."""
        self.dispatch(PROCESS_DOCUMENT, [document_id, tenant_id], DOCUMENTS_QUEUE, task_id)

    def deliver_webhooks(self, tenant_id: str, delivery_ids: list[str]) -> None:
        """Send deliveries to the webhooks worker; best effort: the outbox rows are already committed, and
        the sweep sends whatever does not get through (socrate/integrations/deliveries.py)."""
        for delivery_id in delivery_ids:
            try:
                self.dispatch(DELIVER_WEBHOOK, [tenant_id, delivery_id], WEBHOOKS_QUEUE, str(uuid.uuid4()))
            except ServiceUnavailable:
                return

    def revoke(self, task_id: str, *, terminate: bool) -> None:
        """Best effort: a revoke that cannot reach the broker must not block a delete."""
        try:
            self.celery.control.revoke(task_id, terminate=terminate, signal="SIGTERM")
        except Exception as exc:
            log.warning("revoke failed", extra=logs.fields(task_id=task_id, error=repr(exc)))

    def workers_by_queue(self, timeout: float) -> dict[str, int]:
        """How many workers consume each queue, among those that answered within ``timeout`` seconds (the
        documents worker and the webhooks worker are counted apart)."""
        replies = self.celery.control.inspect(timeout=timeout).active_queues() or {}
        counts = dict.fromkeys((DOCUMENTS_QUEUE, MAINTENANCE_QUEUE, WEBHOOKS_QUEUE), 0)
        for queues in replies.values():
            for name in {queue["name"] for queue in queues}:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def held_task_ids(self, timeout: float = 2.0) -> set[str] | None:
        """Task ids waiting in the broker or held by a live worker; None if workers can't be asked.

        A message left unacknowledged by a crashed worker is deliberately *not* counted: nobody
        is running it, and Redis only redelivers it after the visibility timeout (hours).
        """
        client = redis.Redis.from_url(self.celery.conf.broker_url, socket_timeout=timeout)
        try:
            waiting = cast("list[bytes]", client.lrange(DOCUMENTS_QUEUE, 0, -1))
            held = {json.loads(raw)["headers"]["id"] for raw in waiting}
        finally:
            client.close()
        # Ask who is alive first, then ask exactly them: each question returns as soon as every one has
        # answered, instead of waiting out its timeout (three questions took 6 s of a worker's slot).
        alive = self.celery.control.inspect(timeout=PING_SECONDS).ping()
        if not alive:
            return None
        replies = self.celery.control.inspect(destination=list(alive), limit=len(alive), timeout=timeout)
        for method in (replies.active, replies.reserved, replies.scheduled):
            answer = method()
            if answer is None:
                return None
            for tasks in answer.values():
                for task in tasks:
                    held.add(task.get("id") or task.get("request", {}).get("id"))
        return held

"""The Celery app: broker, backend, queues, routes, limits and the Beat schedule."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun
from kombu import Queue

from socrate import logs
from socrate.config import Settings
from socrate.taskqueue import CLEANUP, DOCUMENTS_QUEUE, MAINTENANCE_QUEUE, PROCESS_DOCUMENT, RECOVER, log_ids


def make_celery(settings: Settings) -> Celery:
    """Build the app from settings; refuses to fall back to Celery's default AMQP broker."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: use scripts/run (it starts an embedded Redis) or set it")
    app = Celery("socrate", broker=settings.redis_url, backend=settings.redis_url, include=["tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=(Queue(DOCUMENTS_QUEUE), Queue(MAINTENANCE_QUEUE)),
        task_default_queue=DOCUMENTS_QUEUE,
        task_routes={
            PROCESS_DOCUMENT: {"queue": DOCUMENTS_QUEUE},
            CLEANUP: {"queue": MAINTENANCE_QUEUE},
            RECOVER: {"queue": MAINTENANCE_QUEUE},
        },
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        task_send_sent_event=True,
        worker_send_task_events=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        # A child loads the embedding model before it reports "up"; billiard's 4 s default kills it.
        worker_proc_alive_timeout=120,
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={"visibility_timeout": settings.task_time_limit + 600},
        result_backend_transport_options={"visibility_timeout": settings.task_time_limit + 600},
        redis_socket_connect_timeout=2,
        beat_schedule={
            "cleanup-old-documents": {
                "task": CLEANUP,
                "schedule": float(settings.cleanup_interval_seconds),
                "options": {"queue": MAINTENANCE_QUEUE},
            },
            "recover-stuck-documents": {
                "task": RECOVER,
                "schedule": float(settings.recover_interval_seconds),
                "options": {"queue": MAINTENANCE_QUEUE},
            },
        },
    )
    return app


@setup_logging.connect
def _configure_logging(**_: Any) -> None:
    """Worker and Beat log in LOG_FORMAT at LOG_LEVEL (connecting this replaces Celery's own setup)."""
    logs.configure(Settings.from_env())


@task_prerun.connect
def _bind_task_ids(task_id: str, task: Any, args: Any = (), **_: Any) -> None:
    logs.clear()
    logs.bind(task_id=task_id, **log_ids(task.name, args or ()))


@task_postrun.connect
def _clear_task_ids(**_: Any) -> None:
    logs.clear()


celery = make_celery(Settings.from_env())

"""The Celery app: broker, backend, queues, routes, limits and the Beat schedule."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

from socrate import logs
from socrate.config import Settings
from socrate.taskqueue import (
    CLEANUP,
    MAINTENANCE_QUEUE,
    RECOVER,
    SWEEP_WEBHOOKS,
    WEBHOOKS_QUEUE,
    celery_app,
    log_ids,
)


def make_celery(settings: Settings) -> Celery:
    """The sending app (socrate.taskqueue.celery_app) plus what workers and Beat need."""
    app = celery_app(settings, include=["tasks"])
    app.conf.update(
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_send_task_events=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        # A child loads the embedding model before it reports "up"; billiard's 4 s default kills it.
        worker_proc_alive_timeout=120,
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
            "sweep-webhooks": {  # on the webhooks worker: a long document never delays a retry
                "task": SWEEP_WEBHOOKS,
                "schedule": settings.webhook_sweep_seconds,
                # A sweep not taken within 30 s is dropped: the next one does its work (no pile-up while
                # the webhooks worker is down, none lost to a busy moment either).
                "options": {
                    "queue": WEBHOOKS_QUEUE,
                    "expires": max(30.0, settings.webhook_sweep_seconds * 2),
                },
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

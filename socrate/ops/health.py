"""Dependency checks behind /readyz, each with a short timeout."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import Engine, text

from socrate.processing import ocr
from socrate.taskqueue import DOCUMENTS_QUEUE, WEBHOOKS_QUEUE, TaskQueue

CHECK_TIMEOUT = 1.5
PGVECTOR_VERSION = text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")


def check_database(engine: Engine) -> dict[str, Any]:
    """Reachable, and with the pgvector extension search needs (``python -m socrate migrate`` adds it)."""
    try:
        with engine.connect() as conn:
            pgvector = conn.execute(PGVECTOR_VERSION).scalar()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    if pgvector is None:
        return {"ok": False, "error": "the pgvector extension is missing: run python -m socrate migrate"}
    return {"ok": True, "pgvector": pgvector}


def check_redis(url: str) -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT)
        client.ping()
        client.close()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def check_workers(queue: TaskQueue | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The documents workers (required) and the webhooks workers (optional: without one, events wait
    in the database), from one question to every worker."""
    if queue is None:
        missing = {"ok": False, "error": "no queue configured"}
        return missing, missing
    try:
        counts = queue.workers_by_queue(timeout=CHECK_TIMEOUT)
    except Exception as exc:
        failed = {"ok": False, "error": type(exc).__name__}
        return failed, failed
    documents, webhooks = counts[DOCUMENTS_QUEUE], counts[WEBHOOKS_QUEUE]
    return {"ok": documents > 0, "workers": documents}, {"ok": webhooks > 0, "workers": webhooks}


def readiness(engine: Engine, redis_url: str, queue: TaskQueue | None) -> dict[str, Any]:
    """Ready when the required components are; ``optional`` ones (OCR, the webhooks worker) are listed,
    not required, since most documents do not need them. OCR is checked here, on the web's machine: the
    Dockerfile gives the web and the worker services the same image."""
    components = {"database": check_database(engine), "redis": check_redis(redis_url)}
    if components["redis"]["ok"]:
        components["workers"], webhooks = check_workers(queue)
    else:
        components["workers"] = webhooks = {"ok": False, "error": "redis unavailable"}
    ready = all(c["ok"] for c in components.values())
    return {"ready": ready, "components": components, "optional": {"ocr": ocr.status(), "webhooks": webhooks}}

"""Dependency checks behind /readyz, each with a short timeout."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import Engine, text

from socrate.processing import ocr
from socrate.taskqueue import TaskQueue

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


def check_workers(queue: TaskQueue | None) -> dict[str, Any]:
    if queue is None:
        return {"ok": False, "error": "no queue configured"}
    try:
        count = queue.ping_workers(timeout=CHECK_TIMEOUT)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": count > 0, "workers": count}


def readiness(engine: Engine, redis_url: str, queue: TaskQueue | None) -> dict[str, Any]:
    """Ready when the required components are; ``optional`` ones (OCR) are listed, not required, since
    most documents do not need them. OCR is checked here, on the web's machine: the Dockerfile gives the
    web and the worker services the same image."""
    components = {"database": check_database(engine), "redis": check_redis(redis_url)}
    components["workers"] = (
        check_workers(queue) if components["redis"]["ok"] else {"ok": False, "error": "redis unavailable"}
    )
    ready = all(c["ok"] for c in components.values())
    return {"ready": ready, "components": components, "optional": {"ocr": ocr.status()}}

"""Cleanup that Celery Beat runs (queue ``maintenance``)."""

from __future__ import annotations

import logging
import time

from socrate.context import Context

log = logging.getLogger(__name__)
INCOMING_MAX_AGE_SECONDS = 3600


def cleanup(ctx: Context, now: float | None = None) -> dict[str, int]:
    """Remove abandoned upload temp files (interrupted uploads) older than an hour."""
    now = time.time() if now is None else now
    removed = 0
    for path in ctx.storage.root.glob("tenants/*/incoming/*"):
        if path.is_file() and now - path.stat().st_mtime > INCOMING_MAX_AGE_SECONDS:
            path.unlink(missing_ok=True)
            removed += 1
    log.info("cleanup done incoming_removed=%d", removed)
    return {"incoming_removed": removed}

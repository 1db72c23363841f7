"""Fixed-window rate limits in Redis, shared by every web process and the bot.

Each process counts locally and adds its count to Redis every ``batch`` requests (1 for small
limits), so the polling hot path rarely pays a Redis round trip; the shared count can be
exceeded by at most ``batch`` requests per process. Fails open: when Redis is unreachable
requests are allowed, so a Redis outage never turns status polling into errors.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import cast

import redis

from socrate import logs
from socrate.errors import RateLimited

log = logging.getLogger(__name__)
KEY_PREFIX = "socrate:rl"
MAX_BATCH = 10
MAX_TRACKED_KEYS = 10_000


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: int

    @property
    def batch(self) -> int:
        """Local requests between Redis updates: exact for small limits, ~2 % slack for large ones."""
        return max(1, min(MAX_BATCH, self.requests // 50))


class RateLimiter:
    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (not yet in Redis, last shared total)
        self._lock = threading.Lock()

    def hit(self, scope: str, identity: str, limit: Limit) -> None:
        """Count one request for ``identity``; RateLimited (with seconds to wait) past the limit."""
        now = time.time()
        key, window = _window(scope, identity, limit, now)
        with self._lock:
            if len(self._counts) > MAX_TRACKED_KEYS:
                self._counts.clear()
            pending, shared = self._counts.get(key, (0, 0))
            pending += 1
            if pending >= limit.batch:
                shared, pending = self._flush(key, pending, shared, limit), 0
            self._counts[key] = (pending, shared)
        if shared + pending > limit.requests:
            raise _refused("Too many requests", window, limit, now)

    def check(self, scope: str, identity: str, limit: Limit) -> None:
        """RateLimited if ``identity`` has used up ``limit`` in this window; only ``add`` counts, so a
        limit can count failures alone (log-ins). Exact: every call is a Redis round trip."""
        now = time.time()
        key, window = _window(scope, identity, limit, now)
        try:
            used = int(cast("bytes | None", self.client.get(key)) or 0)
        except redis.RedisError as exc:
            log.warning("rate limiter unavailable", extra=logs.fields(key=key, error=repr(exc)))
            return
        if used >= limit.requests:
            raise _refused("Too many attempts", window, limit, now)

    def add(self, scope: str, identity: str, limit: Limit) -> None:
        """Count one event against ``check`` (fails open, like ``hit``)."""
        self._flush(_window(scope, identity, limit, time.time())[0], 1, 0, limit)

    def _flush(self, key: str, pending: int, shared: int, limit: Limit) -> int:
        try:
            total = cast(int, self.client.incrby(key, pending))
            if total == pending:
                self.client.expire(key, limit.per_seconds + 1)
            return total
        except redis.RedisError as exc:
            log.warning("rate limiter unavailable", extra=logs.fields(key=key, error=repr(exc)))
            return shared  # fail open: uncounted while Redis is away


def _window(scope: str, identity: str, limit: Limit, now: float) -> tuple[str, int]:
    """The Redis key counting ``identity`` in the fixed window ``now`` falls in, and that window."""
    window = int(now // limit.per_seconds)
    return f"{KEY_PREFIX}:{scope}:{identity}:{window}", window


def _refused(what: str, window: int, limit: Limit, now: float) -> RateLimited:
    """RateLimited with the seconds until the window ends (at least 1)."""
    retry_after = max(1, int((window + 1) * limit.per_seconds - now) + 1)
    return RateLimited(f"{what}; retry in {retry_after} s", retry_after)

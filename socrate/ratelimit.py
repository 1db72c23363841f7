"""Fixed-window rate limits in Redis, shared by every web process and the bot.

Fails open: when Redis is unreachable requests are allowed, so a Redis outage never turns
status polling into errors (the database still answers it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from socrate.errors import RateLimited

log = logging.getLogger(__name__)
KEY_PREFIX = "socrate:rl"


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: int


class RateLimiter:
    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, scope: str, identity: str, limit: Limit) -> None:
        """Count one request for ``identity``; RateLimited (with seconds to wait) past the limit."""
        now = time.time()
        window = int(now // limit.per_seconds)
        key = f"{KEY_PREFIX}:{scope}:{identity}:{window}"
        try:
            count = self.client.incr(key)
            if count == 1:
                self.client.expire(key, limit.per_seconds + 1)
        except redis.RedisError as exc:
            log.warning("rate limiter unavailable scope=%s error=%r", scope, exc)
            return
        if count > limit.requests:
            retry_after = max(1, int((window + 1) * limit.per_seconds - now) + 1)
            raise RateLimited(f"Too many requests; retry in {retry_after} s", retry_after)

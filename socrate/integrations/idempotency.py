"""Idempotent requests: the first answer to an ``Idempotency-Key`` is kept in Redis and replayed.

A client that retries an upload after a timeout sends the same key again: the same tenant gets the
first answer (the same document id) and nothing is stored twice. The same key with a different
request is refused (422). Two identical requests at once: the first holds the key while it works and
the second waits for its answer (up to WAIT_SECONDS, then 409 "still in progress"). Only successful
answers are kept: after an error the client's retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis

from socrate.errors import BadRequest, Conflict, ServiceUnavailable, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
PENDING_SECONDS = 120  # a request that died holding a key frees it after this
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
KEY_PREFIX = "socrate:idem"
# Deletes the pending entry only if it is still this request's (a slow request's key may have expired
# and been taken by another).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    status: int
    replayed: bool = False


def check_key(key: str) -> str:
    """The key as given, or BadRequest: 1 to 255 printable ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


def fingerprint(*parts: str | bytes) -> str:
    """What identifies a request's content: a hash of its parts, each length-prefixed."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class IdempotencyKeys:
    """Keys per tenant in Redis, kept ``hours`` after their first successful answer."""

    def __init__(self, redis_url: str, hours: float) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl = max(1, int(hours * 3600))
        self._release = self.client.register_script(_RELEASE)

    def run(self, tenant_id: str, key: str, request: str, produce: Callable[[], Answer]) -> Answer:
        """``produce``'s answer, or the one an earlier request with this key and content got."""
        name = f"{KEY_PREFIX}:{tenant_id}:{hashlib.sha256(key.encode()).hexdigest()}"
        token = secrets.token_hex(8)
        deadline = time.monotonic() + WAIT_SECONDS
        try:
            while True:
                if self.client.set(name, self._pending(token, request), nx=True, ex=PENDING_SECONDS):
                    return self._first(name, token, request, produce)
                entry = self._entry(name)
                if entry is None:
                    continue  # released a moment ago: take it
                if entry["request"] != request:
                    raise Unprocessable(f"This {HEADER} was already used for a different request")
                if entry["state"] == "done":
                    return Answer(entry["body"], entry["status"], replayed=True)
                if time.monotonic() > deadline:
                    raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly")
                time.sleep(POLL_SECONDS)
        except redis.RedisError as exc:
            raise ServiceUnavailable("Redis is unavailable; please retry shortly") from exc

    def _first(self, name: str, token: str, request: str, produce: Callable[[], Answer]) -> Answer:
        try:
            answer = produce()
        except BaseException:
            self._release(keys=[name], args=[self._pending(token, request)])
            raise
        if 200 <= answer.status < 300:
            done = {"state": "done", "request": request, "status": answer.status, "body": answer.body}
            self.client.set(name, json.dumps(done), ex=self.ttl)
        else:
            self._release(keys=[name], args=[self._pending(token, request)])
        return answer

    @staticmethod
    def _pending(token: str, request: str) -> str:
        return json.dumps({"state": "pending", "request": request, "token": token})

    def _entry(self, name: str) -> dict[str, Any] | None:
        raw = cast("bytes | None", self.client.get(name))
        return None if raw is None else cast("dict[str, Any]", json.loads(raw))

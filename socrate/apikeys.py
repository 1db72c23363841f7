"""API keys: shown once, stored as a SHA-256 hash behind an indexed lookup prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from socrate.errors import Unauthorized
from socrate.models import ApiKey, utcnow

PREFIX_LEN = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)
CACHE_TTL_SECONDS = 10.0
CACHE_MAX_ENTRIES = 4096

_cache: dict[str, tuple[str, float]] = {}
_cache_lock = threading.Lock()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(session: Session, tenant_id: str, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned here and never again."""
    prefix = secrets.token_hex(PREFIX_LEN // 2)
    plaintext = f"sk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(tenant_id=tenant_id, prefix=prefix, key_hash=_hash(plaintext), name=name)
    session.add(row)
    session.flush()
    return row, plaintext


def authenticate(session: Session, presented: str) -> str:
    """The tenant id for a valid, unrevoked key, else Unauthorized.

    Positive answers are cached per process for CACHE_TTL_SECONDS: clients poll status every
    2 s, and this keeps the hot path to one database read. A revoked key therefore stops
    working within that many seconds in every process.
    """
    digest = _hash(presented)
    now_mono = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[1] > now_mono:
        return hit[0]
    tenant_id = _authenticate_uncached(session, presented, digest)
    with _cache_lock:
        if len(_cache) >= CACHE_MAX_ENTRIES:
            _cache.clear()
        _cache[digest] = (tenant_id, now_mono + CACHE_TTL_SECONDS)
    return tenant_id


def _authenticate_uncached(session: Session, presented: str, digest: str) -> str:
    parts = presented.split("_")
    if len(parts) < 3 or parts[0] != "sk" or len(parts[1]) != PREFIX_LEN:
        raise Unauthorized("Invalid API key")
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthorized("Invalid API key")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now  # throttled so the polling hot path rarely writes
        session.commit()
    return row.tenant_id

"""API keys: shown once, stored as a SHA-256 hash behind an indexed lookup prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socrate.errors import BadRequest, Unauthorized
from socrate.models import ApiKey, iso, utcnow
from socrate.tenancy import get_owned, select_owned

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
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("Key name must be 1-200 characters")
    prefix = secrets.token_hex(PREFIX_LEN // 2)
    plaintext = f"sk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(tenant_id=tenant_id, prefix=prefix, key_hash=_hash(plaintext), name=name)
    session.add(row)
    session.flush()
    return row, plaintext


def create(session: Session, tenant_id: str, name: str) -> tuple[ApiKey, str]:
    """Issue and commit a key the tenant asked for (the dashboard's "Create key")."""
    row, plaintext = issue(session, tenant_id, name)
    session.commit()
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
    last = row.last_used_at
    if last is None or now - last.replace(tzinfo=now.tzinfo) > LAST_USED_RESOLUTION:
        row.last_used_at = now  # throttled so the polling hot path rarely writes
        session.commit()
    return row.tenant_id


def list_keys(session: Session, tenant_id: str) -> list[ApiKey]:
    """The tenant's usable keys, newest first (revoked ones are gone for good)."""
    stmt = select_owned(ApiKey, tenant_id).where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt.order_by(ApiKey.created_at.desc(), ApiKey.id)))


def revoke(session: Session, tenant_id: str, key_id: str) -> ApiKey:
    """Mark the tenant's key revoked (another tenant's id is NotFound) and drop it from this cache.

    Other processes still honour a cached answer for up to CACHE_TTL_SECONDS.
    """
    row = get_owned(session, ApiKey, key_id, tenant_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    with _cache_lock:
        _cache.pop(row.key_hash, None)
    return row


def key_view(row: ApiKey) -> dict[str, Any]:
    """What a tenant may see of a key: never the hash, only the lookup prefix."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": f"sk_{row.prefix}",
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
    }

"""API keys: shown once, stored as a SHA-256 hash behind an indexed lookup prefix.

Every request checks the key against the database (no cache), so a revoked key is refused at
once in every process; status polling does it in the same query as the document read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from socrate.errors import Unauthorized
from socrate.models import ApiKey, utcnow

PREFIX_LEN = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)
INVALID = "Invalid API key"


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


def parse(presented: str) -> tuple[str, str]:
    """(lookup prefix, sha256) of a presented key, or Unauthorized if it is not shaped like one."""
    parts = presented.split("_")
    if len(parts) < 3 or parts[0] != "sk" or len(parts[1]) != PREFIX_LEN:
        raise Unauthorized(INVALID)
    return parts[1], _hash(presented)


def verify(stored_hash: str, revoked_at: datetime | None, digest: str) -> None:
    """Constant-time comparison; revoked keys and wrong secrets are Unauthorized."""
    if revoked_at is not None or not hmac.compare_digest(stored_hash, digest):
        raise Unauthorized(INVALID)


def touch(conn: Connection, prefix: str, last_used_at: datetime | None) -> None:
    """Record use on an autocommit connection, at most every few minutes (polling rarely writes)."""
    now = utcnow()
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        conn.execute(update(ApiKey).where(ApiKey.prefix == prefix).values(last_used_at=now))


def authenticate(session: Session, presented: str) -> str:
    """The tenant id for a valid, unrevoked key, else Unauthorized (one indexed read)."""
    prefix, digest = parse(presented)
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise Unauthorized(INVALID)
    verify(row.key_hash, row.revoked_at, digest)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    return row.tenant_id

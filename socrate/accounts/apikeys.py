"""API keys: shown once, stored as a SHA-256 hash behind an indexed lookup prefix.

Every request checks the key against the database (no cache), so a revoked key is refused at
once in every process; status polling does it in the same query as the document read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from socrate import textfields
from socrate.db.models import ApiKey, iso, utcnow
from socrate.errors import BadRequest, NotFound, Unauthorized
from socrate.tenancy import get_owned, select_owned

PREFIX_LEN = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)
INVALID = "Invalid API key"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(session: Session, tenant_id: str, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned here and never again."""
    name = textfields.refuse_controls(name, "Key name").strip()
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


def list_keys(session: Session, tenant_id: str) -> list[ApiKey]:
    """The tenant's usable keys, newest first (revoked ones are gone for good)."""
    stmt = select_owned(ApiKey, tenant_id).where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt.order_by(ApiKey.created_at.desc(), ApiKey.id)))


def revoke(session: Session, tenant_id: str, key_id: str) -> ApiKey:
    """Mark the tenant's key revoked (another tenant's id is NotFound); refused from the next request."""
    row = get_owned(session, ApiKey, key_id, tenant_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


def revoke_by_operator(session: Session, prefix_or_id: str) -> ApiKey:
    """Revoke any tenant's key by its id, its prefix (``sk_abc123def456`` or ``abc123def456``) or the
    full key; the admin CLI's answer to a leaked key."""
    text = prefix_or_id.strip()
    parts = text.split("_")
    prefix = parts[1] if len(parts) >= 2 and parts[0] == "sk" else text
    row = session.scalars(select(ApiKey).where((ApiKey.id == text) | (ApiKey.prefix == prefix))).first()
    if row is None:
        raise NotFound("API key not found")
    return revoke(session, row.tenant_id, row.id)


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

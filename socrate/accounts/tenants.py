"""Tenant administration: create a tenant with its first API key; delete one with all its data."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, func, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from socrate import logs
from socrate.accounts import apikeys
from socrate.config import Settings
from socrate.db.models import ApiKey, Document, Membership, Tenant, User, iso
from socrate.errors import BadRequest, NotFound
from socrate.storage import Storage

log = logging.getLogger(__name__)


def add(session: Session, name: str, settings: Settings) -> Tenant:
    """A new tenant with default quotas, flushed but not committed (callers add its first member)."""
    name = name.strip()
    if not name:
        raise BadRequest("Tenant name is required")
    tenant = Tenant(
        name=name[:200],
        max_documents=settings.default_max_documents,
        max_bytes=settings.default_max_bytes,
        max_concurrent=settings.default_max_concurrent,
    )
    session.add(tenant)
    session.flush()
    return tenant


def create(session: Session, name: str, settings: Settings) -> tuple[Tenant, str]:
    """A new tenant with default quotas and its first key (plaintext returned once)."""
    tenant = add(session, name, settings)
    _, key = apikeys.issue(session, tenant.id)
    session.commit()
    return tenant, key


def get(session: Session, tenant_id: str) -> Tenant:
    """The tenant or NotFound (operators address tenants by id)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


def overview(session: Session) -> list[dict[str, object]]:
    """Every tenant with its document count, stored bytes and usable keys, oldest first."""
    docs = (
        select(Document.tenant_id, func.count().label("n"), func.sum(Document.size_bytes).label("bytes"))
        .group_by(Document.tenant_id)
        .subquery()
    )
    keys = (
        select(ApiKey.tenant_id, func.count().label("n"))
        .where(ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.tenant_id)
        .subquery()
    )
    rows = session.execute(
        select(Tenant, docs.c.n, docs.c.bytes, keys.c.n)
        .outerjoin(docs, docs.c.tenant_id == Tenant.id)
        .outerjoin(keys, keys.c.tenant_id == Tenant.id)
        .order_by(Tenant.created_at, Tenant.id)
    ).all()
    return [
        {
            "tenant_id": t.id,
            "name": t.name,
            "created_at": iso(t.created_at),
            "documents": n or 0,
            "bytes": int(size or 0),
            "api_keys": k or 0,
        }
        for t, n, size, k in rows
    ]


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Tenant)) or 0


def delete(session: Session, tenant_id: str, *, storage: Storage) -> None:
    """Erase a tenant: its rows (the database cascades from ``tenants``) and every stored byte.

    A run still encoding one of its documents loses ownership at its next write and removes
    whatever it published, so nothing under ``tenants/<id>/`` outlives this call for long.
    """
    # People whose log-in workspace this is but who belong to others keep their accounts (the rows
    # that point at the tenant go with it: its chats, and people in no other workspace).
    for user in session.scalars(select(User).where(User.tenant_id == tenant_id, User.email.is_not(None))):
        other = session.scalar(
            select(Membership.tenant_id).where(
                Membership.user_id == user.id, Membership.tenant_id != tenant_id
            )
        )
        if other is not None:
            user.tenant_id = other
    session.flush()
    result = cast("CursorResult[Any]", session.execute(sql_delete(Tenant).where(Tenant.id == tenant_id)))
    if not result.rowcount:
        session.rollback()
        raise NotFound("tenant not found")
    session.commit()
    storage.delete_prefix(storage.tenant_prefix(tenant_id))
    log.info("tenant deleted", extra=logs.fields(tenant_id=tenant_id))

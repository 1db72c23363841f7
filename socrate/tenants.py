"""Tenant administration: create a tenant with its first API key."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socrate import apikeys
from socrate.config import Settings
from socrate.errors import BadRequest
from socrate.models import Tenant


def add(session: Session, name: str, settings: Settings) -> Tenant:
    """A new tenant with default quotas, flushed but not committed (callers add its first member)."""
    name = name.strip()
    if not name:
        raise BadRequest("Tenant name is required")
    tenant = Tenant(
        name=name[:200], max_documents=settings.default_max_documents, max_bytes=settings.default_max_bytes
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


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Tenant)) or 0

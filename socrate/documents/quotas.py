"""A tenant's quotas: how many documents it may keep, and how many bytes of files.

Checked at upload (documents.service) and again by the worker when a link's download reveals its size
(processing/pipeline.py).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socrate.config import MB
from socrate.db.models import Document, Tenant
from socrate.errors import QuotaExceeded
from socrate.tenancy import select_owned


def check_count(session: Session, tenant: Tenant) -> None:
    used = session.scalar(select(func.count()).select_from(select_owned(Document, tenant.id).subquery()))
    if (used or 0) >= tenant.max_documents:
        raise QuotaExceeded(f"Document quota reached ({tenant.max_documents} documents)")


def check_bytes(session: Session, tenant: Tenant, incoming: int) -> None:
    """Raises QuotaExceeded when ``incoming`` more bytes would pass the tenant's limit."""
    stmt = select(func.coalesce(func.sum(Document.size_bytes), 0)).where(Document.tenant_id == tenant.id)
    used = session.scalar(stmt) or 0
    if used + incoming > tenant.max_bytes:
        raise QuotaExceeded(f"Storage quota exceeded ({tenant.max_bytes // MB} MB per tenant)")

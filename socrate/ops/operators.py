"""Operator views across all tenants: document listings, stats, reprocessing, and the failed
documents like a dead-letter queue.

Only the admin CLI calls these; each action on a document still goes through the tenant-scoped
document service with the document's own tenant.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socrate.db.models import Document, Tenant, iso
from socrate.documents import lifecycle
from socrate.documents import service as documents
from socrate.documents.lifecycle import ACTIVE, Status
from socrate.search import usage
from socrate.taskqueue import TaskQueue


def failed_report(session: Session, limit: int = 100) -> dict[str, Any]:
    """Counts of failed documents by error, and the newest ``limit`` of them."""
    rows = session.scalars(
        select(Document).where(Document.status == Status.FAILED).order_by(Document.updated_at.desc())
    )
    failed = list(rows)
    return {
        "total": len(failed),
        "by_error": dict(Counter(doc.error_message or "unknown" for doc in failed).most_common()),
        "documents": [
            {
                "document_id": doc.id,
                "tenant_id": doc.tenant_id,
                "filename": doc.filename,
                "error": doc.error_message,
                "attempts": doc.attempts,
                "failed_at": doc.updated_at.isoformat(),
            }
            for doc in failed[:limit]
        ],
    }


def retry_failed(session: Session, queue: TaskQueue, document_ids: list[str] | None) -> list[str]:
    """Re-queue the given failed documents (all of them when ``document_ids`` is None)."""
    stmt = select(Document.id, Document.tenant_id).where(Document.status == Status.FAILED)
    if document_ids is not None:
        stmt = stmt.where(Document.id.in_(document_ids))
    targets = session.execute(stmt).all()
    for doc_id, tenant_id in targets:
        documents.retry(session, tenant_id, doc_id, queue=queue)
    return [doc_id for doc_id, _ in targets]


def list_documents(
    session: Session, *, tenant_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest documents of every tenant (or one), optionally with one status."""
    status = lifecycle.status_filter(status)
    stmt = select(Document).order_by(Document.created_at.desc(), Document.id).limit(limit)
    if tenant_id is not None:
        stmt = stmt.where(Document.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(Document.status == status)
    return [
        {
            "document_id": doc.id,
            "tenant_id": doc.tenant_id,
            "filename": doc.filename,
            "status": doc.status,
            "progress": doc.progress,
            "size_bytes": doc.size_bytes,
            "created_at": iso(doc.created_at),
            "error": doc.error_message,
        }
        for doc in session.scalars(stmt)
    ]


def reprocess(session: Session, queue: TaskQueue, document_ids: list[str]) -> dict[str, str]:
    """Queue documents again from a clean slate, whatever their final status; per id: what happened."""
    results: dict[str, str] = {}
    for doc_id in document_ids:
        doc = session.scalars(select(Document).where(Document.id == doc_id).with_for_update()).first()
        if doc is None:
            results[doc_id] = "not found"
        elif doc.status in ACTIVE:
            session.rollback()
            results[doc_id] = f"already {doc.status}"
        else:
            doc.attempts = 0
            ok = documents.requeue(session, doc, queue, "Queued again for processing by an operator")
            results[doc_id] = "queued" if ok else "queue unavailable"
    return results


def stats(session: Session) -> dict[str, Any]:
    """Documents by status, stored bytes, tenants, and today's model tokens per tenant (Ask)."""
    by_status = dict.fromkeys(map(str, Status), 0)
    by_status.update(
        dict(session.execute(select(Document.status, func.count()).group_by(Document.status)).tuples().all())
    )
    stored = session.scalar(select(func.coalesce(func.sum(Document.size_bytes), 0))) or 0
    return {
        "documents": by_status,
        "documents_total": sum(by_status.values()),
        "bytes": int(stored),
        "tenants": session.scalar(select(func.count()).select_from(Tenant)) or 0,
        "model_usage_today": usage.by_tenant_today(session),
    }

"""Operator views across all tenants: the failed documents, like a dead-letter queue.

Only the admin CLI calls these; each action on a document still goes through the tenant-scoped
document service with the document's own tenant.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socrate import documents
from socrate.models import Document
from socrate.queue import TaskQueue


def failed_report(session: Session, limit: int = 100) -> dict[str, Any]:
    """Counts of failed documents by error, and the newest ``limit`` of them."""
    rows = session.scalars(
        select(Document).where(Document.status == "failed").order_by(Document.updated_at.desc())
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
    stmt = select(Document.id, Document.tenant_id).where(Document.status == "failed")
    if document_ids is not None:
        stmt = stmt.where(Document.id.in_(document_ids))
    targets = session.execute(stmt).all()
    for doc_id, tenant_id in targets:
        documents.retry(session, tenant_id, doc_id, queue=queue)
    return [doc_id for doc_id, _ in targets]

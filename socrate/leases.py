"""Leases on runs: the worker that claimed a document renews one while its run is alive.

Recovery can then tell a dead worker's document (its lease runs out: re-queued within LEASE_SECONDS
plus one recovery interval) from a long-running one (renewed, never touched), and a worker that
restarts under the same node name takes back at once what it was running when it died.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session, sessionmaker

from socrate.db import session_scope
from socrate.errors import NotFound
from socrate.models import Document, utcnow
from socrate.tenancy import update_owned

log = logging.getLogger(__name__)
BEATS_PER_LEASE = 6  # a few missed beats (a busy database) never cost a live run its lease


def expired(now: datetime, lease_seconds: float) -> ColumnElement[bool]:
    """Processing documents whose run has not renewed its lease (rows from before leases: their last
    update stands in for the heartbeat)."""
    last_heard = func.coalesce(Document.heartbeat_at, Document.updated_at)
    return (Document.status == "processing") & (last_heard < now - timedelta(seconds=lease_seconds))


class Heartbeat:
    """Renews the run's lease from a thread until the block ends or the run no longer owns the row
    (the run itself finds out at its next write)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        tenant_id: str,
        document_id: str,
        task_id: str,
        lease_seconds: int,
    ) -> None:
        self.factory, self.tenant_id, self.document_id = factory, tenant_id, document_id
        self.task_id = task_id
        self.interval = max(1.0, lease_seconds / BEATS_PER_LEASE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{document_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        owned = (Document.task_id == self.task_id, Document.status == "processing")
        while not self._stop.wait(self.interval):
            try:
                with session_scope(self.factory) as session:
                    update_owned(session, Document, self.document_id, self.tenant_id, only_if=owned,
                                 heartbeat_at=utcnow())  # fmt: skip
            except NotFound:
                return
            except Exception:  # the database may be away for a moment: the next beat tries again
                log.warning("lease renewal failed document_id=%s", self.document_id, exc_info=True)

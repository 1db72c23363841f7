"""Leases on runs: the worker that claimed a document renews one while its run is alive.

Recovery can then tell a dead worker's document (its lease runs out: re-queued within LEASE_SECONDS
plus one recovery interval) from a long-running one (renewed, never touched), and a worker that
restarts under the same node name takes back at once what it was running when it died.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session, sessionmaker

from socrate import logs
from socrate.db import session_scope
from socrate.db.models import Document, utcnow
from socrate.documents.lifecycle import Status
from socrate.errors import NotFound
from socrate.tenancy import update_owned

log = logging.getLogger(__name__)
BEATS_PER_LEASE = 6  # a few missed beats (a busy database) never cost a live run its lease


def expired(now: datetime, lease_seconds: float) -> ColumnElement[bool]:
    """Processing documents whose run has not renewed its lease (rows from before leases: their last
    update stands in for the heartbeat)."""
    last_heard = func.coalesce(Document.heartbeat_at, Document.updated_at)
    return (Document.status == Status.PROCESSING) & (last_heard < now - timedelta(seconds=lease_seconds))


@dataclass(frozen=True)
class Run:
    """One run of a document, which owns the row while the row names its task and is processing."""

    factory: sessionmaker[Session]
    tenant_id: str
    document_id: str
    task_id: str

    def write(self, also: Callable[[Session], None] | None = None, **values: object) -> None:
        """Update the row in a short transaction (running ``also`` in it); NotFound once the run no
        longer owns the row (deleted, cancelled, or re-dispatched under another task)."""
        owned = (Document.task_id == self.task_id, Document.status == Status.PROCESSING)
        with session_scope(self.factory) as session:
            update_owned(session, Document, self.document_id, self.tenant_id, only_if=owned, **values)
            if also is not None:
                also(session)


class Heartbeat:
    """Renews the run's lease from a thread until the block ends or the run no longer owns the row
    (the run itself finds out at its next write)."""

    def __init__(self, run: Run, lease_seconds: int) -> None:
        self.run = run
        self.interval = max(1.0, lease_seconds / BEATS_PER_LEASE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run.document_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run.write(heartbeat_at=utcnow())
            except NotFound:
                return
            except Exception:  # the database may be away for a moment: the next beat tries again
                log.warning(
                    "lease renewal failed", extra=logs.fields(document_id=self.run.document_id), exc_info=True
                )

"""A document's lifecycle: its statuses, which transition is legal from which status, and what each
transition writes to the row. Every module that changes a document's status goes through here.

    queued ──claim──► processing ──ready──► ready
      │  ▲               │  │                 │
      │  └──requeue──────┘  └──fail──► failed │
      └──cancel──► cancelled ◄──cancel── processing
    failed / cancelled ──retry──► queued;  ready / failed ──requeue (reprocess)──► queued

The worker writes its transitions as conditional UPDATEs (leases.Run: only while its task owns a
processing row); services write theirs on a locked ORM row through ``apply``, which refuses an
illegal one. Both take their columns from the builders below, so a status never travels without
its task state, message and timestamps. ``status_view`` is how a status looks to clients (polling,
the API, webhooks).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from socrate.errors import BadRequest, Conflict


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (Status.QUEUED, Status.PROCESSING)
FINAL = (Status.READY, Status.FAILED, Status.CANCELLED)


class Transition(StrEnum):
    CLAIM = "claim"
    READY = "ready"
    FAIL = "fail"
    CANCEL = "cancel"
    RETRY = "retry"
    REQUEUE = "requeue"


# From which statuses each transition may start.
LEGAL: dict[Transition, frozenset[Status]] = {
    Transition.CLAIM: frozenset(ACTIVE),  # processing: the same task redelivered after a lost child
    Transition.READY: frozenset({Status.PROCESSING}),
    Transition.FAIL: frozenset(ACTIVE),  # queued: recovery gives up on a document it cannot send
    Transition.CANCEL: frozenset(ACTIVE),
    Transition.RETRY: frozenset({Status.FAILED, Status.CANCELLED}),
    # recovery (a dead worker's or a lost message's document), reprocessing (ready, failed), retry
    Transition.REQUEUE: frozenset(Status),
}
REFUSALS = {
    Transition.CANCEL: "Only queued or processing documents can be cancelled",
    Transition.RETRY: "Only failed or cancelled documents can be retried",
}


class Row(Protocol):
    """A document row (models.Document; this module stays below models in the imports)."""

    status: str


def status_filter(value: str | None) -> Status | None:
    """A ``?status=`` given by a client or an operator: None for all, else a Status or BadRequest."""
    if value is None:
        return None
    if value not in set(Status):
        raise BadRequest(f"status must be one of: {', '.join(Status)}")
    return Status(value)


def is_legal(transition: Transition, current: str) -> bool:
    return current in LEGAL[transition]


def require(doc: Row, transition: Transition) -> None:
    """Conflict (409) unless ``transition`` is legal from the row's status."""
    if not is_legal(transition, doc.status):
        refusal = REFUSALS.get(transition, f"A {doc.status} document cannot {transition.value}")
        raise Conflict(f"{refusal} (this one is {doc.status})")


def apply(doc: Row, transition: Transition, fields: dict[str, Any]) -> None:
    """Set ``fields`` on a (locked) row, or Conflict if ``transition`` is not legal from its status."""
    require(doc, transition)
    for name, value in fields.items():
        setattr(doc, name, value)


def queued(task_id: str, message: str, now: datetime) -> dict[str, Any]:
    """Waiting for a worker under ``task_id`` (a new id supersedes any run of the old one)."""
    return {"status": Status.QUEUED, "task_state": "PENDING", "progress": 0, "message": message,
            "task_id": task_id, "error_message": None, "completed_at": None, "queued_at": now,
            "updated_at": now}  # fmt: skip


def claimed(worker: str | None, now: datetime) -> dict[str, Any]:
    """A worker took the run, and its lease starts now."""
    return {"status": Status.PROCESSING, "task_state": "STARTED", "progress": 10, "message": "Reading",
            "started_at": now, "updated_at": now, "heartbeat_at": now, "worker": worker,
            "error_message": None}  # fmt: skip


def ready(now: datetime, **outputs: Any) -> dict[str, Any]:
    """Searchable; ``outputs`` are what the run produced (files, counts, encoder)."""
    return {"status": Status.READY, "task_state": "SUCCESS", "progress": 100, "message": "Ready",
            "processed_at": now, "completed_at": now, "updated_at": now, **outputs}  # fmt: skip


def failed(reason: str, now: datetime) -> dict[str, Any]:
    """Finished without a result; ``reason`` is what the user reads."""
    return {"status": Status.FAILED, "task_state": "FAILURE", "message": "Failed", "error_message": reason,
            "last_error": reason, "completed_at": now, "updated_at": now}  # fmt: skip


def cancelled(now: datetime) -> dict[str, Any]:
    return {"status": Status.CANCELLED, "task_state": "REVOKED", "message": "Cancelled", "completed_at": now,
            "updated_at": now}  # fmt: skip


def status_view(doc: Any) -> dict[str, Any]:
    """The lightweight body clients poll every 2 s."""
    return {
        "document_id": doc.id,
        "status": doc.status,
        "progress": doc.progress,
        "task_state": doc.task_state,
        "message": doc.error_message if doc.status == Status.FAILED else doc.message,
        "total_chunks": doc.total_chunks,
        "ready": doc.status == Status.READY,
    }

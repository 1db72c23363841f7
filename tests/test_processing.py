"""The worker's pipeline (socrate.processing.pipeline) run in-process with a fake encoder: every outcome a run
can have, on the suite's database and storage, without a Celery worker or the embedding model."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from socrate.config import Settings
from socrate.context import Context
from socrate.db.models import Chunk, Document, Tenant
from socrate.documents import service as documents
from socrate.processing import pipeline
from tests import docgen
from tests.conftest import TenantHandle
from tests.fakes import CHUNK_CHARS, FakeEncoder, KeptQueue


def _queued(
    ctx: Context, settings: Settings, tenant: TenantHandle, content: bytes, name: str
) -> tuple[str, str]:
    """A document created as the API creates it; returns its id and the task id it was queued under."""
    queue = KeptQueue()
    with ctx.sessions() as session:
        doc = documents.create(session, tenant.id, documents.Upload(name, io.BytesIO(content)), source="api",
                               storage=ctx.storage, queue=queue,
                               settings=settings, allow_duplicate=True).document  # fmt: skip
    ((document_id, tenant_id, task_id),) = queue.sent
    assert (document_id, tenant_id) == (doc.id, tenant.id)
    assert isinstance(task_id, str)
    return doc.id, task_id


def _run(ctx: Context, settings: Settings, tenant: TenantHandle, doc_id: str, task_id: str,
         encoder: Callable[[], object] = FakeEncoder) -> str:  # fmt: skip
    return pipeline.process(ctx.sessions, tenant.id, doc_id, task_id=task_id, storage=ctx.storage,
                              settings=settings, get_encoder=encoder)  # type: ignore[arg-type]  # fmt: skip


def _row(ctx: Context, doc_id: str) -> Document:
    with ctx.sessions() as session:
        doc = session.get(Document, doc_id)
        assert doc is not None
        return doc


def _set(ctx: Context, doc_id: str, **values: object) -> None:
    with ctx.sessions() as session:
        session.execute(update(Document).where(Document.id == doc_id).values(**values))
        session.commit()


def test_a_document_runs_from_queued_to_ready_with_its_search_rows(ctx, settings, tenant) -> None:
    text = docgen.txt("en", count=6)
    doc_id, task_id = _queued(ctx, settings, tenant, text, "notes.txt")
    assert _row(ctx, doc_id).status == "queued"

    assert _run(ctx, settings, tenant, doc_id, task_id) == "ready"
    doc = _row(ctx, doc_id)
    expected = -(-len(text.decode().strip()) // CHUNK_CHARS)  # the fake cuts every CHUNK_CHARS characters
    assert (doc.status, doc.progress, doc.message, doc.attempts) == ("ready", 100, "Ready", 1)
    assert doc.language == "en" and doc.encoder == "fake" and doc.total_chunks == expected
    assert doc.outputs and set(doc.outputs) == {"index", "metadata"}
    with ctx.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == doc_id))
    assert rows == expected


def test_a_file_that_cannot_be_read_fails_with_its_reason(ctx, settings, tenant) -> None:
    doc_id, task_id = _queued(ctx, settings, tenant, b"%PDF-1.4\n" + b"\x13garbage" * 500, "broken.pdf")
    assert _run(ctx, settings, tenant, doc_id, task_id) == "failed"
    doc = _row(ctx, doc_id)
    assert doc.status == "failed" and "corrupt" in (doc.error_message or "") and doc.attempts == 1


def test_a_run_whose_task_was_replaced_writes_nothing(ctx, settings, tenant) -> None:
    doc_id, task_id = _queued(ctx, settings, tenant, docgen.txt(), "a.txt")
    _set(ctx, doc_id, task_id="someone-else")
    assert _run(ctx, settings, tenant, doc_id, task_id) == "superseded"
    doc = _row(ctx, doc_id)
    assert (doc.status, doc.attempts, doc.outputs) == ("queued", 0, None)


def test_a_cancelled_document_is_left_alone(ctx, settings, tenant) -> None:
    doc_id, task_id = _queued(ctx, settings, tenant, docgen.txt(), "a.txt")
    _set(ctx, doc_id, status="cancelled")
    assert _run(ctx, settings, tenant, doc_id, task_id) == "cancelled"
    assert _row(ctx, doc_id).attempts == 0


def test_a_tenant_at_its_cap_waits_without_spending_an_attempt(ctx, settings, make_tenant) -> None:
    tenant = make_tenant("capped")
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(max_concurrent=1))
        session.commit()
    busy_id, _ = _queued(ctx, settings, tenant, docgen.txt(), "running.txt")
    _set(ctx, busy_id, status="processing")
    doc_id, task_id = _queued(ctx, settings, tenant, docgen.txt(), "waiting.txt")
    with pytest.raises(pipeline.Busy):
        _run(ctx, settings, tenant, doc_id, task_id)
    assert (_row(ctx, doc_id).status, _row(ctx, doc_id).attempts) == ("queued", 0)


class _Crashing(FakeEncoder):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def encode(self, *args: object, **kwargs: object):
        raise self.error


def test_an_encoder_bug_fails_with_the_internal_reason(ctx, settings, tenant) -> None:
    doc_id, task_id = _queued(ctx, settings, tenant, docgen.txt(), "a.txt")
    assert _run(ctx, settings, tenant, doc_id, task_id, lambda: _Crashing(RuntimeError("bug"))) == "failed"
    doc = _row(ctx, doc_id)
    assert doc.error_message == pipeline.INTERNAL and "bug" not in doc.error_message


def test_a_temporary_problem_is_retried_and_said_so(ctx, settings, tenant) -> None:
    doc_id, task_id = _queued(ctx, settings, tenant, docgen.txt(), "a.txt")
    with pytest.raises(pipeline.Transient) as raised:
        _run(ctx, settings, tenant, doc_id, task_id, lambda: _Crashing(ConnectionError("redis went away")))
    assert raised.value.attempts == 1
    doc = _row(ctx, doc_id)
    assert doc.task_state == "RETRY" and "attempt 1 of 3" in (doc.last_error or "")

"""Cancel, retry, idempotent redelivery, stuck-document recovery, cleanup and the dead-letter CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from socrate.db.models import Document, LinkCode, Tenant, utcnow
from socrate.ops import maintenance
from socrate.processing import pipeline
from socrate.taskqueue import TaskQueue
from tests import docgen
from tests.conftest import search_rows, upload, wait_done
from tests.processes import ROOT


def _set(ctx, doc_id: str, **values) -> None:
    with ctx.sessions() as session:
        session.execute(update(Document).where(Document.id == doc_id).values(**values))
        session.commit()


def _get(ctx, doc_id: str) -> Document | None:
    with ctx.sessions() as session:
        return session.get(Document, doc_id)


def _row(ctx, doc_id: str) -> Document:
    doc = _get(ctx, doc_id)
    assert doc is not None
    return doc


_serial = itertools.count()


def _ready_document(client, tenant) -> str:
    """A new ready document (its own content: the same file twice would be one document)."""
    content = docgen.txt("en", needle=f"This is document number {next(_serial)}.")
    doc_id = upload(client, tenant, content, "doc.txt").get_json()["document_id"]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    return doc_id


def test_cancel_stops_a_document_and_the_worker_leaves_it_cancelled(
    client, worker, tenant, settings, ctx
) -> None:
    doc_id = upload(client, tenant, docgen.txt("en", count=300), "long.txt").get_json()["document_id"]
    response = client.post(f"/api/documents/{doc_id}/cancel", headers=tenant.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    # One worker slot: once a later document is ready, the cancelled one has been dealt with.
    _ready_document(client, tenant)
    status = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).get_json()
    assert status["status"] == "cancelled" and status["message"] == "Cancelled"
    folder = settings.storage_dir / "tenants" / tenant.id / "documents" / doc_id
    assert not (folder / "memvid").exists() and (folder / "original.txt").is_file()
    assert search_rows(ctx, doc_id) == (0, 0)


def test_cancel_or_retry_in_the_wrong_state_is_409(client, worker, tenant) -> None:
    doc_id = _ready_document(client, tenant)
    for action in ("cancel", "retry"):
        response = client.post(f"/api/documents/{doc_id}/{action}", headers=tenant.headers)
        assert response.status_code == 409 and "ready" in response.get_json()["error"]


def test_retry_requeues_a_failed_document_to_ready(client, worker, tenant, ctx) -> None:
    doc_id = _ready_document(client, tenant)
    _set(ctx, doc_id, status="failed", error_message="Worker crashed", attempts=3)
    response = client.post(f"/api/documents/{doc_id}/retry", headers=tenant.headers)
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    final, _ = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready"
    details = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()
    assert details["attempts"] == 1 and details["error"] is None
    assert search_rows(ctx, doc_id)[0] == final["total_chunks"]  # the re-encode replaced its rows


def test_other_tenant_cannot_cancel_or_retry(client, tenant, other_tenant) -> None:
    doc_id = upload(client, tenant, docgen.txt(), "mine.txt").get_json()["document_id"]
    for action in ("cancel", "retry"):
        response = client.post(f"/api/documents/{doc_id}/{action}", headers=other_tenant.headers)
        assert response.status_code == 404


@pytest.mark.parametrize(
    "bad_id", ["nope", "1" * 300, "00000000-0000-0000-0000-00000000000g", "%00abc", "..%2F..%2Fetc"]
)
def test_malformed_ids_are_404_not_500(client, tenant, bad_id) -> None:
    for method, suffix in [
        ("get", "/status"),
        ("get", ""),
        ("delete", ""),
        ("post", "/cancel"),
        ("post", "/retry"),
    ]:
        response = getattr(client, method)(f"/api/documents/{bad_id}{suffix}", headers=tenant.headers)
        assert response.status_code == 404, (method, suffix, response.status_code)


def test_redelivered_task_reuses_the_finished_outputs(client, worker, tenant, ctx, settings) -> None:
    """A second delivery of the same task (after a crash) finds the document final and does nothing."""
    doc_id = _ready_document(client, tenant)
    doc = _row(ctx, doc_id)
    assert doc.outputs is not None and doc.task_id is not None
    index = settings.storage_dir / doc.outputs["index"]
    before = index.stat().st_mtime_ns

    def run(task_id: str) -> str:
        return pipeline.process(ctx.sessions, tenant.id, doc_id, task_id=task_id, storage=ctx.storage,
                                  settings=settings)  # fmt: skip

    assert run(doc.task_id) == "ready" and index.stat().st_mtime_ns == before
    assert run(str(uuid.uuid4())) == "superseded"
    folder = index.parent.parent
    assert sorted(p.name for p in folder.iterdir()) == ["memvid", "original.txt"]


def test_recovery_requeues_a_document_no_worker_holds(client, worker, tenant, ctx, celery_app) -> None:
    doc_id = _ready_document(client, tenant)
    # As left by a worker killed mid-task: processing, its lease not renewed for an hour, its task nowhere.
    hour_ago = utcnow() - timedelta(hours=1)
    _set(ctx, doc_id, status="processing", progress=40, task_id=str(uuid.uuid4()), attempts=1,
         updated_at=hour_ago, heartbeat_at=hour_ago, started_at=hour_ago)  # fmt: skip
    counts = maintenance.recover_stuck(ctx, TaskQueue(celery_app))
    assert counts["requeued"] >= 1
    final, _ = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready"
    assert _row(ctx, doc_id).attempts == 2


def test_recovery_fails_a_document_out_of_attempts(client, worker, tenant, ctx, celery_app) -> None:
    doc_id = _ready_document(client, tenant)
    _set(ctx, doc_id, status="processing", task_id=str(uuid.uuid4()), attempts=pipeline.MAX_ATTEMPTS,
         updated_at=utcnow() - timedelta(hours=1), heartbeat_at=utcnow() - timedelta(hours=1),
         started_at=utcnow() - timedelta(minutes=61))  # fmt: skip
    maintenance.recover_stuck(ctx, TaskQueue(celery_app))
    status = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).get_json()
    assert status["status"] == "failed" and "did not complete after 3 attempts" in status["message"]


def test_recovery_leaves_recent_and_final_documents_alone(client, worker, tenant, ctx, celery_app) -> None:
    doc_id = _ready_document(client, tenant)
    _set(ctx, doc_id, updated_at=utcnow() - timedelta(days=2))
    busy = _ready_document(client, tenant)
    now = utcnow()
    _set(ctx, busy, status="processing", task_id=str(uuid.uuid4()), updated_at=now, heartbeat_at=now)
    maintenance.recover_stuck(ctx, TaskQueue(celery_app))
    assert _row(ctx, doc_id).status == "ready" and _row(ctx, busy).status == "processing"
    _set(ctx, busy, status="ready")


def test_cleanup_removes_what_expired_and_nothing_active(client, worker, make_tenant, ctx, settings) -> None:
    tenant = make_tenant("cleanup")
    old_failed, old_active, kept = (_ready_document(client, tenant) for _ in range(3))
    long_ago = utcnow() - timedelta(days=settings.failed_retention_days + 1)
    _set(ctx, old_failed, status="failed", updated_at=long_ago)
    _set(ctx, old_active, status="processing", updated_at=long_ago, created_at=long_ago)
    docs = settings.storage_dir / "tenants" / tenant.id / "documents"
    orphan = docs / str(uuid.uuid4())
    (orphan / "memvid").mkdir(parents=True)
    partial = docs / kept / ".tmp-deadbeef"
    partial.mkdir()
    hour_ago = time.time() - 2 * 3600
    for path in (orphan, partial):
        os.utime(path, (hour_ago, hour_ago))
    with ctx.sessions() as session:
        session.add(
            LinkCode(tenant_id=tenant.id, code=uuid.uuid4().hex, expires_at=utcnow() - timedelta(minutes=1))
        )
        session.commit()

    counts = maintenance.cleanup(ctx)
    assert counts["documents_removed"] >= 1 and counts["orphans_removed"] >= 1 and counts["temp_removed"] >= 1
    assert counts["link_codes_removed"] >= 1
    assert _get(ctx, old_failed) is None and not (docs / old_failed).exists()
    assert _row(ctx, old_active).status == "processing" and (docs / old_active).exists()
    assert _row(ctx, kept).status == "ready" and (docs / kept / "memvid").exists()
    assert not orphan.exists() and not partial.exists()
    assert maintenance.cleanup(ctx)["documents_removed"] == 0  # idempotent
    _set(ctx, old_active, status="ready")


def test_cleanup_applies_a_tenants_retention(client, worker, make_tenant, ctx) -> None:
    tenant = make_tenant("short-memory")
    old, fresh = _ready_document(client, tenant), _ready_document(client, tenant)
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(retention_days=7))
        session.commit()
    _set(ctx, old, created_at=utcnow() - timedelta(days=8))
    maintenance.cleanup(ctx)
    assert _get(ctx, old) is None and _get(ctx, fresh) is not None


def test_cleanup_runs_once_at_a_time(ctx) -> None:
    with maintenance.single_run(ctx.settings.redis_url, "cleanup") as first:
        assert first
        assert maintenance.cleanup(ctx) == {"skipped": 1}


def test_failed_cli_lists_counts_and_retries(client, worker, tenant, ctx, services) -> None:
    doc_id = _ready_document(client, tenant)
    _set(ctx, doc_id, status="failed", error_message="Disk on fire")
    env = {**os.environ, **services}

    def cli(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "socrate", "failed", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        return json.loads(out.stdout)

    report = cli("list")
    assert report["by_error"]["Disk on fire"] >= 1
    assert doc_id in [d["document_id"] for d in report["documents"]]
    assert cli("retry", doc_id) == {"retried": [doc_id]}
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"

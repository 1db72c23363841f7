"""Fault injection on real processes: a worker killed mid-encoding or between its search rows and ready,
a run over its time limit (Redis and PostgreSQL outages: tests/test_outages.py).

Each test runs its own Redis and worker (``isolated_stack``; the database is the suite's), so
killing them cannot disturb the rest of the suite.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text, update

from socrate.db.models import Tenant
from tests import docgen
from tests.conftest import TenantHandle, search_rows, upload
from tests.fault_support import LONG, is_encoding, is_final, status, wait

pytestmark = pytest.mark.slow


def _one_set_of_outputs(settings, tenant: TenantHandle, doc_id: str) -> None:
    """The run's temporary folder goes just after the row says ready: give it a moment."""
    folder = settings.storage_dir / "tenants" / tenant.id / "documents" / doc_id
    deadline = time.monotonic() + 10
    while (names := sorted(p.name for p in folder.iterdir())) != ["memvid", "original.txt"]:
        assert time.monotonic() < deadline, names
        time.sleep(0.1)
    outputs = sorted(p.name for p in (folder / "memvid").iterdir())
    assert outputs == ["memory.faiss", "memory.json", "windows.npz"]


def _details(client, tenant: TenantHandle, doc_id: str) -> dict:
    return client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()


def _running_again(client, tenant: TenantHandle, doc_id: str, timeout: float) -> None:
    """Wait until a second attempt of the document has started."""
    deadline = time.monotonic() + timeout
    while (details := _details(client, tenant, doc_id))["attempts"] < 2 or details["status"] == "queued":
        assert time.monotonic() < deadline, f"not running again after {timeout} s: {details}"
        time.sleep(0.2)


# Leases and recovery as configured in production, only shorter, so the test waits 20 s instead of 75 s.
QUICK_LEASES = {"LEASE_SECONDS": "15", "RECOVER_INTERVAL_SECONDS": "5"}


@pytest.mark.timing
def test_worker_killed_mid_encoding_still_delivers(isolated_stack, make_tenant, settings, ctx) -> None:
    stack = isolated_stack
    client, tenant = stack.app.test_client(), make_tenant("crashy")
    # Two at a time: with the default of one, the tenant's next document (c below) would wait for the
    # dead run's lease, then take the worker while the recovered one waits behind it.
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(max_concurrent=2))
        session.commit()
    worker = stack.worker(**QUICK_LEASES)

    # 1. The pool child dies (e.g. the OOM killer): the message is rejected back and redelivered.
    a = upload(client, tenant, LONG + b"\n\nCopy a.", "a.txt").get_json()["document_id"]
    wait(client, tenant, a, is_encoding)
    for child in worker.children():
        child.kill()
    assert wait(client, tenant, a, is_final)["status"] == "ready"
    _one_set_of_outputs(settings, tenant, a)

    # 2. The whole worker dies mid-task and another one is running, with Beat: the dead run's lease
    # runs out and the next recovery hands it over (on defaults, 45 s + 30 s; here 15 s + 5 s).
    b = upload(client, tenant, LONG + b"\n\nCopy b.", "b.txt").get_json()["document_id"]
    c = upload(client, tenant, docgen.txt(), "c.txt").get_json()["document_id"]
    wait(client, tenant, b, is_encoding)
    beat = stack.beat(**QUICK_LEASES)
    worker.kill()
    killed = time.monotonic()
    replacement = stack.worker(**QUICK_LEASES)
    _running_again(client, tenant, b, timeout=120)
    assert time.monotonic() - killed <= 15 + 5 + 15  # lease + one recovery interval + margin
    for doc_id in (b, c):
        assert wait(client, tenant, doc_id, is_final)["status"] == "ready"
        _one_set_of_outputs(settings, tenant, doc_id)
    assert _details(client, tenant, b)["attempts"] == 2
    beat.stop()

    # 3. That worker dies too and comes back under the same node name (scripts/run or the platform
    # restarting it): it takes its document back as it starts, without waiting for a lease.
    d = upload(client, tenant, LONG + b"\n\nCopy d.", "d.txt").get_json()["document_id"]
    wait(client, tenant, d, is_encoding)
    replacement.kill()
    replacement.start(stack.celery)  # returns once the worker answers pings
    _running_again(client, tenant, d, timeout=15)
    assert wait(client, tenant, d, is_final)["status"] == "ready"
    _one_set_of_outputs(settings, tenant, d)
    assert _details(client, tenant, d)["attempts"] == 2
    replacement.stop()


# ALTER SEQUENCE holds a lock that only nextval() waits for: the worker's window inserts (ids from the
# sequence) wait, its earlier statements (the status update, deleting old rows, inserting chunks) do not.
HOLD_WINDOW_IDS = text("ALTER SEQUENCE windows_id_seq CACHE 1")
WAITING_AFTER_CHUNKS = text(
    "SELECT l.pid FROM pg_locks l WHERE l.relation = 'windows_id_seq'::regclass AND NOT l.granted AND EXISTS "
    "(SELECT 1 FROM pg_locks c WHERE c.pid = l.pid AND c.relation = 'chunks'::regclass "
    " AND c.mode = 'RowExclusiveLock' AND c.granted)"
)


def test_worker_killed_between_search_rows_and_ready_leaves_no_rows(isolated_stack, make_tenant, ctx) -> None:
    """The rows and the ready status are one transaction: a worker that dies in it leaves neither."""
    stack = isolated_stack
    client, tenant = stack.app.test_client(), make_tenant("half-written")
    worker = stack.worker()
    with ctx.engine.connect() as blocker:
        blocker.execute(HOLD_WINDOW_IDS)  # window inserts wait until we let go
        doc_id = upload(client, tenant, docgen.txt("en", count=30), "doc.txt").get_json()["document_id"]
        deadline = time.monotonic() + 300
        while not (backend := blocker.execute(WAITING_AFTER_CHUNKS).scalar()):
            assert time.monotonic() < deadline, "the worker never reached its window inserts"
            time.sleep(0.1)
        assert status(client, tenant, doc_id)["status"] == "processing"
        worker.kill()
        blocker.rollback()
    # The dead client's server process gives up and rolls back (autocommit: pg_stat_activity is read
    # once per transaction).
    with ctx.read_engine.connect() as conn:
        while conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": backend}).first():
            assert time.monotonic() < deadline, "the dead worker's transaction is still open"
            time.sleep(0.1)
    assert search_rows(ctx, doc_id) == (0, 0)
    assert status(client, tenant, doc_id)["status"] == "processing"

    worker = stack.worker()
    assert stack.recover()["requeued"] >= 1  # this one (the suite's database may hold others' leftovers)
    final = wait(client, tenant, doc_id, is_final)
    assert final["status"] == "ready"
    chunks, windows = search_rows(ctx, doc_id)
    assert chunks == final["total_chunks"] and windows >= chunks
    worker.stop()


def test_a_run_over_the_time_limit_fails_with_timed_out(isolated_stack, make_tenant) -> None:
    stack = isolated_stack
    client, tenant = stack.app.test_client(), make_tenant("slowpoke")
    worker = stack.worker(TASK_SOFT_TIME_LIMIT="2", TASK_TIME_LIMIT="30")
    doc_id = upload(client, tenant, docgen.txt("en", count=3000), "huge.txt").get_json()["document_id"]
    final = wait(client, tenant, doc_id, is_final)
    assert final["status"] == "failed" and "timed out" in final["message"]
    worker.stop()

"""Outages on real processes: Redis going away mid-encoding, PostgreSQL restarting mid-task.

Each test runs its own Redis and worker (``isolated_stack``; the database is the suite's), so
stopping them cannot disturb the rest of the suite. Apart from tests/test_faults.py so that the two
files run on different processes of the parallel suite.
"""

from __future__ import annotations

import time

import pytest

from socrate.ops.embedded_redis import EmbeddedRedis
from tests import docgen
from tests.conftest import TenantHandle, upload
from tests.fault_support import LONG, is_encoding, is_final, status, wait

pytestmark = pytest.mark.slow


def test_redis_outage_loses_nothing_and_polling_keeps_answering(isolated_stack, make_tenant, ctx) -> None:
    stack = isolated_stack
    client, tenant = stack.app.test_client(), make_tenant("outage")
    worker = stack.worker()
    docs = [upload(client, tenant, LONG, "long.txt").get_json()["document_id"]]
    docs += [
        upload(client, tenant, docgen.txt("en", 2 + i), f"small{i}.txt").get_json()["document_id"]
        for i in range(2)
    ]
    wait(client, tenant, docs[0], is_encoding)

    stack.redis.stop()  # queued messages die with it: this Redis keeps nothing on disk
    for _ in range(30):
        for doc_id in docs:
            status(client, tenant, doc_id)  # answered from the database, never 5xx
        time.sleep(0.1)
    refused = upload(client, tenant, docgen.txt("en", 5), "during.txt")
    assert refused.status_code == 503 and refused.get_json()["error"]

    stack.redis = EmbeddedRedis(stack.tmp / "redis", port=stack.redis.port).start()
    stack.recover()
    for doc_id in docs:
        assert wait(client, tenant, doc_id, is_final)["status"] == "ready", doc_id
    listed = client.get("/api/documents", headers=tenant.headers).get_json()
    assert listed["total"] == len(docs)  # the refused upload left nothing behind
    worker.stop()


def _after_restart(client, tenant: TenantHandle, path: str):
    for _ in range(3):
        response = client.get(path, headers=tenant.headers)
        assert response.status_code in (200, 503), response.get_data(as_text=True)
        if response.status_code == 200:
            return response
    raise AssertionError(f"{path} still 503 after three tries")


def test_postgres_restart_mid_task_is_retried(isolated_stack, make_tenant, postgres, ctx) -> None:
    if postgres is None:  # CI always runs the suite on its own embedded server
        pytest.skip("restarts the suite's embedded PostgreSQL; DATABASE_URL names an external server")
    stack = isolated_stack
    client, tenant = stack.app.test_client(), make_tenant("pg-restart")
    # Lease renewals every 100 s: none meets the dead connection before the run's own write does.
    worker = stack.worker(LEASE_SECONDS="600")
    doc_id = upload(client, tenant, LONG, "long.txt").get_json()["document_id"]
    wait(client, tenant, doc_id, is_encoding)
    postgres.restart()
    # The web app keeps its pooled (now dead) connections: a request may be told to retry (503), never
    # a 500, and the next one is answered on a fresh connection.
    _after_restart(client, tenant, f"/api/documents/{doc_id}/status")
    ctx.dispose()
    assert wait(client, tenant, doc_id, is_final)["status"] == "ready"
    details = _after_restart(client, tenant, f"/api/documents/{doc_id}").get_json()
    assert details["attempts"] >= 2 and "Temporary problem" in details["last_error"], details
    worker.stop()

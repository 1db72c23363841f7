"""One tenant's burst cannot starve another: a per-tenant cap on documents processing at once."""

from __future__ import annotations

import time

from sqlalchemy import update

from socrate.models import Tenant
from tests import docgen
from tests.conftest import upload, wait_done

LONG = docgen.txt("en", count=700)


def test_a_burst_from_one_tenant_leaves_room_for_another(isolated_stack, make_tenant, ctx):  # type: ignore[no-untyped-def]
    stack = isolated_stack
    client, greedy, patient = stack.app.test_client(), make_tenant("greedy"), make_tenant("patient")
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == greedy.id).values(max_concurrent=1))
        session.commit()
    worker = stack.worker(concurrency=3)
    burst = [upload(client, greedy, LONG, f"burst{i}.txt").get_json()["document_id"] for i in range(4)]
    small = upload(client, patient, docgen.txt(), "small.txt").get_json()["document_id"]

    most_at_once = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        statuses = [
            client.get(f"/api/documents/{d}/status", headers=greedy.headers).get_json()["status"]
            for d in burst
        ]
        most_at_once = max(most_at_once, statuses.count("processing"))
        mine = client.get(f"/api/documents/{small}/status", headers=patient.headers).get_json()["status"]
        if mine == "ready":
            break
        time.sleep(0.1)
    assert mine == "ready"
    assert statuses.count("ready") < len(burst), "the small document waited for the whole burst"
    for doc_id in burst:
        assert wait_done(client, greedy, doc_id)[0]["status"] == "ready"
    assert most_at_once == 1
    worker.stop()

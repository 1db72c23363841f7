"""Webhook delivery when receivers misbehave: retries with backoff (Beat's sweep sends them), disabling
after the retry window, a worker killed mid-delivery, and a slow receiver that must not delay others."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from socrate.integrations import deliveries
from tests import docgen
from tests.conftest import upload
from tests.fake_receiver import Receiver, serve
from tests.processes import Beat
from tests.test_webhooks import listen


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def sweeper(services, tmp_path_factory) -> Iterator[Beat]:
    """Celery Beat on the suite's broker, sweeping webhooks every WEBHOOK_SWEEP_SECONDS (0.5 s here, which
    Beat's whole-second clock makes about 1 s)."""
    beat = Beat(services, Path(tmp_path_factory.mktemp("beat")) / "beat.log").start()
    yield beat
    beat.stop()


def _settings(client):
    return client.application.extensions["socrate"].settings


def log_of(client, tenant, endpoint_id: str) -> list[dict]:
    return client.get(f"/api/webhooks/{endpoint_id}/deliveries", headers=tenant.headers).get_json()[
        "attempts"
    ]


def delete_a_document(client, tenant) -> str:
    """A ``document.deleted`` event, without waiting for a worker."""
    doc_id = upload(client, tenant, docgen.txt(), "gone.txt", allow_duplicate=True).get_json()["document_id"]
    assert client.delete(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 200
    return doc_id


def test_a_receiver_failing_three_times_gets_it_on_the_fourth_try_with_backoff(
    client, tenant, webhooks_worker, sweeper, receiver
) -> None:
    endpoint = listen(client, tenant, receiver, "/flaky", events=["document.deleted"])
    receiver.behaviours["/flaky"].fail_first = 3
    delete_a_document(client, tenant)
    got = receiver.wait_for("/flaky", 4)
    assert len({r.id for r in got}) == 1 and all(r.verified for r in got)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(got)]
    # 1 s, 2 s, 4 s: the base doubled per failure, plus the wait for a sweep (Beat ticks in whole
    # seconds; on a loaded machine a sweep can come a few seconds late).
    for n, gap in enumerate(gaps, start=1):
        wait = deliveries.backoff_seconds(n, _settings(client))
        assert wait * 0.9 <= gap <= wait + 4.0, gaps
    assert gaps[2] > gaps[0], gaps
    receiver.wait(lambda: len(log_of(client, tenant, endpoint["id"])) == 4, what="four attempts in the log")
    log = log_of(client, tenant, endpoint["id"])  # newest first
    assert [(a["attempt"], a["status_code"]) for a in log] == [(4, 200), (3, 500), (2, 500), (1, 500)]
    time.sleep(1.5)
    assert len(receiver.at("/flaky")) == 4  # delivered: never sent again


def test_after_the_retry_window_the_endpoint_is_disabled_with_the_reason(
    app, client, tenant, webhooks_worker, sweeper, receiver
) -> None:
    endpoint = listen(client, tenant, receiver, "/down", events=["document.deleted"])
    receiver.behaviours["/down"].status = 503
    ctx = app.extensions["socrate"]
    app.extensions["socrate"] = replace(ctx, settings=ctx.settings.with_(webhook_retry_window_seconds=3))
    try:
        delete_a_document(client, tenant)  # recorded with a 3-second retry window
    finally:
        app.extensions["socrate"] = ctx
    path = f"/api/webhooks/{endpoint['id']}"
    receiver.wait(lambda: client.get(path, headers=tenant.headers).get_json()["enabled"] is False, timeout=30,
                  what="the endpoint to be disabled")  # fmt: skip
    shown = client.get(path, headers=tenant.headers).get_json()
    assert "kept failing" in shown["disabled_reason"] and "HTTP 503" in shown["disabled_reason"]
    attempts = len(receiver.at("/down"))
    assert attempts >= 2  # at 0 s, 1 s, then at the window's end (3 s)
    delete_a_document(client, tenant)  # a disabled endpoint is sent nothing
    time.sleep(1.5)
    assert len(receiver.at("/down")) == attempts
    receiver.behaviours["/down"].status = 200
    assert client.patch(path, json={"enabled": True}, headers=tenant.headers).get_json()["enabled"] is True
    delete_a_document(client, tenant)
    assert receiver.wait_for("/down", attempts + 1)[-1].verified


def test_a_delivery_survives_its_worker_being_killed_mid_request(isolated_stack, tenant) -> None:
    """kill -9 while the receiver holds the request: the lease runs out, the sweep sends it again, and the
    receiver sees the same webhook-id twice (at least once, never lost)."""
    client = isolated_stack.app.test_client()
    with serve() as receiver:
        endpoint = listen(client, tenant, receiver, "/held", events=["document.deleted"])
        hold = threading.Event()
        receiver.behaviours["/held"].hang = hold
        first = isolated_stack.worker(concurrency=2, webhooks=True)
        isolated_stack.beat()
        delete_a_document(client, tenant)
        receiver.wait_for("/held")
        first.kill()
        hold.set()
        receiver.behaviours["/held"].hang = None
        isolated_stack.worker(concurrency=2, webhooks=True)
        # The attempt's lease: WEBHOOK_TIMEOUT_SECONDS (3) + 5 s; then the next sweep sends it again.
        got = receiver.wait_for("/held", 2, timeout=30)
        assert got[0].id == got[1].id and got[1].verified
        receiver.wait(
            lambda: any(a["ok"] for a in log_of(client, tenant, endpoint["id"])), what="a logged success"
        )


def test_a_slow_receiver_does_not_delay_another_endpoint(
    client, tenant, other_tenant, webhooks_worker, receiver
):
    listen(client, tenant, receiver, "/slow", events=["document.deleted"])
    receiver.behaviours["/slow"].delay = 2.0
    listen(client, other_tenant, receiver, "/fast", events=["document.deleted"])
    for _ in range(8):  # 16 s of work for /slow, two at a time at most
        delete_a_document(client, tenant)
    started = time.time()
    delete_a_document(client, other_tenant)
    fast = receiver.wait_for("/fast", timeout=10)[0]
    assert fast.at - started < 1.0
    assert len(receiver.at("/slow")) <= 4  # still working through its backlog
    receiver.wait_for("/slow", 8, timeout=60)


def test_disabling_an_endpoint_ends_its_pending_retries(
    client, tenant, webhooks_worker, sweeper, receiver
) -> None:
    endpoint = listen(client, tenant, receiver, "/paused", events=["document.deleted"])
    receiver.behaviours["/paused"].status = 503
    delete_a_document(client, tenant)
    first = receiver.wait_for("/paused")[0]
    receiver.wait(lambda: len(log_of(client, tenant, endpoint["id"])) == 1, what="the 503 in the log")
    path = f"/api/webhooks/{endpoint['id']}"
    client.patch(path, json={"enabled": False}, headers=tenant.headers)
    receiver.behaviours["/paused"].status = 200
    client.patch(path, json={"enabled": True}, headers=tenant.headers)
    time.sleep(3)  # its retry was due a second after the first attempt
    assert [r.id for r in receiver.at("/paused")] == [first.id]
    delete_a_document(client, tenant)
    later = receiver.wait_for("/paused", 2)[1]
    assert later.id != first.id and later.verified

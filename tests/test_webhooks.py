"""Webhook endpoints through the API: secrets shown once, refusals, isolation, and signed document events
delivered by the real webhooks worker to a receiver of our own that verifies them."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from tests import docgen
from tests.conftest import upload, wait_done
from tests.fake_receiver import Behaviour, Receiver, serve

DOCUMENT_FIELDS = {"document_id", "status", "progress", "task_state", "message", "total_chunks", "ready"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with serve() as server:
        yield server


def add_endpoint(client, tenant, url: str, **fields) -> dict:
    response = client.post("/api/webhooks", json={"url": url, **fields}, headers=tenant.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listen(client, tenant, receiver: Receiver, path: str, **fields) -> dict:
    """An endpoint at ``path`` on the receiver, which verifies deliveries with its secret."""
    endpoint = add_endpoint(client, tenant, receiver.url(path), **fields)
    receiver.behaviours[path] = Behaviour(secrets=[endpoint["secret"]])
    return endpoint


def test_an_endpoint_shows_its_secret_once(client, tenant) -> None:
    created = add_endpoint(client, tenant, "https://hooks.example.com/socrate", description="CRM sync")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert created["events"] == ["document.ready", "document.failed", "document.deleted"]
    assert created["enabled"] is True and created["description"] == "CRM sync"
    listed = client.get("/api/webhooks", headers=tenant.headers).get_json()
    assert [e["id"] for e in listed["endpoints"]] == [created["id"]]
    shown = client.get(f"/api/webhooks/{created['id']}", headers=tenant.headers).get_json()
    assert "secret" not in listed["endpoints"][0] and "secret" not in shown
    assert shown["secret_hint"] == secret[:10] + "…"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"url": "http://10.0.0.1/hook"}, "private or local address (10.0.0.1)"),
        ({"url": "http://169.254.169.254/latest"}, "(169.254.169.254)"),
        ({"url": "ftp://example.com/x"}, "Only http:// and https://"),
        ({"url": "https://user:pw@example.com/"}, "user name or password"),
        ({}, '"url"'),
        ({"url": "https://example.com/", "events": []}, "non-empty list"),
        (
            {"url": "https://example.com/", "events": ["document.exploded"]},
            "Unknown event 'document.exploded'",
        ),
        ({"url": "https://example.com/", "description": "a\nb"}, "control characters"),
    ],
)
def test_a_bad_endpoint_is_refused_with_its_reason(client, tenant, body, says) -> None:
    response = client.post("/api/webhooks", json=body, headers=tenant.headers)
    assert response.status_code == 400 and says in response.get_json()["error"]


def test_a_workspace_has_at_most_ten_endpoints(client, tenant) -> None:
    for n in range(10):
        add_endpoint(client, tenant, f"https://hooks.example.com/{n}")
    response = client.post(
        "/api/webhooks", json={"url": "https://hooks.example.com/11"}, headers=tenant.headers
    )
    assert response.status_code == 409 and "at most 10" in response.get_json()["error"]


def test_another_tenants_endpoint_is_a_404_everywhere(client, tenant, other_tenant) -> None:
    mine = add_endpoint(client, tenant, "https://hooks.example.com/mine")["id"]
    calls = [
        ("get", f"/api/webhooks/{mine}", None),
        ("patch", f"/api/webhooks/{mine}", {"enabled": False}),
        ("delete", f"/api/webhooks/{mine}", None),
        ("post", f"/api/webhooks/{mine}/rotate-secret", None),
        ("post", f"/api/webhooks/{mine}/test", None),
        ("get", f"/api/webhooks/{mine}/deliveries", None),
    ]
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body, headers=other_tenant.headers)
        assert response.status_code == 404, (method, path, response.get_json())
    assert client.get("/api/webhooks", headers=other_tenant.headers).get_json()["endpoints"] == []
    assert client.get(f"/api/webhooks/{mine}", headers=tenant.headers).get_json()["enabled"] is True


def test_changes_are_checked_and_reenabling_clears_the_reason(client, tenant) -> None:
    endpoint = add_endpoint(client, tenant, "https://hooks.example.com/a")["id"]
    path = f"/api/webhooks/{endpoint}"
    off = client.patch(path, json={"enabled": False}, headers=tenant.headers).get_json()
    assert off["enabled"] is False and off["disabled_reason"] == "Disabled by a user"
    on = client.patch(path, json={"enabled": True, "events": ["document.ready"]}, headers=tenant.headers)
    assert on.get_json()["disabled_reason"] is None and on.get_json()["events"] == ["document.ready"]
    for body, says in [({"enabled": "yes"}, "true or false"), ({"colour": "red"}, "Unknown field 'colour'"),
                       ({"url": "http://192.168.1.1/"}, "private")]:  # fmt: skip
        response = client.patch(path, json=body, headers=tenant.headers)
        assert response.status_code == 400 and says in response.get_json()["error"]


def test_ready_failed_and_deleted_are_delivered_signed(
    client, tenant, worker, webhooks_worker, receiver
) -> None:
    endpoint = listen(client, tenant, receiver, "/events")
    ready_id = upload(client, tenant, docgen.txt(), "report.txt").get_json()["document_id"]
    failed_id = upload(client, tenant, b"%PDF-1.4\n" + b"\x13garbage" * 500, "broken.pdf").get_json()[
        "document_id"
    ]
    for doc_id in (ready_id, failed_id):
        wait_done(client, tenant, doc_id)
    client.delete(f"/api/documents/{ready_id}", headers=tenant.headers)

    got = receiver.wait_for("/events", 3)
    by_type = {r.payload["type"]: r for r in got}
    assert set(by_type) == {"document.ready", "document.failed", "document.deleted"}
    assert all(r.verified for r in got)
    ready = by_type["document.ready"].payload["data"]
    assert set(ready) == DOCUMENT_FIELDS and ready["document_id"] == ready_id and ready["ready"] is True
    failed = by_type["document.failed"].payload["data"]
    assert failed["document_id"] == failed_id and "corrupt" in failed["message"]
    assert by_type["document.deleted"].payload["data"]["document_id"] == ready_id
    signed = by_type["document.ready"]
    assert signed.headers["content-type"] == "application/json"
    assert int(signed.headers["webhook-timestamp"]) <= int(signed.at) + 1
    path = f"/api/webhooks/{endpoint['id']}/deliveries"
    # The worker logs an attempt once the receiver has answered: a moment after the receiver saw it.
    receiver.wait(lambda: len(client.get(path, headers=tenant.headers).get_json()["attempts"]) == 3)
    log = client.get(path, headers=tenant.headers).get_json()["attempts"]
    assert {a["delivery_id"] for a in log} == {r.id for r in got}
    assert all(a["status_code"] == 200 and a["attempt"] == 1 and a["ok"] for a in log)


def test_an_endpoint_gets_only_the_events_it_chose_and_only_its_tenants(
    client, tenant, other_tenant, worker, webhooks_worker, receiver
) -> None:
    listen(client, tenant, receiver, "/deleted-only", events=["document.deleted"])
    listen(client, other_tenant, receiver, "/other-tenant")
    doc_id = upload(client, tenant, docgen.txt(), "notes.txt").get_json()["document_id"]
    wait_done(client, tenant, doc_id)
    client.delete(f"/api/documents/{doc_id}", headers=tenant.headers)
    got = receiver.wait_for("/deleted-only")
    assert [r.payload["type"] for r in got] == ["document.deleted"]
    assert receiver.at("/other-tenant") == []


def test_a_test_event_and_a_rotated_secret(client, tenant, webhooks_worker, receiver) -> None:
    endpoint = listen(client, tenant, receiver, "/rotating")
    sent = client.post(f"/api/webhooks/{endpoint['id']}/test", headers=tenant.headers)
    assert sent.status_code == 202
    first = receiver.wait_for("/rotating")[0]
    assert first.id == sent.get_json()["delivery_id"] and first.payload["type"] == "webhook.test"

    rotated = client.post(f"/api/webhooks/{endpoint['id']}/rotate-secret", headers=tenant.headers).get_json()
    assert rotated["secret"] != endpoint["secret"]
    # For a day both secrets sign, so a receiver can switch at its own pace: each one alone verifies.
    receiver.behaviours["/rotating"].secrets = [rotated["secret"], endpoint["secret"]]
    client.post(f"/api/webhooks/{endpoint['id']}/test", headers=tenant.headers)
    second = receiver.wait_for("/rotating", 2)[1]
    assert second.verified and len(second.headers["webhook-signature"].split(" ")) == 2
    Webhook(endpoint["secret"]).verify(second.body, second.headers)


def test_a_client_error_is_not_retried_and_the_endpoint_stays_on(
    client, tenant, webhooks_worker, receiver
) -> None:
    endpoint = listen(client, tenant, receiver, "/gone")
    receiver.behaviours["/gone"].status = 410
    client.post(f"/api/webhooks/{endpoint['id']}/test", headers=tenant.headers)
    receiver.wait_for("/gone")
    path = f"/api/webhooks/{endpoint['id']}/deliveries"
    receiver.wait(lambda: client.get(path, headers=tenant.headers).get_json()["attempts"] != [])
    (attempt,) = client.get(path, headers=tenant.headers).get_json()["attempts"]
    assert attempt["status_code"] == 410 and attempt["error"] == "HTTP 410" and not attempt["ok"]
    assert client.get(f"/api/webhooks/{endpoint['id']}", headers=tenant.headers).get_json()["enabled"] is True


def test_a_deleted_endpoint_gets_nothing_more(client, tenant, worker, webhooks_worker, receiver) -> None:
    endpoint = listen(client, tenant, receiver, "/deleted-endpoint")
    assert client.delete(f"/api/webhooks/{endpoint['id']}", headers=tenant.headers).status_code == 200
    doc_id = upload(client, tenant, docgen.txt(), "after.txt").get_json()["document_id"]
    wait_done(client, tenant, doc_id)
    time.sleep(1)  # a delivery would have arrived by now
    assert receiver.at("/deleted-endpoint") == []
    assert client.get(f"/api/webhooks/{endpoint['id']}", headers=tenant.headers).status_code == 404


def test_readyz_lists_the_webhooks_worker_apart_from_the_documents_workers(
    client, worker, webhooks_worker
) -> None:
    body = client.get("/readyz").get_json()
    assert body["components"]["workers"]["workers"] >= 1
    assert body["optional"]["webhooks"] == {"ok": True, "workers": 1}

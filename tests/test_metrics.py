"""GET /metrics: token-protected Prometheus text fed by the database, Redis queues and the worker."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import docgen
from tests.conftest import upload, wait_done

TOKEN = "metrics-secret"


def _app(settings, celery_app, token: str = TOKEN):
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    return create_app(settings.with_(metrics_token=token), queue=TaskQueue(celery_app))


@pytest.fixture(scope="module")
def metrics_client(settings, celery_app):
    return _app(settings, celery_app).test_client()


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_metrics_do_not_exist_without_a_configured_token(client) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(metrics_client) -> None:
    assert metrics_client.get("/metrics").status_code == 401
    assert metrics_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_every_status_and_queue_is_reported(metrics_client) -> None:
    samples = scrape(metrics_client)
    for status in ("queued", "processing", "ready", "failed", "cancelled"):
        assert (("socrate_documents", (("status", status),))) in samples
    for queue in ("documents", "maintenance"):
        assert ("socrate_queue_depth", (("queue", queue),)) in samples
    assert samples[("socrate_database_up", ())] == 1 and samples[("socrate_redis_up", ())] == 1


def test_queue_depth_counts_documents_nobody_has_taken_yet(isolated_stack, make_tenant) -> None:
    """A private broker with no worker: every upload waits in the documents queue."""
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    stack_settings = isolated_stack.app.extensions["socrate"].settings
    client = create_app(
        stack_settings.with_(metrics_token=TOKEN), queue=TaskQueue(isolated_stack.celery)
    ).test_client()
    tenant = make_tenant("metrics-queue")
    before = scrape(client)[("socrate_queue_depth", (("queue", "documents"),))]
    for n in range(3):
        assert upload(client, tenant, docgen.txt("en", count=2 + n), f"q{n}.txt").status_code == 202
    samples = scrape(client)
    assert samples[("socrate_queue_depth", (("queue", "documents"),))] == before + 3
    assert samples[("socrate_queue_depth", (("queue", "maintenance"),))] == 0


def test_uploads_and_processed_documents_move_the_metrics(metrics_client, client, tenant, worker) -> None:
    before = scrape(metrics_client)
    good, bad = docgen.txt("en", count=4), b" \n\n  \t\n"
    good_id = upload(client, tenant, good, "good.txt").get_json()["document_id"]
    bad_id = upload(client, tenant, bad, "blank.txt").get_json()["document_id"]
    assert wait_done(client, tenant, good_id)[0]["status"] == "ready"
    assert wait_done(client, tenant, bad_id)[0]["status"] == "failed"
    after = scrape(metrics_client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("socrate_uploads_total") == 2
    assert delta("socrate_upload_bytes_total") == len(good) + len(bad)
    assert delta("socrate_documents", status="ready") == 1
    assert delta("socrate_documents", status="failed") == 1
    assert delta("socrate_processing_duration_seconds_count", outcome="ready") == 1
    assert delta("socrate_processing_duration_seconds_count", outcome="failed") == 1
    assert delta("socrate_processing_duration_seconds_bucket", outcome="ready", le="+Inf") == 1
    assert delta("socrate_processing_duration_seconds_sum", outcome="ready") > 0
    assert delta("socrate_task_failures_total", error_type="document") == 1

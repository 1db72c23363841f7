"""Idempotency-Key on uploads and links: a retry gets the first answer and stores nothing; another
request under the same key is refused; identical requests at once make one document."""

from __future__ import annotations

import io
import threading
import time

from sqlalchemy import func, select

from socrate.db.models import Document
from socrate.integrations.idempotency import Answer, IdempotencyKeys
from tests import docgen


def post(client, tenant, key: str | None, content: bytes, name: str = "report.txt"):
    headers = {**tenant.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client.post(
        "/api/documents/upload", data={"file": (io.BytesIO(content), name)}, headers=headers,
        content_type="multipart/form-data",
    )  # fmt: skip


def documents_of(ctx, tenant) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).where(Document.tenant_id == tenant.id)) or 0


def test_a_retried_upload_gets_the_first_answer_and_stores_nothing(client, ctx, settings, tenant) -> None:
    content = docgen.txt()
    first = post(client, tenant, "upload-7f3a", content)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    stored = sorted(p.name for p in (settings.storage_dir / "tenants" / tenant.id).rglob("*") if p.is_file())
    again = post(client, tenant, "upload-7f3a", content)
    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert documents_of(ctx, tenant) == 1
    assert (
        sorted(p.name for p in (settings.storage_dir / "tenants" / tenant.id).rglob("*") if p.is_file())
        == stored
    )


def test_the_same_key_with_another_file_is_refused(client, ctx, tenant) -> None:
    assert post(client, tenant, "k-1", docgen.txt()).status_code == 202
    other = post(client, tenant, "k-1", docgen.txt() + b" and something else")
    assert other.status_code == 422 and "different request" in other.get_json()["error"]
    renamed = post(client, tenant, "k-1", docgen.txt(), name="renamed.txt")
    assert renamed.status_code == 422
    assert documents_of(ctx, tenant) == 1


def test_keys_belong_to_their_tenant(client, tenant, other_tenant) -> None:
    mine = post(client, tenant, "shared-key", docgen.txt()).get_json()["document_id"]
    theirs = post(client, other_tenant, "shared-key", docgen.txt())
    assert theirs.status_code == 202 and theirs.get_json()["document_id"] != mine


def test_eight_identical_requests_at_once_make_one_document(app, ctx, tenant, monkeypatch) -> None:
    """Storing the file takes half a second here, so the other seven arrive while the first holds the key."""
    save = ctx.storage.save_stream

    def slow_save(*args, **kwargs):
        time.sleep(0.5)
        return save(*args, **kwargs)

    monkeypatch.setattr(ctx.storage, "save_stream", slow_save)
    content = docgen.txt()
    start, answers = threading.Barrier(8), []

    def send() -> None:
        client = app.test_client()
        start.wait()
        answers.append(post(client, tenant, "burst", content))

    threads = [threading.Thread(target=send) for _ in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - began < 5  # the waiting ones were answered as soon as the first was done
    assert {r.status_code for r in answers} == {202}
    assert len({r.get_json()["document_id"] for r in answers}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in answers) == 7
    assert documents_of(ctx, tenant) == 1


def test_an_error_is_not_kept_so_the_retry_runs(client, ctx, tenant) -> None:
    refused = post(client, tenant, "after-error", b"MZ\x90\x00", name="tool.exe")
    assert refused.status_code == 415
    assert post(client, tenant, "after-error", docgen.txt()).status_code == 202
    assert documents_of(ctx, tenant) == 1


def test_a_link_with_a_key_is_queued_once(client, ctx, tenant) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "link-1"}
    body = {"url": "http://127.0.0.1:9/report.pdf"}
    first = client.post("/api/documents/url", json=body, headers=headers)
    again = client.post("/api/documents/url", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["document_id"] == first.get_json()["document_id"]
    other = client.post("/api/documents/url", json={"url": "http://127.0.0.1:9/other.pdf"}, headers=headers)
    assert other.status_code == 422
    assert documents_of(ctx, tenant) == 1


def test_a_malformed_key_is_a_400(client, tenant) -> None:
    for key in ("", "k" * 256, "clé"):
        response = client.post(
            "/api/documents/url", json={"url": "https://example.com/"},
            headers={**tenant.headers, "Idempotency-Key": key.encode().decode("latin-1")},
        )  # fmt: skip
        assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"], key


def test_a_key_is_forgotten_after_its_hours(settings) -> None:
    keys = IdempotencyKeys(settings.redis_url, hours=1 / 3600)  # one second
    runs: list[int] = []

    def produce() -> Answer:
        runs.append(1)
        return Answer({"n": len(runs)}, 202)

    assert keys.run("t", "k", "same", produce).body == {"n": 1}
    assert keys.run("t", "k", "same", produce).replayed
    time.sleep(1.5)
    assert keys.run("t", "k", "same", produce) == Answer({"n": 2}, 202)

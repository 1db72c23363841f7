"""S3 storage against a real S3-compatible server (moto's standalone server on 127.0.0.1).

Backend behaviour (streamed uploads, cache, listing, deletes), processing on S3 with a stand-in
encoder, and the full pipeline with a web process and a worker process that share no disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from sqlalchemy import update

from socrate.accounts import tenants
from socrate.db.models import Document, Tenant, utcnow
from socrate.documents import service as documents
from socrate.errors import BadRequest, NotFound, TooLarge, UnsupportedType
from socrate.ops import maintenance
from socrate.ops.embedded_redis import free_port
from socrate.processing import pipeline
from socrate.storage.s3 import PART_BYTES, S3Storage
from socrate.taskqueue import TaskQueue
from tests import docgen
from tests.conftest import upload
from tests.fakes import FakeEncoder, KeptQueue
from tests.processes import ROOT, Worker

MB = 1024 * 1024
NEEDLE = "A rare orange lichen called Xanthoria grows only on the roof of the old observatory."
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!s} exited early:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process, with dummy credentials for this test process only."""
    port, log = free_port(), tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in DUMMY_CREDENTIALS.items():
            mp.setenv(name, value)
        try:
            _wait_http(url, proc, log)
            yield url
        finally:
            _stop(proc)


@pytest.fixture
def s3_settings(settings, s3_endpoint, tmp_path):
    """Settings for a fresh bucket (one per test, so tests cannot see each other's objects)."""
    bucket = f"socrate-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return settings.with_(storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=s3_endpoint,
                          storage_cache_dir=tmp_path / "cache", storage_cache_mb=1)  # fmt: skip


@pytest.fixture
def s3(s3_settings) -> S3Storage:
    return S3Storage.from_settings(s3_settings)


def _keys(s3: S3Storage, prefix: str = "") -> set[str]:
    return {obj["Key"] for obj in s3._objects(prefix)}


def _body(s3: S3Storage, key: str) -> bytes:
    return s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()


def _pattern(size: int) -> bytes:
    return hashlib.sha256(str(size).encode()).digest() * (size // 32) + b"x" * (size % 32)


def test_an_s3_outage_during_upload_is_a_503_and_keeps_nothing(s3_settings, celery_app, make_tenant) -> None:
    from socrate.web import create_app

    dead = s3_settings.with_(s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    client, tenant = create_app(dead, queue=TaskQueue(celery_app)).test_client(), make_tenant("s3-outage")
    response = upload(client, tenant, docgen.txt(), "doc.txt")
    assert response.status_code == 503 and "storage is unavailable" in response.get_json()["error"]
    assert client.get("/api/documents", headers=tenant.headers).get_json()["total"] == 0


def test_large_upload_streams_in_parts_with_size_and_sha256(s3) -> None:
    data = _pattern(2 * PART_BYTES + 12345)
    stored = s3.save_stream("t1", io.BytesIO(data), max_bytes=50 * MB)
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.head == data[:8192] and stored.temp_key.startswith("tenants/t1/incoming/")
    assert _body(s3, stored.temp_key) == data
    s3.move(stored.temp_key, "tenants/t1/documents/d1/original.txt")
    assert _keys(s3) == {"tenants/t1/documents/d1/original.txt"}


@pytest.mark.parametrize(("size", "limit"), [(3 * MB, MB), (2 * PART_BYTES + 1, PART_BYTES + 1)])
def test_upload_over_the_limit_leaves_nothing_behind(s3, size, limit) -> None:
    """Refused while reading the first part (before any request), or mid multipart upload."""
    with pytest.raises(TooLarge):
        s3.save_stream("t1", io.BytesIO(_pattern(size)), max_bytes=limit)
    assert _keys(s3) == set()
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_empty_upload_is_refused_and_leaves_nothing(s3) -> None:
    with pytest.raises(BadRequest):
        s3.save_stream("t1", io.BytesIO(b""), max_bytes=MB)
    assert _keys(s3) == set()


def test_local_file_cache_stays_within_its_bound_evicting_least_recently_used(s3) -> None:
    blobs = {name: _pattern(400 * 1024 + i) for i, name in enumerate("abc")}
    for name, data in blobs.items():
        s3.client.put_object(Bucket=s3.bucket, Key=f"tenants/t1/{name}", Body=data)
    a = s3.local_file("tenants/t1/a")
    assert a.read_bytes() == blobs["a"]
    s3.local_file("tenants/t1/b")
    s3.client.delete_object(Bucket=s3.bucket, Key="tenants/t1/a")
    assert s3.local_file("tenants/t1/a").read_bytes() == blobs["a"]  # served from the cache: a is now newest
    s3.local_file("tenants/t1/c")  # 1.2 MB > 1 MB: the least recently used (b) goes
    cached = {p.name for p in s3.cache.root.rglob("*") if p.is_file()}
    assert cached == {"a", "c"} and s3.cache.size() <= MB
    with pytest.raises(FileNotFoundError):
        s3.local_file("tenants/t1/missing")


def test_delete_prefix_and_glob_page_through_many_objects(s3) -> None:
    doomed = [f"tenants/t1/documents/d{i % 3}/runs/r/{i}.bin" for i in range(1003)]
    kept = ["tenants/t10/documents/d0/original.txt", "tenants/t2/incoming/x"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"1"), doomed + kept))
    folders = {e.key for e in s3.glob("tenants/*/documents/*")}
    assert folders == {f"tenants/t1/documents/d{i}" for i in range(3)} | {"tenants/t10/documents/d0"}
    assert {e.key for e in s3.glob("tenants/*/incoming/*")} == {"tenants/t2/incoming/x"}
    s3.delete_prefix(s3.tenant_prefix("t1"))
    assert _keys(s3) == set(kept)  # t10 shares the characters "t1" but not the prefix


def test_deleting_a_tenant_erases_its_rows_and_objects(s3, ctx, make_tenant) -> None:
    gone, stays = make_tenant("gone"), make_tenant("stays")
    for tenant in (gone, stays):
        s3.client.put_object(Bucket=s3.bucket, Key=f"tenants/{tenant.id}/documents/d/original.txt", Body=b"1")
    with ctx.sessions() as session:
        tenants.delete(session, gone.id, storage=s3)
        assert session.get(Tenant, gone.id) is None and session.get(Tenant, stays.id) is not None
        with pytest.raises(NotFound):
            tenants.delete(session, gone.id, storage=s3)
    assert _keys(s3) == {f"tenants/{stays.id}/documents/d/original.txt"}


def _set(ctx, doc_id: str, **values: object) -> None:
    with ctx.sessions() as session:
        session.execute(update(Document).where(Document.id == doc_id).values(**values))
        session.commit()


def test_runs_on_s3_leave_exactly_one_set_of_outputs(s3, ctx, tenant, s3_settings, monkeypatch) -> None:
    with ctx.sessions() as session:
        doc = documents.create(session, tenant.id, documents.Upload("a.txt", io.BytesIO(docgen.txt())),
                               source="api", storage=s3, queue=KeptQueue(),
                               settings=s3_settings).document  # fmt: skip
        doc_id, first_task = doc.id, doc.task_id
    assert first_task is not None
    prefix = s3.document_prefix(tenant.id, doc_id)
    s3.client.put_object(Bucket=s3.bucket, Key=f"{prefix}/runs/crashed/memory.faiss", Body=b"partial")

    def run(task_id: str) -> str:
        return pipeline.process(ctx.sessions, tenant.id, doc_id, task_id=task_id, storage=s3,
                                  settings=s3_settings, get_encoder=FakeEncoder)  # fmt: skip

    def one_set() -> str:
        with ctx.sessions() as session:
            outputs = session.get(Document, doc_id).outputs
        run_prefix = outputs["index"].rsplit("/", 1)[0]
        expected = {f"{prefix}/original.txt", f"{run_prefix}/memory.faiss", f"{run_prefix}/memory.json"}
        assert _keys(s3, prefix + "/") == expected
        return run_prefix

    assert run(first_task) == "ready"
    first = one_set()  # the crashed run's leftovers are gone too
    assert run(first_task) == "ready" and one_set() == first  # a redelivery changes nothing

    # Re-encoding: a new task publishes a new run; the old one is removed once the row moved on.
    _set(ctx, doc_id, status="queued", task_id=(second_task := str(uuid.uuid4())))
    assert run(second_task) == "ready"
    assert one_set() != first

    # A run that loses the document right after publishing (re-dispatched elsewhere) removes its run.
    _set(ctx, doc_id, status="queued", task_id=(third_task := str(uuid.uuid4())))
    current, published, publish = one_set(), [], s3.publish

    def publish_then_lose(out_dir: Path, document_prefix: str) -> str:
        published.append(publish(out_dir, document_prefix))
        _set(ctx, doc_id, task_id=str(uuid.uuid4()))
        return published[-1]

    monkeypatch.setattr(s3, "publish", publish_then_lose)
    assert run(third_task) == "superseded"
    assert published and one_set() == current


def test_docx_content_is_checked_from_the_bucket_and_a_refused_one_leaves_nothing(
    s3, ctx, tenant, s3_settings
):
    def create(name: str, data: bytes) -> Document:
        return documents.create(session, tenant.id, documents.Upload(name, io.BytesIO(data)), source="api",
                                storage=s3, queue=KeptQueue(),
                                settings=s3_settings).document  # fmt: skip

    with ctx.sessions() as session:
        doc_id = create("a.docx", docgen.docx()).id
        with pytest.raises(UnsupportedType):
            create("renamed.docx", b"PK\x03\x04" + b"not a zip" * 100)
    assert _keys(s3) == {f"{s3.document_prefix(tenant.id, doc_id)}/original.docx"}
    assert s3.cache.size() == 0  # the copy read for the check went with its temporary key


def test_cleanup_on_s3_removes_orphans_stale_uploads_and_unreferenced_runs(
    s3, ctx, tenant, s3_settings
) -> None:
    with ctx.sessions() as session:
        doc = documents.create(session, tenant.id, documents.Upload("a.txt", io.BytesIO(docgen.txt())),
                               source="api", storage=s3, queue=KeptQueue(),
                               settings=s3_settings).document  # fmt: skip
    prefix = s3.document_prefix(tenant.id, doc.id)
    live = f"{prefix}/runs/live"
    _set(
        ctx,
        doc.id,
        status="ready",
        outputs={"index": f"{live}/memory.faiss", "metadata": f"{live}/memory.json"},
    )
    junk = [f"{prefix}/runs/dead/memory.faiss", s3.incoming_key(tenant.id, "abandoned"),
            f"{s3.document_prefix(tenant.id, str(uuid.uuid4()))}/original.txt"]  # fmt: skip
    for key in [f"{live}/memory.faiss", f"{live}/memory.json", *junk]:
        s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"1")
    s3_ctx = replace(ctx, storage=s3)
    assert maintenance.cleanup(s3_ctx)["temp_removed"] == 0  # everything is younger than an hour
    counts = maintenance.cleanup(s3_ctx, now=utcnow() + timedelta(hours=2))
    assert counts["orphans_removed"] == 1 and counts["temp_removed"] == 2
    assert _keys(s3) == {f"{prefix}/original.txt", f"{live}/memory.faiss", f"{live}/memory.json"}


def test_pipeline_across_processes_that_share_no_disk(
    isolated_stack, make_tenant, s3_settings, tmp_path
) -> None:
    """Upload to a web process, encode in a worker elsewhere, outputs in the bucket, delete empties it."""
    tenant = make_tenant("s3-e2e")
    shared = {**isolated_stack.env, **DUMMY_CREDENTIALS, "STORAGE_BACKEND": "s3", "PYTHONPATH": str(ROOT),
              "S3_BUCKET": s3_settings.s3_bucket, "S3_ENDPOINT_URL": s3_settings.s3_endpoint_url}  # fmt: skip

    def own(name: str) -> tuple[Path, dict[str, str]]:
        home = tmp_path / name
        home.mkdir()
        dirs = {"SOCRATE_DATA_DIR": "data", "STORAGE_DIR": "storage", "STORAGE_CACHE_DIR": "cache"}
        return home, {**shared, **{var: str(home / sub) for var, sub in dirs.items()}}

    web_home, web_env = own("web")
    worker_home, worker_env = own("worker")
    port, web_log = free_port(), tmp_path / "web.log"
    with open(web_log, "wb") as out:
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1",
                                "api_server:app"], cwd=web_home, env={**os.environ, **web_env}, stdout=out,
                               stderr=subprocess.STDOUT)  # fmt: skip
    worker = Worker(worker_env, tmp_path / "worker.log", cwd=worker_home)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", web, web_log)
        worker.start(isolated_stack.celery)
        api = httpx.Client(base_url=base, headers=tenant.headers, timeout=30)
        body = docgen.txt("en", needle=NEEDLE)
        response = api.post("/api/documents/upload", files={"file": ("notes.txt", body)})
        assert response.status_code == 202, response.text
        doc_id = response.json()["document_id"]
        deadline = time.monotonic() + 240
        while (status := api.get(f"/api/documents/{doc_id}/status").json())["status"] not in (
            "ready",
            "failed",
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["status"] == "ready", (status, worker.log())

        s3 = S3Storage.from_settings(s3_settings)
        prefix = s3.document_prefix(tenant.id, doc_id)
        files = api.get(f"/api/documents/{doc_id}").json()["files"]
        run = files["index"].rsplit("/", 1)[0]
        assert run.startswith(f"{prefix}/runs/")
        assert _keys(s3, prefix + "/") == {
            f"{prefix}/original.txt",
            f"{run}/memory.faiss",
            f"{run}/memory.json",
            f"{run}/windows.npz",
        }
        assert files["metadata"] == f"{run}/memory.json" and _body(s3, files["original"]) == body
        for home in (web_home, worker_home):  # nothing of the document went through a local disk
            assert not [p for p in home.rglob("*") if p.is_file() and doc_id in str(p)]

        found = api.get("/api/search", params={"q": "Which lichen grows on the observatory roof?"}).json()
        assert found["results"][0]["document_id"] == doc_id and NEEDLE in found["results"][0]["text"]

        assert api.delete(f"/api/documents/{doc_id}").status_code == 200
        assert _keys(s3, prefix + "/") == set()
        assert api.get(f"/api/documents/{doc_id}/status").status_code == 404
    finally:
        worker.stop()
        _stop(web)


@pytest.mark.parametrize(
    ("style", "endpoint", "expected"),
    [("", "http://127.0.0.1:9", "path"), ("", None, "auto"), ("virtual", "http://127.0.0.1:9", "virtual")],
)
def test_addressing_style_follows_the_setting(settings, style, endpoint, expected) -> None:
    chosen = settings.with_(s3_bucket="b", s3_endpoint_url=endpoint, s3_addressing_style=style)
    assert S3Storage.from_settings(chosen).client.meta.config.s3["addressing_style"] == expected


def test_an_unknown_addressing_style_is_refused_by_name() -> None:
    from socrate.config import Settings

    with pytest.raises(ValueError, match="S3_ADDRESSING_STYLE must be one of: auto, path, virtual"):
        Settings.from_env({"S3_ADDRESSING_STYLE": "sideways"})

"""End to end on a real worker: upload -> Celery -> memvid -> status, for every file type."""

from __future__ import annotations

import time
from typing import cast

import pytest

from tests import docgen
from tests.conftest import upload, wait_done

CASES = [
    ("report.pdf", lambda: docgen.pdf(pages=6, lang="en"), "en", 6),
    ("notes.docx", lambda: docgen.docx(lang="en"), "en", None),
    ("appunti.txt", lambda: docgen.txt(lang="it", count=40), "it", None),
    ("readme.md", lambda: docgen.markdown(lang="en"), "en", None),
]


@pytest.fixture(scope="module")
def encoded(app, worker, make_tenant_module):
    """Upload all four kinds at once and wait for each; shared by the assertions below."""
    client = app.test_client()
    tenant = make_tenant_module("pipeline")
    ids = {}
    for filename, make, _lang, _pages in CASES:
        response = upload(client, tenant, make(), filename, title=f"Title of {filename}")
        assert response.status_code == 202, response.get_json()
        body = response.get_json()
        assert body["success"] is True and body["status"] == "queued"
        assert body["message"] == "Document uploaded and queued for processing"
        ids[filename] = body["document_id"]
    finals = {name: wait_done(client, tenant, doc_id) for name, doc_id in ids.items()}
    return client, tenant, ids, finals


@pytest.mark.parametrize(("filename", "make", "lang", "pages"), CASES, ids=[c[0] for c in CASES])
def test_document_reaches_ready_with_metadata(encoded, settings, filename, make, lang, pages) -> None:
    client, tenant, ids, finals = encoded
    final, seen = finals[filename]
    assert final["status"] == "ready", final
    assert final["ready"] is True and final["progress"] == 100 and final["task_state"] == "SUCCESS"
    progress = [body["progress"] for body in seen]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    assert final["total_chunks"] > 0

    details = client.get(f"/api/documents/{ids[filename]}", headers=tenant.headers).get_json()
    meta = details["metadata"]
    assert meta["language"] == lang
    assert meta["pages"] == pages
    assert meta["total_tokens"] > 0 and meta["chunk_size"] == 1200 and meta["chunk_overlap"] == 200
    assert meta["encoder"] == "memvid" and meta["encoder_version"] == "0.1.3"
    assert (
        meta["processed_at"] and details["timestamps"]["started_at"] and details["timestamps"]["completed_at"]
    )
    assert details["title"] == f"Title of {filename}" and details["source"] == "api"
    for key in ("original", "index", "metadata"):
        assert (settings.storage_dir / details["files"][key]).is_file(), key
    assert details["files"]["index"].startswith(f"tenants/{tenant.id}/documents/{ids[filename]}/")


def test_progress_advances_with_the_encoding_loop(app, worker, tenant) -> None:
    """A long document shows the encoder's own chunk counter between 20 % and 80 %, never going back."""
    client = app.test_client()
    doc_id = upload(client, tenant, docgen.txt("en", count=300), "long.txt").get_json()["document_id"]
    final, seen = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready" and final["message"] == "Ready"
    progress = [body["progress"] for body in seen]
    assert progress == sorted(progress)
    encoding = [b for b in seen if b["message"].startswith("Understanding ") and "passages" in b["message"]]
    assert encoding, [b["message"] for b in seen]
    assert any(20 < b["progress"] < 80 for b in encoding)
    _, done, _, total, _ = encoding[-1]["message"].split(" ")  # "Understanding 12 of 33 passages"
    assert 0 < int(done) <= int(total) == final["total_chunks"]


def test_worker_loads_model_once_across_documents(encoded) -> None:
    client, tenant, ids, _finals = encoded
    workers = [
        client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()["metadata"]["worker"]
        for doc_id in ids.values()
    ]
    assert len({w["pid"] for w in workers}) == 1, workers
    assert all(w["model_loads"] == 1 for w in workers), workers


def test_memory_outputs_answer_a_question(encoded, settings) -> None:
    """The stored index round-trips: a planted fact is the top hit of a paraphrased question."""
    client, tenant, _ids, _finals = encoded
    needle = "The secret launch code for the orbital greenhouse is PELICAN-42."
    response = upload(client, tenant, docgen.txt("en", count=30, needle=needle), "needle.txt")
    final, _ = wait_done(client, tenant, response.get_json()["document_id"])
    assert final["status"] == "ready"
    details = client.get(f"/api/documents/{final['document_id']}", headers=tenant.headers).get_json()

    from socrate.encoding.factory import get_encoder
    from socrate.encoding.memvid_encoder import (
        MemvidEncoder,  # get_encoder() is typed as the Encoder protocol
    )

    out_dir = (settings.storage_dir / details["files"]["index"]).parent
    hits = cast(MemvidEncoder, get_encoder()).search(
        out_dir, "What is the launch code of the orbital greenhouse?", k=3
    )
    assert any("PELICAN-42" in hit.text for hit in hits)


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 100, "corrupt"),
        ("locked.pdf", docgen.pdf(pages=1, encrypt="s3cret"), "password-protected"),
        ("scan.pdf", docgen.pdf(pages=2, blank=True), "No text could be extracted"),
        ("blank.txt", b" \n\n  \t\n", "No text could be extracted"),
    ],
)
def test_bad_documents_fail_with_a_readable_reason(app, worker, tenant, filename, content, reason) -> None:
    client = app.test_client()
    response = upload(client, tenant, content, filename)
    assert response.status_code == 202
    final, _ = wait_done(client, tenant, response.get_json()["document_id"])
    assert final["status"] == "failed" and final["ready"] is False
    assert reason in final["message"]
    details = client.get(f"/api/documents/{final['document_id']}", headers=tenant.headers).get_json()
    assert reason in details["error"] and details["task_state"] == "FAILURE"


def test_delete_removes_row_and_every_file(app, worker, tenant, settings) -> None:
    client = app.test_client()
    doc_id = upload(client, tenant, docgen.txt("en"), "gone.txt").get_json()["document_id"]
    final, _ = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready"
    folder = settings.storage_dir / "tenants" / tenant.id / "documents" / doc_id
    assert any(folder.rglob("*.faiss"))
    response = client.delete(f"/api/documents/{doc_id}", headers=tenant.headers)
    assert response.status_code == 200
    assert not folder.exists()
    assert client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).status_code == 404


def test_delete_while_processing_revokes_and_leaves_no_files(app, worker, tenant, settings) -> None:
    """Deleting mid-encoding removes everything, and the worker does not recreate outputs."""
    client = app.test_client()
    doc_id = upload(client, tenant, docgen.txt("en", count=300), "long.txt").get_json()["document_id"]
    for _ in range(600):
        status = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).get_json()
        if status["status"] != "queued":
            break
        time.sleep(0.05)
    assert client.delete(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 200
    # The worker has one slot: once a later document is done, the deleted one is finished with.
    later = upload(client, tenant, docgen.txt("en"), "later.txt").get_json()["document_id"]
    assert wait_done(client, tenant, later)[0]["status"] == "ready"
    assert not (settings.storage_dir / "tenants" / tenant.id / "documents" / doc_id).exists()
    assert client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).status_code == 404

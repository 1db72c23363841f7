"""Every error path of the document API answers JSON {"error"} with the right code, leaving nothing behind."""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select, update

from socrate.db.models import Document, Tenant
from tests import docgen, hostile
from tests.conftest import upload, wait_done
from tests.web_session import sign_up


def _count_docs(ctx, tenant_id: str) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).where(Document.tenant_id == tenant_id))


def _stored_files(settings, tenant_id: str) -> list:
    return [p for p in (settings.storage_dir / "tenants" / tenant_id).rglob("*") if p.is_file()]


def test_missing_api_key_is_401(client) -> None:
    response = client.get("/api/documents")
    assert response.status_code == 401 and "API key" in response.get_json()["error"]


@pytest.mark.parametrize(
    "header", ["Bearer sk_nothing_here", "Bearer ", "Basic abc", "Bearer sk_0123456789ab_wrong"]
)
def test_invalid_api_key_is_401(client, tenant, header) -> None:
    response = client.get("/api/documents", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["error"]


def test_tampered_secret_with_valid_prefix_is_401(client, tenant) -> None:
    forged = tenant.key[:-4] + "AAAA"
    response = client.get("/api/documents", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_missing_file_is_400(client, tenant) -> None:
    response = client.post("/api/documents/upload", data={"title": "x"}, headers=tenant.headers)
    assert response.status_code == 400 and "file" in response.get_json()["error"]


def test_empty_file_is_400_and_nothing_is_stored(client, tenant, ctx, settings) -> None:
    response = upload(client, tenant, b"", "empty.txt")
    assert response.status_code == 400 and "empty" in response.get_json()["error"]
    assert _count_docs(ctx, tenant.id) == 0 and _stored_files(settings, tenant.id) == []


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("virus.exe", b"MZ\x90\x00binary"),
        ("animation.gif", b"GIF89a\x01\x00\x01\x00"),
        ("photo.png", b"\xff\xd8\xff\xe0 a JPEG named .png"),
        ("fake.pdf", b"just some text pretending to be a pdf"),
        ("fake.docx", b"plain text, not a zip"),
        ("zip.docx", b"PK\x03\x04not really a docx"),
        ("binary.txt", b"\x00\x01\x02\x03binary"),
        ("renamed.txt", docgen.pdf(pages=1)),
        ("noext", b"hello"),
    ],
)
def test_unsupported_or_mismatched_type_is_415(client, tenant, ctx, settings, filename, content) -> None:
    response = upload(client, tenant, content, filename)
    assert response.status_code == 415, response.get_json()
    assert response.get_json()["error"]
    assert _count_docs(ctx, tenant.id) == 0 and _stored_files(settings, tenant.id) == []


def test_file_over_the_limit_is_413(settings, celery_app, make_tenant) -> None:
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    small = create_app(settings.with_(max_upload_bytes=2048), queue=TaskQueue(celery_app))
    tenant = make_tenant("small-limit")
    response = upload(small.test_client(), tenant, b"a" * 4096, "big.txt")
    assert response.status_code == 413 and "limit" in response.get_json()["error"]
    assert _stored_files(settings, tenant.id) == []


def test_document_count_quota_is_413_before_queueing(client, tenant, ctx, settings) -> None:
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(max_documents=1))
        session.commit()
    assert upload(client, tenant, docgen.txt(), "one.txt").status_code == 202
    response = upload(client, tenant, docgen.txt("en", count=3), "two.txt")
    assert response.status_code == 413 and "quota" in response.get_json()["error"].lower()
    assert _count_docs(ctx, tenant.id) == 1


def test_storage_quota_is_413_and_leaves_no_file(client, tenant, ctx, settings) -> None:
    with ctx.sessions() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(max_bytes=100))
        session.commit()
    response = upload(client, tenant, docgen.txt(), "big.txt")
    assert response.status_code == 413 and "quota" in response.get_json()["error"].lower()
    assert _count_docs(ctx, tenant.id) == 0 and _stored_files(settings, tenant.id) == []


def test_broker_down_is_503_with_nothing_half_made(settings, make_tenant) -> None:
    from celery_config import make_celery
    from socrate.ops.embedded_redis import free_port
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    dead = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(dead, queue=TaskQueue(make_celery(dead)))
    tenant = make_tenant("broker-down")
    response = upload(app.test_client(), tenant, docgen.txt(), "doc.txt")
    assert response.status_code == 503 and "queue" in response.get_json()["error"]
    assert _count_docs(app.extensions["socrate"], tenant.id) == 0
    assert _stored_files(settings, tenant.id) == []


def test_unknown_document_is_404(client, tenant) -> None:
    for method, path in [("get", "/status"), ("get", ""), ("delete", "")]:
        response = getattr(client, method)(f"/api/documents/00000000-0000-0000-0000-000000000000{path}",
                                           headers=tenant.headers)  # fmt: skip
        assert response.status_code == 404 and response.get_json()["error"]


def test_other_tenant_gets_404_for_status_details_and_delete(client, tenant, other_tenant) -> None:
    doc_id = upload(client, tenant, docgen.txt(), "private.txt").get_json()["document_id"]
    for method, suffix in [("get", "/status"), ("get", ""), ("delete", "")]:
        response = getattr(client, method)(f"/api/documents/{doc_id}{suffix}", headers=other_tenant.headers)
        assert response.status_code == 404, (method, suffix)
        assert "private.txt" not in response.get_data(as_text=True)
    assert client.get(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 200
    assert client.get("/api/documents", headers=other_tenant.headers).get_json()["total"] == 0


def test_status_supports_etag_and_304(client, tenant) -> None:
    doc_id = upload(client, tenant, docgen.txt(), "etag.txt").get_json()["document_id"]
    first = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers)
    assert first.status_code == 200 and first.headers["ETag"]
    body = first.get_json()
    assert set(body) == {
        "document_id",
        "status",
        "progress",
        "task_state",
        "message",
        "total_chunks",
        "ready",
    }
    again = client.get(
        f"/api/documents/{doc_id}/status", headers={**tenant.headers, "If-None-Match": first.headers["ETag"]}
    )
    if again.status_code == 304:
        assert again.get_data() == b""
    else:  # a worker may have moved it on in between: then the ETag must differ
        assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]
    stale = client.get(
        f"/api/documents/{doc_id}/status", headers={**tenant.headers, "If-None-Match": '"stale"'}
    )
    assert stale.status_code == 200


def test_status_by_key_and_by_dashboard_session_answer_alike(app) -> None:
    """Key polls are answered in front of Flask (web/polling.py), session polls by the view: same answers."""
    user = sign_up(app, "poller")
    key = user.client.post("/api/keys", json={"name": "poller"}, headers=user.headers).get_json()["key"]
    bearer = {"Authorization": f"Bearer {key}", "X-Request-ID": "poll-1"}
    upload = user.client.post(
        "/api/documents/upload", data={"file": (io.BytesIO(docgen.txt()), "same.txt")}, headers=user.headers
    )
    path = f"/api/documents/{upload.get_json()['document_id']}/status"
    by_key, by_session = app.test_client().get(path, headers=bearer), user.client.get(path)
    assert by_key.status_code == by_session.status_code == 200
    assert by_key.get_json() == by_session.get_json()
    assert by_key.headers["ETag"] == by_session.headers["ETag"]
    assert by_key.headers["Content-Type"] == by_session.headers["Content-Type"] == "application/json"
    assert by_key.headers["Cache-Control"] == by_session.headers["Cache-Control"] == "no-cache"
    assert by_key.headers["X-Request-ID"] == "poll-1"
    assert app.test_client().head(path, headers=bearer).status_code == 200  # HEAD: the view answers
    # Anything but a readable document falls through to the view and its JSON errors.
    assert app.test_client().get(path + "/", headers=bearer).status_code == 404
    wrong = app.test_client().get(path, headers={"Authorization": f"Bearer {key}x"})
    assert wrong.status_code == 401 and "error" in wrong.get_json()


def test_nul_and_control_characters_in_text_fields_are_a_400_naming_the_field(app, client, tenant) -> None:
    from tests.web_session import csrf_from

    titled = client.post(
        "/api/documents/upload",
        data={"file": (io.BytesIO(docgen.txt()), "doc.txt"), "title": "bad\x00title"},
        headers=tenant.headers,
    )
    assert titled.status_code == 400 and "Title" in titled.get_json()["error"]
    found = client.get("/api/search", query_string={"q": "a\x00b"}, headers=tenant.headers)
    assert found.status_code == 400 and "NUL" in found.get_json()["error"]
    for path, email in (("/signup", "nul\x00@example.com"), ("/login", "who\x00@example.com")):
        browser = app.test_client()
        token = csrf_from(browser.get(path).get_data(as_text=True))
        form = {"csrf_token": token, "email": email, "password": "long enough pass 42"}
        answer = browser.post(path, data=form)
        assert answer.status_code == 400
        assert "Email must not contain control characters" in answer.get_data(as_text=True)
    user = sign_up(app, "keys-nul")
    named = user.client.post("/api/keys", json={"name": "ci\x00bot"}, headers=user.headers)
    assert named.status_code == 400 and "Key name" in named.get_json()["error"]


def test_titles_are_shown_without_invisible_or_layout_characters(client, tenant) -> None:
    response = client.post(
        "/api/documents/upload",
        data={"file": (io.BytesIO(docgen.txt()), "doc.txt"), "title": " \u202eevil\u202c fake\u2028name "},
        headers=tenant.headers,
    )
    doc_id = response.get_json()["document_id"]
    shown = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()["title"]
    assert shown == "evil fakename"


@pytest.mark.parametrize("query", ["offset=9223372036854775808", "offset=-1", "limit=0", "limit=x"])
def test_list_parameters_out_of_range_are_a_400(client, tenant, query) -> None:
    response = client.get(f"/api/documents?{query}", headers=tenant.headers)
    assert response.status_code == 400 and ("limit" in response.get_json()["error"])


def test_list_is_newest_first_with_filter_and_pagination(client, make_tenant) -> None:
    tenant = make_tenant("lister")
    ids = [
        upload(client, tenant, docgen.txt("en", 2 + i), f"d{i}.txt").get_json()["document_id"]
        for i in range(3)
    ]
    page = client.get("/api/documents?limit=2", headers=tenant.headers).get_json()
    assert page["total"] == 3 and [d["document_id"] for d in page["documents"]] == ids[::-1][:2]
    rest = client.get("/api/documents?limit=2&offset=2", headers=tenant.headers).get_json()
    assert [d["document_id"] for d in rest["documents"]] == ids[:1]
    none = client.get("/api/documents?status=failed", headers=tenant.headers).get_json()
    assert all(d["status"] == "failed" for d in none["documents"])
    bad = client.get("/api/documents?status=bogus", headers=tenant.headers)
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]
    assert client.get("/api/documents?limit=abc", headers=tenant.headers).status_code == 400


def test_healthz_needs_no_dependencies(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_each_component(client, worker) -> None:
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["components"]["database"]["ok"] and body["components"]["redis"]["ok"]
    assert body["components"]["workers"]["workers"] >= 1


def test_readyz_is_503_when_redis_is_down(settings) -> None:
    from celery_config import make_celery
    from socrate.ops.embedded_redis import free_port
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    dead = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = create_app(dead, queue=TaskQueue(make_celery(dead))).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["components"]["database"]["ok"] is True and body["components"]["redis"]["ok"] is False


def test_database_down_is_503(settings, celery_app, tenant) -> None:
    from socrate.ops.embedded_redis import free_port
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    dead = settings.with_(database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none")
    client = create_app(dead, queue=TaskQueue(celery_app)).test_client()
    for path in ("/api/documents", f"/api/documents/{uuid.uuid4()}/status"):
        response = client.get(path, headers={"Authorization": "Bearer sk_000000000000_x"})
        assert response.status_code == 503 and "database" in response.get_json()["error"]
    response = upload(client, tenant, docgen.txt(), "doc.txt")
    assert response.status_code == 503


def test_a_revoked_key_is_refused_at_once(client, tenant, ctx) -> None:
    from socrate.db.models import ApiKey, utcnow

    doc_id = upload(client, tenant, docgen.txt(), "doc.txt").get_json()["document_id"]
    assert client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).status_code == 200
    with ctx.sessions() as session:
        session.execute(update(ApiKey).where(ApiKey.tenant_id == tenant.id).values(revoked_at=utcnow()))
        session.commit()
    for path in (f"/api/documents/{doc_id}/status", f"/api/documents/{doc_id}", "/api/documents"):
        response = client.get(path, headers=tenant.headers)
        assert response.status_code == 401 and response.get_json()["error"] == "Invalid API key", path


def _spellings(doc_id: str) -> list[str]:
    return [doc_id.upper(), doc_id.replace("-", ""), "{" + doc_id.upper() + "}"]


def test_every_route_reads_a_document_id_in_any_spelling(client, tenant, worker) -> None:
    doc_id = upload(client, tenant, docgen.txt(needle="A lighthouse keeper named Ottavio"), "spell.txt")
    doc_id = doc_id.get_json()["document_id"]
    wait_done(client, tenant, doc_id)
    for spelled in _spellings(doc_id):
        for path in ("/status", "", "/memory"):
            response = client.get(f"/api/documents/{spelled}{path}", headers=tenant.headers)
            assert response.status_code == 200, (spelled, path)
        assert (
            client.get(f"/api/documents/{spelled}/status", headers=tenant.headers).get_json()["document_id"]
            == doc_id
        )
        query = {"q": "lighthouse keeper Ottavio", "document_id": spelled}
        found = client.get("/api/search", query_string=query, headers=tenant.headers).get_json()
        assert found["results"] and all(hit["document_id"] == doc_id for hit in found["results"]), spelled
    assert client.post(f"/api/documents/{doc_id.upper()}/retry", headers=tenant.headers).status_code == 409
    deleted = client.delete(f"/api/documents/{doc_id.replace('-', '')}", headers=tenant.headers)
    assert deleted.status_code == 200 and deleted.get_json()["document_id"] == doc_id
    assert client.get(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 404


def test_another_tenants_id_is_404_in_every_spelling(client, tenant, other_tenant) -> None:
    doc_id = upload(client, tenant, docgen.txt(), "mine.txt").get_json()["document_id"]
    for spelled in _spellings(doc_id):
        for path in ("/status", ""):
            response = client.get(f"/api/documents/{spelled}{path}", headers=other_tenant.headers)
            assert response.status_code == 404 and "mine.txt" not in response.get_data(as_text=True)


def _post_raw(client, tenant, body: bytes):
    return client.post("/api/documents/upload", data=body, content_type="multipart/form-data; boundary=X",
                       headers=tenant.headers)  # fmt: skip


@pytest.mark.parametrize("case", hostile.FORMS, ids=[case.name for case in hostile.FORMS])
def test_form_problems_say_what_was_wrong(client, tenant, ctx, case) -> None:
    response = _post_raw(client, tenant, case.body())
    assert response.status_code == case.status and case.message in response.get_json()["error"]
    assert "larger than the upload limit" not in response.get_json()["error"]
    assert _count_docs(ctx, tenant.id) == 0


@pytest.mark.parametrize(("sent", "shown"), hostile.FILE_NAMES)
def test_file_names_keep_only_their_last_component(client, tenant, sent, shown) -> None:
    response = _post_raw(client, tenant, hostile.multipart(hostile.part(b"file", docgen.txt(), sent)))
    assert response.status_code == 202, response.get_json()
    doc_id = response.get_json()["document_id"]
    assert client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()["filename"] == shown


def test_two_files_or_two_titles_in_one_upload_are_refused_not_dropped(client, tenant) -> None:
    two_files = {"file": [(io.BytesIO(b"first notes"), "a.txt"), (io.BytesIO(b"second notes"), "b.txt")]}
    response = client.post("/api/documents/upload", data=two_files, headers=tenant.headers)
    assert response.status_code == 400 and "One file per upload (2 were sent)" in response.get_json()["error"]
    two_titles = {"file": (io.BytesIO(b"notes"), "a.txt"), "title": ["One", "Two"]}
    response = client.post("/api/documents/upload", data=two_titles, headers=tenant.headers)
    assert response.status_code == 400 and "'title' was sent 2 times" in response.get_json()["error"]

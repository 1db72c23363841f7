"""The same file twice is one document: the API answers 200 with the existing one (not 202), stores and
queues nothing; ?allow_duplicate=true forces a copy; another tenant's identical file is its own."""

from __future__ import annotations

import io

from tests import docgen
from tests.conftest import TenantHandle, upload

CONTENT = docgen.txt("en", count=3, needle="Duplicates are found by their SHA-256 within one tenant.")


def _documents(client, tenant: TenantHandle) -> list[dict]:
    return client.get("/api/documents", headers=tenant.headers).get_json()["documents"]


def test_the_same_file_twice_is_one_document(client, tenant, settings) -> None:
    first = upload(client, tenant, CONTENT, "notes.txt")
    assert first.status_code == 202 and first.get_json()["duplicate"] is False
    again = upload(client, tenant, CONTENT, "notes-copy.txt")
    body = again.get_json()
    assert again.status_code == 200, body
    assert body.pop("status") in ("queued", "processing", "ready")  # the suite's worker may have it
    assert body == {
        "success": True,
        "document_id": first.get_json()["document_id"],
        "duplicate": True,
        "message": "Already in your library as notes.txt: nothing new was stored",
    }
    assert [d["filename"] for d in _documents(client, tenant)] == ["notes.txt"]
    folders = list((settings.storage_dir / "tenants" / tenant.id / "documents").iterdir())
    assert [f.name for f in folders] == [body["document_id"]]


def test_allow_duplicate_forces_a_second_document(client, tenant) -> None:
    first = upload(client, tenant, CONTENT, "notes.txt").get_json()["document_id"]
    forced = client.post(
        "/api/documents/upload?allow_duplicate=true",
        data={"file": (io.BytesIO(CONTENT), "notes.txt")},
        headers=tenant.headers,
    )
    assert forced.status_code == 202 and forced.get_json()["document_id"] != first
    assert len(_documents(client, tenant)) == 2
    wrong = client.post("/api/documents/upload?allow_duplicate=maybe", data={}, headers=tenant.headers)
    assert wrong.status_code == 400 and "allow_duplicate must be true or false" in wrong.get_json()["error"]


def test_another_tenants_identical_file_is_its_own_document(client, tenant, other_tenant) -> None:
    mine = upload(client, tenant, CONTENT, "notes.txt").get_json()["document_id"]
    theirs = upload(client, other_tenant, CONTENT, "notes.txt")
    assert theirs.status_code == 202 and theirs.get_json()["document_id"] != mine


def test_a_cancelled_copy_does_not_count(client, tenant) -> None:
    first = upload(client, tenant, CONTENT, "notes.txt").get_json()["document_id"]
    assert client.post(f"/api/documents/{first}/cancel", headers=tenant.headers).status_code == 200
    again = upload(client, tenant, CONTENT, "notes.txt")
    assert again.status_code == 202 and again.get_json()["document_id"] != first

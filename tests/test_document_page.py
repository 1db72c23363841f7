"""The API behind the document page, with a real worker: rename, passages with their pages, the
original file back byte for byte, encoding again; another tenant's document is a 404 for each."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.conftest import upload, wait_done


@pytest.fixture
def report(client, tenant, worker) -> tuple[str, bytes]:
    content = docgen.pdf(pages=3, needle="The owl counts lanterns.", needle_page=3)
    doc_id = upload(client, tenant, content, "report.pdf").get_json()["document_id"]
    final, _ = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready", final
    return doc_id, content


def test_passages_come_in_reading_order_with_their_pages(client, tenant, report) -> None:
    doc_id, _ = report
    body = client.get(f"/api/documents/{doc_id}/passages?limit=100", headers=tenant.headers).get_json()
    details = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()
    assert body["total"] == details["metadata"]["total_chunks"] == len(body["passages"]) > 0
    assert [p["chunk_index"] for p in body["passages"]] == list(range(body["total"]))
    with_owl = [p for p in body["passages"] if "lanterns" in p["text"]]  # the needle, on page 3
    assert with_owl and with_owl[-1]["page_end"] == 3
    assert all(1 <= p["page_start"] <= p["page_end"] <= 3 for p in body["passages"])
    second = client.get(f"/api/documents/{doc_id}/passages?limit=1&offset=1", headers=tenant.headers)
    assert second.get_json()["passages"] == body["passages"][1:2]


def test_the_original_comes_back_byte_for_byte(client, tenant, report) -> None:
    doc_id, content = report
    response = client.get(f"/api/documents/{doc_id}/original", headers=tenant.headers)
    assert response.status_code == 200 and response.data == content
    assert response.mimetype == "application/pdf"
    assert "filename=report.pdf" in response.headers["Content-Disposition"]


def test_rename_changes_the_title_not_the_file_name(client, tenant, report) -> None:
    doc_id, _ = report
    path = f"/api/documents/{doc_id}"
    renamed = client.patch(path, json={"title": "  Quarterly report  "}, headers=tenant.headers)
    assert renamed.status_code == 200
    assert (renamed.get_json()["title"], renamed.get_json()["filename"]) == ("Quarterly report", "report.pdf")
    listed = client.get("/api/documents?q=quarterly", headers=tenant.headers).get_json()["documents"]
    assert [d["document_id"] for d in listed] == [doc_id]
    for bad in [{"title": ""}, {"title": "a\nb"}, {"title": 7}, {"title": "x" * 501}, {}, []]:
        response = client.patch(path, json=bad, headers=tenant.headers)
        assert response.status_code == 400 and response.get_json()["error"], bad


def test_encoding_again_makes_it_ready_again(client, tenant, report) -> None:
    doc_id, _ = report
    response = client.post(f"/api/documents/{doc_id}/reencode", headers=tenant.headers)
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    again = client.post(f"/api/documents/{doc_id}/reencode", headers=tenant.headers)
    assert again.status_code == 409 and "still being processed" in again.get_json()["error"]
    final, _ = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready"
    assert client.get(f"/api/documents/{doc_id}/passages", headers=tenant.headers).get_json()["total"] > 0


def test_another_tenants_document_is_a_404_everywhere(client, tenant, other_tenant, report) -> None:
    doc_id, _ = report
    theirs = other_tenant.headers
    assert client.patch(f"/api/documents/{doc_id}", json={"title": "mine"}, headers=theirs).status_code == 404
    for path in ("passages", "original"):
        assert client.get(f"/api/documents/{doc_id}/{path}", headers=theirs).status_code == 404
    assert client.post(f"/api/documents/{doc_id}/reencode", headers=theirs).status_code == 404
    title = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()["title"]
    assert title == "report.pdf"

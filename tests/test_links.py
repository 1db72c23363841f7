"""Documents from links: POST /api/documents/url, fetched by the real worker from a site of our own on
127.0.0.1 (ALLOW_LOOPBACK_URLS, tests only), with every refusal a user can meet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import docgen
from tests.conftest import wait_done
from tests.fake_site import Page, Site, serve

ARTICLE = b"""<!doctype html><html><head><title>Harbour news</title></head><body><nav>Home | About</nav>
<main><h1>The new lighthouse</h1><p>The keeper Ottavio feeds his parrot Admiral Biscuit at noon.</p></main>
</body></html>"""
HUGE = str(51 * 2**20)  # a Content-Length over MAX_UPLOAD_MB (50): refused before the body is read


@pytest.fixture
def site() -> Iterator[Site]:
    with serve() as running:
        yield running


def add(client, tenant, url: object, **extra: object):
    return client.post("/api/documents/url", json={"url": url, **extra}, headers=tenant.headers)


def test_a_page_link_becomes_a_searchable_document(client, worker, settings, tenant, site) -> None:
    site.pages["/news/lighthouse"] = Page(ARTICLE)
    response = add(client, tenant, site.url("/news/lighthouse?ref=mail"), title="Lighthouse article")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and body["duplicate"] is False and "link" in body["message"].lower()
    final, _seen = wait_done(client, tenant, body["document_id"])
    assert final["status"] == "ready", final
    assert site.requested == ["/news/lighthouse"]  # fetched once, by the worker
    details = client.get(f"/api/documents/{body['document_id']}", headers=tenant.headers).get_json()
    assert details["title"] == "Lighthouse article" and details["filename"] == "lighthouse.html"
    assert details["content_type"] == "text/html" and details["size_bytes"] == len(ARTICLE)
    assert details["source_url"] == site.url("/news/lighthouse?ref=mail") and details["sha256"]
    question = {"q": "What is the parrot called?", "document_id": body["document_id"]}
    top = client.get("/api/search", query_string=question, headers=tenant.headers).get_json()["results"][0]
    assert "Admiral Biscuit" in top["text"] and "Home | About" not in top["text"]
    assert (settings.storage_dir / details["files"]["original"]).read_bytes() == ARTICLE


def test_the_content_type_decides_the_reader_after_a_redirect(client, worker, tenant, site) -> None:
    site.redirect("/go", "/files/download?id=3")
    site.pages["/files/download"] = Page(docgen.pdf(pages=2, needle="QUOKKA-17"), "application/pdf")
    doc_id = add(client, tenant, site.url("/go")).get_json()["document_id"]
    final, _seen = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready", final
    details = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()
    assert details["filename"] == "download.pdf" and details["metadata"]["pages"] == 2
    assert details["title"] == site.url("/go")  # no title given: the link itself


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: s.redirect("/p", "http://169.254.169.254/latest/meta-data/"), "private or local address"),
        (lambda s: s.redirect("/p", "http://10.0.0.1/admin"), "private or local address"),
        (lambda s: s.redirect("/p", "file:///etc/passwd"), "http"),
        (lambda s: s.pages.update({"/p": Page(b"PK\x03\x04", "application/zip")}), "application/zip"),
        (lambda s: s.pages.update({"/p": Page(b"x", headers={"Content-Length": HUGE})}), "larger than"),
        (lambda s: s.pages.update({"/p": Page(ARTICLE, drip_seconds=0.5)}), "longer than 4 seconds"),
        (lambda s: s.pages.update({"/p": Page(b"gone", "text/plain", 410)}), "HTTP 410"),
        (lambda s: s.pages.update({"/p": Page(b"%PDF-1.4 but not really", "image/png")}), "does not match"),
    ],
    ids=["metadata", "private", "file-scheme", "zip", "too-large", "too-slow", "gone", "wrong-content"],
)
def test_a_link_that_cannot_be_read_fails_with_its_reason(client, worker, tenant, site, setup, reason):
    setup(site)
    doc_id = add(client, tenant, site.url("/p")).get_json()["document_id"]
    final, _seen = wait_done(client, tenant, doc_id)
    assert final["status"] == "failed" and reason in final["message"], final


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/file.pdf", "http"),
        ("http://169.254.169.254/latest", "private or local"),
        ("http://user:secret@example.com/", "password"),
        ("not a link", "http"),
        ("", "No link was given"),
        (42, "No link was given"),
        ("https://example.com/" + "a" * 3000, "long"),
    ],
)
def test_a_bad_link_is_refused_before_anything_is_queued(client, tenant, url, reason) -> None:
    response = add(client, tenant, url)
    assert response.status_code == 400 and reason in response.get_json()["error"], response.get_json()
    listed = client.get("/api/documents", headers=tenant.headers).get_json()
    assert listed["total"] == 0


def test_a_link_needs_a_json_body_and_a_key(client, tenant) -> None:
    response = client.post("/api/documents/url", data="url=https://example.com", headers=tenant.headers)
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert client.post("/api/documents/url", json={"url": "https://example.com"}).status_code == 401


def test_another_tenants_link_document_is_a_404(client, worker, tenant, other_tenant, site) -> None:
    site.pages["/a"] = Page(ARTICLE)
    doc_id = add(client, tenant, site.url("/a")).get_json()["document_id"]
    for path in (f"/api/documents/{doc_id}", f"/api/documents/{doc_id}/status"):
        assert client.get(path, headers=other_tenant.headers).status_code == 404
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"

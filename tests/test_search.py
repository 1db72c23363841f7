"""Search over a tenant's ready documents, on a real worker: ranking, isolation, deletes, Italian, errors."""

from __future__ import annotations

import uuid

import pytest

from tests import docgen
from tests.conftest import upload, wait_done

GREENHOUSE = "The secret launch code for the orbital greenhouse is PELICAN-42."
BAKERY = "Our bakery on Harbour Street sells exactly 317 sourdough loaves every Saturday morning."
MAGAZZINO = "La password del magazzino di Bologna è GIRASOLE-88 e cambia ogni primo lunedì del mese."


@pytest.fixture(scope="module")
def library(app, worker, make_tenant_module):  # type: ignore[no-untyped-def]
    """Tenant A with three documents (one fact each, the first at the very end of a long chunk)."""
    client = app.test_client()
    tenant = make_tenant_module("search-a")
    files = {
        # ~1100 tokens: one chunk, the fact in its last lines, far past the model's 256 word pieces.
        "orbit.txt": docgen.txt("en", count=10, needle=GREENHOUSE),
        "bakery.txt": docgen.txt("en", count=4, needle=BAKERY),
        "magazzino.txt": docgen.txt("it", count=6, needle=MAGAZZINO),
    }
    ids = {
        name: upload(client, tenant, content, name).get_json()["document_id"]
        for name, content in files.items()
    }
    for doc_id in ids.values():
        assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    return client, tenant, ids


def ask(client, tenant, q: str, **params: object) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/search", query_string={"q": q, **params}, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_fact_at_the_end_of_a_long_chunk_ranks_first(library):  # type: ignore[no-untyped-def]
    client, tenant, ids = library
    body = ask(client, tenant, "What is the launch code of the greenhouse in orbit?")
    assert set(body) == {"query", "results", "took_ms", "message"}
    top = body["results"][0]
    assert top["document_id"] == ids["orbit.txt"] and top["filename"] == "orbit.txt"
    assert "PELICAN-42" in top["text"] and "PELICAN-42" in top["snippet"]
    assert top["chunk_index"] == 0 and top["text"].index("PELICAN-42") > 3000  # deep inside the chunk
    assert 0 < top["score"] <= 1 and body["took_ms"] >= 0
    start, end = top["highlights"][0]
    assert top["snippet"][start:end].lower() in {"launch", "code", "greenhouse", "orbit", "orbital"}


def test_each_planted_fact_is_the_top_hit(library):  # type: ignore[no-untyped-def]
    client, tenant, ids = library
    top = ask(client, tenant, "How many sourdough breads does the bakery sell on Saturdays?")["results"][0]
    assert top["document_id"] == ids["bakery.txt"] and "317 sourdough" in top["snippet"]


def test_italian_query_finds_the_italian_passage(library):  # type: ignore[no-untyped-def]
    client, tenant, ids = library
    top = ask(client, tenant, "Qual è la password per entrare nel magazzino a Bologna?")["results"][0]
    assert top["document_id"] == ids["magazzino.txt"] and "GIRASOLE-88" in top["snippet"]


def test_search_can_be_limited_to_one_document(library):  # type: ignore[no-untyped-def]
    client, tenant, ids = library
    body = ask(client, tenant, "launch code", document_id=ids["bakery.txt"], k=3)
    assert {hit["document_id"] for hit in body["results"]} <= {ids["bakery.txt"]}
    assert len(body["results"]) <= 3


def test_other_tenant_never_sees_the_phrase(library, make_tenant):  # type: ignore[no-untyped-def]
    client, _tenant_a, ids = library
    tenant_b = make_tenant("search-b")
    doc_id = upload(client, tenant_b, docgen.txt("en", count=3), "own.txt").get_json()["document_id"]
    assert wait_done(client, tenant_b, doc_id)[0]["status"] == "ready"
    body = ask(client, tenant_b, "secret launch code for the orbital greenhouse PELICAN-42")
    assert body["results"] == [] and body["message"] == "Nothing found for this query"
    for other_id in (ids["orbit.txt"], str(uuid.uuid4()), "not-a-uuid"):
        response = client.get(
            "/api/search",
            query_string={"q": "launch code", "document_id": other_id},
            headers=tenant_b.headers,
        )
        assert response.status_code == 404, response.get_json()
        assert response.get_json() == {"error": "document not found"}


def test_deleted_document_disappears_from_results(app, worker, make_tenant):  # type: ignore[no-untyped-def]
    client, tenant = app.test_client(), make_tenant("search-delete")
    needle = "The lighthouse keeper named his three cats Nebula, Quasar and Pulsar."
    doc_id = upload(client, tenant, docgen.txt("en", count=3, needle=needle), "keeper.txt").get_json()[
        "document_id"
    ]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    question = "What are the names of the lighthouse keeper's cats?"
    assert ask(client, tenant, question)["results"][0]["document_id"] == doc_id
    assert client.delete(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 200
    body = ask(client, tenant, question)
    assert body["results"] == [] and body["message"] == "No ready documents to search yet"


def test_documents_encoded_before_windows_are_still_searchable(library, ctx, settings):  # type: ignore[no-untyped-def]
    """Outputs without windows.npz (older encodings) fall back to memvid's one vector per chunk."""
    from socrate import search
    from socrate.models import Document, utcnow
    from socrate.tenancy import get_owned

    _client, tenant, ids = library
    with ctx.sessions() as session:
        doc = get_owned(session, Document, ids["bakery.txt"], tenant.id)
        (settings.storage_dir / doc.outputs["windows"]).unlink()
        doc.outputs = {name: key for name, key in doc.outputs.items() if name != "windows"}
        doc.processed_at = utcnow()  # as an older run left it
        session.commit()
    found = search.search(ctx, tenant.id, "sourdough loaves sold by the bakery on Saturday", k=2)
    assert found.results[0].document_id == ids["bakery.txt"]
    assert "317 sourdough" in found.results[0].snippet


def test_tenant_with_nothing_ready_gets_an_empty_list_and_a_message(client, make_tenant):  # type: ignore[no-untyped-def]
    body = ask(client, make_tenant("search-empty"), "anything at all")
    assert body["results"] == [] and body["message"] == "No ready documents to search yet"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "The search query is empty"),
        ({"q": "   "}, "The search query is empty"),
        ({"q": "x" * 501}, "The search query is too long (at most 500 characters)"),
        ({"q": "ok", "k": "0"}, "k must be between 1 and 20"),
        ({"q": "ok", "k": "21"}, "k must be between 1 and 20"),
        ({"q": "ok", "k": "five"}, "k must be an integer between 1 and 20"),
    ],
)
def test_bad_queries_get_400(client, tenant, params, error):  # type: ignore[no-untyped-def]
    response = client.get("/api/search", query_string=params, headers=tenant.headers)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(error)


def test_search_needs_credentials(client):  # type: ignore[no-untyped-def]
    assert client.get("/api/search", query_string={"q": "hello"}).status_code == 401

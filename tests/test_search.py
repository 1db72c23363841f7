"""Search over a tenant's ready documents, on a real worker: ranking, isolation, deletes, Italian, errors."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest

from tests import docgen
from tests.conftest import search_rows, upload, wait_done

GREENHOUSE = "The secret launch code for the orbital greenhouse is PELICAN-42."
BAKERY = "Our bakery on Harbour Street sells exactly 317 sourdough loaves every Saturday morning."
MAGAZZINO = "La password del magazzino di Bologna è GIRASOLE-88 e cambia ogni primo lunedì del mese."


@pytest.fixture(scope="module")
def library(app, worker, make_tenant_module):
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


def ask(client, tenant, q: str, **params: object) -> dict:
    response = client.get("/api/search", query_string={"q": q, **params}, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_fact_at_the_end_of_a_long_chunk_ranks_first(library) -> None:
    client, tenant, ids = library
    body = ask(client, tenant, "What is the launch code of the greenhouse in orbit?")
    assert set(body) == {"query", "results", "took_ms", "message"}
    top = body["results"][0]
    assert top["document_id"] == ids["orbit.txt"] and top["filename"] == "orbit.txt"
    assert top["page_start"] is None and top["page_end"] is None  # a text file has no pages
    assert "PELICAN-42" in top["text"] and "PELICAN-42" in top["snippet"]
    assert top["chunk_index"] == 0 and top["text"].index("PELICAN-42") > 3000  # deep inside the chunk
    assert 0 < top["score"] <= 1 and body["took_ms"] >= 0
    # Marked unless other tests' documents made the words common in the shared database's statistics.
    for start, end in top["highlights"]:
        assert top["snippet"][start:end].lower() in {"launch", "code", "greenhouse", "orbit", "orbital"}


def test_words_too_common_to_mark_still_place_the_snippet(library, monkeypatch) -> None:
    """Marking skips words common across the whole database (planner statistics, shared by every
    tenant); the snippet is still cut where the question's words are, only without marks."""
    from socrate.search import fusion

    client, tenant, ids = library
    monkeypatch.setattr(fusion, "MARKED_SHARE", -1.0)  # every word counts as too common to mark
    top = ask(client, tenant, "What is the launch code of the greenhouse in orbit?")["results"][0]
    assert top["document_id"] == ids["orbit.txt"] and top["highlights"] == []
    assert "PELICAN-42" in top["snippet"], top["snippet"]


def test_each_planted_fact_is_the_top_hit(library) -> None:
    client, tenant, ids = library
    top = ask(client, tenant, "How many sourdough breads does the bakery sell on Saturdays?")["results"][0]
    assert top["document_id"] == ids["bakery.txt"] and "317 sourdough" in top["snippet"]


def test_italian_query_finds_the_italian_passage(library) -> None:
    client, tenant, ids = library
    top = ask(client, tenant, "Qual è la password per entrare nel magazzino a Bologna?")["results"][0]
    assert top["document_id"] == ids["magazzino.txt"] and "GIRASOLE-88" in top["snippet"]


def test_search_can_be_limited_to_one_document(library) -> None:
    client, tenant, ids = library
    body = ask(client, tenant, "launch code", document_id=ids["bakery.txt"], k=3)
    assert {hit["document_id"] for hit in body["results"]} <= {ids["bakery.txt"]}
    assert len(body["results"]) <= 3


def test_other_tenant_never_sees_the_phrase(library, make_tenant) -> None:
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


def test_deleted_document_disappears_from_results(app, worker, make_tenant) -> None:
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


def test_identical_text_in_two_tenants_stays_apart(app, worker, make_tenant) -> None:
    client = app.test_client()
    first, second = make_tenant("twin-a"), make_tenant("twin-b")
    content = docgen.txt(
        "en", count=3, needle="The twins keep their kayak behind the old boathouse of Vellmor."
    )
    ids = {t.id: upload(client, t, content, "same.txt").get_json()["document_id"] for t in (first, second)}
    for t in (first, second):
        assert wait_done(client, t, ids[t.id])[0]["status"] == "ready"
    for t in (first, second):
        body = ask(client, t, "Where is the kayak of the twins kept?", k=20)
        assert body["results"] and {hit["document_id"] for hit in body["results"]} == {ids[t.id]}


@pytest.mark.parametrize(
    "query",
    ["launch & code", "launch | code", "!launch", "launch:*", "launch <-> code", "'launch' code",
     '"launch code', "launch (code", "launch\\ code", "a:b:c & | ! :* <->"],
)  # fmt: skip
def test_query_syntax_characters_are_just_words(library, query) -> None:
    client, tenant, ids = library
    body = ask(client, tenant, query)
    if "launch" in query:
        assert body["results"][0]["document_id"] == ids["orbit.txt"], body
    else:
        assert body["message"] in (None, "Nothing found for this query")


def test_sql_in_a_query_is_words_too(library) -> None:
    """Three of its four words are in no document, so whether it clears the score floor depends on
    how common "launch" is in the whole database; what must hold is that nothing runs and nothing
    else goes wrong."""
    client, tenant, ids = library
    body = ask(client, tenant, "launch'); DROP TABLE chunks; --")
    assert [hit["document_id"] for hit in body["results"]][:1] in ([], [ids["orbit.txt"]]), body
    assert ask(client, tenant, "launch code")["results"][0]["document_id"] == ids["orbit.txt"]


def test_a_question_matching_one_passage_returns_that_passage_alone(library) -> None:
    """Passages that share only a common word with the question are not padding the answer."""
    client, tenant, ids = library
    body = ask(
        client, tenant, "How many sourdough loaves does the Harbour Street bakery sell every Saturday?", k=10
    )
    assert [hit["document_id"] for hit in body["results"]] == [ids["bakery.txt"]]


def test_deleting_a_document_or_a_tenant_removes_its_search_rows(app, worker, make_tenant, ctx) -> None:
    from socrate.accounts import tenants

    client = app.test_client()
    tenant = make_tenant("rows")
    doc_ids = [
        upload(client, tenant, docgen.txt("en", count=3, needle=n), f"{n}.txt").get_json()["document_id"]
        for n in "ab"
    ]
    for doc_id in doc_ids:
        assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
        chunks, windows = search_rows(ctx, doc_id)
        assert chunks >= 1 and windows >= chunks
    assert client.delete(f"/api/documents/{doc_ids[0]}", headers=tenant.headers).status_code == 200
    assert search_rows(ctx, doc_ids[0]) == (0, 0) and search_rows(ctx, doc_ids[1]) != (0, 0)
    with ctx.sessions() as session:
        tenants.delete(session, tenant.id, storage=ctx.storage)
    assert search_rows(ctx, doc_ids[1]) == (0, 0)


def test_pdf_results_name_the_pages_of_the_passage(app, worker, make_tenant) -> None:
    client, tenant = app.test_client(), make_tenant("pages")
    content = docgen.pdf(
        pages=8, needle_page=6, needle="The lantern festival of Quorvane is held on the ninth of May."
    )
    doc_id = upload(client, tenant, content, "festivals.pdf").get_json()["document_id"]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    top = ask(client, tenant, "When is the Quorvane lantern festival?")["results"][0]
    assert top["document_id"] == doc_id and "Quorvane" in top["snippet"]
    assert top["page_start"] <= 6 <= top["page_end"] and top["page_end"] - top["page_start"] <= 4
    assert top["page_start"] > 1  # the document has several chunks; this one starts past the first page


def test_memory_downloads_as_one_zip(library, app, make_tenant) -> None:
    client, tenant, ids = library
    response = client.get(f"/api/documents/{ids['orbit.txt']}/memory", headers=tenant.headers)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename=orbit-memory.zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        assert set(bundle.namelist()) == {"memory.faiss", "memory.json", "windows.npz", "manifest.json"}
        manifest = json.loads(bundle.read("manifest.json"))
        assert "PELICAN-42" in bundle.read("memory.json").decode()
    assert manifest["document_id"] == ids["orbit.txt"] and manifest["encoder"] == "memvid"
    other = make_tenant("memory-thief")
    stolen = client.get(f"/api/documents/{ids['orbit.txt']}/memory", headers=other.headers)
    assert stolen.status_code == 404 and stolen.get_json() == {"error": "document not found"}


def test_memory_of_a_document_that_is_not_ready_is_409(client, tenant) -> None:
    doc_id = upload(client, tenant, docgen.txt("en", count=3), "queued.txt").get_json()["document_id"]
    client.post(f"/api/documents/{doc_id}/cancel", headers=tenant.headers)
    response = client.get(f"/api/documents/{doc_id}/memory", headers=tenant.headers)
    assert response.status_code == 409 and "ready" in response.get_json()["error"]


def test_tenant_with_nothing_ready_gets_an_empty_list_and_a_message(client, make_tenant) -> None:
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
def test_bad_queries_get_400(client, tenant, params, error) -> None:
    response = client.get("/api/search", query_string=params, headers=tenant.headers)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(error)


def test_search_needs_credentials(client) -> None:
    assert client.get("/api/search", query_string={"q": "hello"}).status_code == 401


@pytest.mark.parametrize("lexeme", ["it's", "a\\b", "x:y", "<->", "(", "!", "a b", "''", "\\", "é:*", "&|"])
def test_each_lexeme_stays_a_literal_inside_the_tsquery(ctx, lexeme) -> None:
    from sqlalchemy import text

    from socrate.search.passages import tsquery_any

    with ctx.read_engine.connect() as conn:
        nodes, matches, alone = conn.execute(
            text("SELECT numnode(CAST(:q AS tsquery)), array_to_tsvector(ARRAY[:l]) @@ CAST(:q AS tsquery), "
                 "array_to_tsvector(ARRAY['other']) @@ CAST(:q AS tsquery)"),
            {"q": tsquery_any([lexeme, "other"]), "l": lexeme},
        ).one()  # fmt: skip
        only = conn.execute(text("SELECT array_to_tsvector(ARRAY['x']) @@ CAST(:q AS tsquery)"),
                            {"q": tsquery_any([lexeme])}).scalar()  # fmt: skip
    assert (nodes, matches, alone) == (3, True, True)
    assert only is (lexeme == "x")


def test_a_document_queued_again_leaves_search_until_it_is_ready(app, worker, make_tenant, ctx) -> None:
    from socrate.documents import service as documents
    from tests.fakes import KeptQueue  # the new run is never sent: the document stays queued

    client, tenant = app.test_client(), make_tenant("requeued")
    needle = "The ferry to Quellmoor leaves from pier seven at dawn."
    doc_id = upload(client, tenant, docgen.txt("en", count=3, needle=needle), "ferry.txt").get_json()[
        "document_id"
    ]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    assert ask(client, tenant, "When does the ferry to Quellmoor leave?")["results"]
    with ctx.sessions() as session:
        assert documents.requeue(session, documents.get(session, tenant.id, doc_id), KeptQueue(), "again")
    assert search_rows(ctx, doc_id) == (0, 0)
    assert (
        ask(client, tenant, "When does the ferry to Quellmoor leave?")["message"]
        == "No ready documents to search yet"
    )

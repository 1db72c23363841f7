"""The library list as the API and the dashboard read it: filters by status, source, type, language
and name, four orders, paging over the filtered total, and clear refusals for values it does not know."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import update

from socrate.db.models import Document
from socrate.documents import service
from tests import docgen
from tests.conftest import upload


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def library(client, tenant, ctx) -> dict[str, str]:
    """Four documents of different kinds, sizes and languages; ids by file name."""
    files = {
        "Budget 2026.csv": b"item,amount\nrent,1200\n",
        "notes_50%.txt": docgen.txt("en", count=40),
        "Relazione.md": docgen.markdown("it"),
        "scan.png": png(),
    }
    ids = {name: upload(client, tenant, body, name).get_json()["document_id"] for name, body in files.items()}
    with ctx.sessions() as session:
        session.execute(update(Document).where(Document.id == ids["Relazione.md"]).values(language="it"))
        session.execute(update(Document).where(Document.id == ids["notes_50%.txt"]).values(language="en"))
        session.execute(update(Document).where(Document.id == ids["scan.png"]).values(status="failed"))
        session.commit()
    return ids


def names(client, tenant, **query: str) -> list[str]:
    response = client.get("/api/documents", query_string=query, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] >= len(body["documents"])
    return [doc["filename"] for doc in body["documents"]]


def test_each_filter_narrows_the_library(client, tenant, library) -> None:
    assert sorted(names(client, tenant, type="csv")) == ["Budget 2026.csv"]
    assert names(client, tenant, language="it") == ["Relazione.md"]
    assert names(client, tenant, status="failed") == ["scan.png"]
    assert len(names(client, tenant, source="api")) == 4 and names(client, tenant, source="telegram") == []
    assert names(client, tenant, q="budget") == ["Budget 2026.csv"]  # any case
    assert names(client, tenant, q="50%") == ["notes_50%.txt"]  # % and _ are text, not wildcards
    assert names(client, tenant, q="_") == ["notes_50%.txt"]
    assert names(client, tenant, q="relazione", language="it", type="md") == ["Relazione.md"]
    assert names(client, tenant, q="relazione", language="en") == []
    assert sorted(names(client, tenant, status="", type="", q="")) == sorted(library)  # empty means all


def test_orders_and_paging_over_the_filtered_total(client, tenant, library) -> None:
    assert names(client, tenant, sort="name") == [
        "Budget 2026.csv",
        "notes_50%.txt",
        "Relazione.md",
        "scan.png",
    ]
    assert names(client, tenant, sort="oldest") == list(library)
    assert names(client, tenant) == list(reversed(library))  # newest first by default
    largest = names(client, tenant, sort="largest")
    assert largest[0] in {"notes_50%.txt", "scan.png"} and largest[-1] == "Budget 2026.csv"
    page = client.get(
        "/api/documents?sort=name&limit=2&offset=2&source=api", headers=tenant.headers
    ).get_json()
    assert [d["filename"] for d in page["documents"]] == ["Relazione.md", "scan.png"] and page["total"] == 4


def test_another_tenants_documents_never_match(client, tenant, other_tenant, library) -> None:
    assert names(client, other_tenant, q="budget") == [] and names(client, other_tenant) == []


@pytest.mark.parametrize(
    "query",
    ["sort=random", "type=exe", "source=fax", "status=done", "q=" + "x" * 201, "q=a%00b"],
)
def test_an_unknown_filter_value_is_a_clear_400(client, tenant, query: str) -> None:
    response = client.get(f"/api/documents?{query}", headers=tenant.headers)
    assert response.status_code == 400 and response.get_json()["error"]


def test_the_contract_lists_every_kind_one_can_filter_by(app) -> None:
    from socrate.integrations import openapi

    spec = openapi.document()
    parameters = spec["paths"]["/api/documents"]["get"]["parameters"]
    kinds = next(p for p in parameters if p["name"] == "type")["schema"]["enum"]
    assert set(kinds) - {""} == set(service.KIND_FILTERS)
    sorts = next(p for p in parameters if p["name"] == "sort")["schema"]["enum"]
    assert set(sorts) == set(service.SORTS)

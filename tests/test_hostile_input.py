"""Every broken or hostile file ends in a clear 4xx or a readable failure; nothing else is touched."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select, update

from socrate.db.models import Document, Tenant
from tests import docgen
from tests.conftest import upload, wait_done
from tests.hostile import CASES


def _fingerprint(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_hostile_corpus(client, worker, make_tenant, settings, ctx) -> None:
    assert len(CASES) >= 30
    victim, attacker = make_tenant("victim"), make_tenant("attacker")
    victim_doc = upload(client, victim, docgen.txt(), "precious.txt").get_json()["document_id"]
    assert wait_done(client, victim, victim_doc)[0]["status"] == "ready"
    victim_root = settings.storage_dir / "tenants" / victim.id
    before = _fingerprint(victim_root)

    queued = {}
    for case in CASES:
        # Several cases share their bytes (only the name is hostile): each must be its own document.
        response = upload(client, attacker, case.make(), case.filename, allow_duplicate=True)
        body = response.get_json()
        assert response.status_code == case.status, (case.name, response.status_code, body)
        assert isinstance(body, dict), case.name
        if case.status != 202:
            assert body["error"] and "Traceback" not in body["error"], case.name
        else:
            queued[case.name] = (case, body["document_id"])

    for name, (case, doc_id) in queued.items():
        final, _ = wait_done(client, attacker, doc_id, timeout=600)
        assert final["status"] in case.finals, (name, final)
        if final["status"] == "failed":
            assert final["message"] and "Traceback" not in final["message"], (name, final)
            assert case.reason in final["message"], (name, final["message"])
        details = client.get(f"/api/documents/{doc_id}", headers=attacker.headers).get_json()
        shown = details["filename"]
        assert shown and len(shown) <= 200 and not any(c in shown for c in "/\\\x00\u202e\u202c"), (
            name,
            shown,
        )
        assert details["files"]["original"].startswith(f"tenants/{attacker.id}/documents/{doc_id}/")
        for query in case.findable:
            params = {"q": query, "document_id": doc_id}
            found = client.get("/api/search", query_string=params, headers=attacker.headers).get_json()
            texts = [hit["text"].lower() for hit in found["results"]]
            assert any(all(word in text for word in query.lower().split()) for text in texts), (name, query)
        if name == "DOCX with XML external entity" and final["status"] == "ready":
            memory = json.loads((settings.storage_dir / details["files"]["metadata"]).read_text())
            assert all("root:" not in chunk["text"] for chunk in memory["metadata"])

    # The worker is not wedged, and nobody else's data was touched.
    after_doc = upload(client, attacker, docgen.txt(), "after.txt").get_json()["document_id"]
    assert wait_done(client, attacker, after_doc)[0]["status"] == "ready"
    assert _fingerprint(victim_root) == before
    assert client.get(f"/api/documents/{victim_doc}", headers=victim.headers).get_json()["status"] == "ready"


def test_upload_that_would_exceed_the_quota_is_refused(client, make_tenant, ctx) -> None:
    tenant = make_tenant("nearly-full")
    assert upload(client, tenant, docgen.txt(), "first.txt").status_code == 202
    with ctx.sessions() as session:
        used = session.scalar(select(func.sum(Document.size_bytes)).where(Document.tenant_id == tenant.id))
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(max_bytes=used + 10))
        session.commit()
    response = upload(client, tenant, docgen.txt("en", count=3), "second.txt")
    assert response.status_code == 413 and "quota" in response.get_json()["error"].lower()

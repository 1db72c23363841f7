"""JSON API for documents: thin views that parse, resolve the tenant, call one service."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, send_file

from socrate.documents import lifecycle, links
from socrate.documents import service as documents
from socrate.errors import BadRequest
from socrate.integrations.idempotency import Answer
from socrate.web import forms, idempotent, polling
from socrate.web.deps import (
    bearer_token,
    connection,
    ctx,
    limit,
    limit_key,
    queue,
    release_connection,
    require_tenant,
    session,
)

bp = Blueprint("api", __name__, url_prefix="/api")
LINK_JSON = 'Send a JSON object such as {"url": "https://example.com/report.pdf", "title": "optional"}'


@bp.post("/documents/upload")
@require_tenant
def upload() -> tuple[Response, int]:
    limit(f"tenant:{g.tenant_id}", per_minute=ctx().settings.upload_limit_per_minute, scope="upload")
    release_connection()
    allow_duplicate = forms.flag(request.args, "allow_duplicate")
    file, title = forms.single_file(request.files), forms.single(request.form, "title")
    filename, c = forms.client_filename(file), ctx()

    def produce() -> Answer:
        upload = documents.Upload(filename=filename, stream=file.stream, title=title)
        created = documents.create(
            session(), g.tenant_id, upload, source=g.via, storage=c.storage, queue=queue(),
            settings=c.settings, allow_duplicate=allow_duplicate,
        )  # fmt: skip
        return Answer(_created_body(created), 200 if created.duplicate else 202)

    return idempotent.answer(
        produce, lambda: (forms.digest(file.stream), filename, title or "", str(allow_duplicate))
    )


@bp.post("/documents/url")
@require_tenant
def add_link() -> tuple[Response, int]:
    """A document from a link: queued at once, downloaded and read by the worker."""
    limit(f"tenant:{g.tenant_id}", per_minute=ctx().settings.upload_limit_per_minute, scope="upload")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("title", ""), str | None):
        raise BadRequest(LINK_JSON)
    c = ctx()

    def produce() -> Answer:
        created = links.create_from_link(
            session(), g.tenant_id, body.get("url"), title=body.get("title"), source=g.via, storage=c.storage,
            queue=queue(), settings=c.settings,
        )  # fmt: skip
        return Answer(_created_body(created), 202)

    return idempotent.answer(produce, lambda: (json.dumps(body, sort_keys=True),))


def _created_body(created: documents.Created) -> dict[str, Any]:
    doc = created.document
    return {"success": True, "document_id": doc.id, "status": doc.status, "duplicate": created.duplicate,
            "message": created.message}  # fmt: skip


@bp.get("/documents/<document_id:document_id>/status")
def status(document_id: str) -> Response:
    """Polls with an API key are answered by web/polling.py first; this view gives every other answer
    (the key is authenticated in the same query as the read)."""
    token = bearer_token()
    if token is None:
        return _status_for_session(document_id)
    body = documents.status_for_key(connection(), token, document_id)
    limit_key(token)
    return _etagged(body)


@require_tenant
def _status_for_session(document_id: str) -> Response:
    return _etagged(documents.status(connection(), g.tenant_id, document_id))


def _etagged(body: dict[str, Any]) -> Response:
    """JSON with a content ETag, as web/polling.py answers; a matching ``If-None-Match`` gets a 304."""
    payload, etag = polling.etagged(body)
    response = (
        Response(status=304)
        if polling.is_fresh(etag, request.headers.get("If-None-Match"))
        else Response(payload, mimetype="application/json")
    )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/documents/<document_id:document_id>")
@require_tenant
def details(document_id: str) -> Response:
    return jsonify(documents.details_view(documents.get(session(), g.tenant_id, document_id)))


@bp.get("/documents/<document_id:document_id>/memory")
@require_tenant
def memory(document_id: str) -> Response:
    """The document's portable memory (memvid index + metadata + search windows) as one zip."""
    name, archive = documents.memory_archive(session(), g.tenant_id, document_id, storage=ctx().storage)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.get("/documents")
@require_tenant
def list_documents() -> Response:
    limit, offset = forms.page(request.args, default_limit=50)
    arg = {name: request.args.get(name) or None for name in ("status", "source", "type", "language", "q")}
    filters = documents.Filters(
        status=arg["status"], source=arg["source"], kind=arg["type"], language=arg["language"], name=arg["q"],
        sort=request.args.get("sort") or "newest",
    )  # fmt: skip
    rows, total = documents.list_documents(session(), g.tenant_id, filters, limit=limit, offset=offset)
    return jsonify(
        documents=[documents.details_view(d) for d in rows], total=total, limit=limit, offset=offset
    )


@bp.delete("/documents/<document_id:document_id>")
@require_tenant
def delete(document_id: str) -> Response:
    c = ctx()
    deleted = documents.delete(
        session(), g.tenant_id, document_id, storage=c.storage, queue=queue(), settings=c.settings
    )
    return jsonify(success=True, document_id=deleted, message="Document deleted")


@bp.post("/documents/<document_id:document_id>/cancel")
@require_tenant
def cancel(document_id: str) -> Response:
    doc = documents.cancel(session(), g.tenant_id, document_id, queue=queue())
    return jsonify(lifecycle.status_view(doc))


@bp.post("/documents/<document_id:document_id>/retry")
@require_tenant
def retry(document_id: str) -> tuple[Response, int]:
    doc = documents.retry(session(), g.tenant_id, document_id, queue=queue())
    return jsonify(lifecycle.status_view(doc)), 202

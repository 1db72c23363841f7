"""JSON API behind the document page: rename a document, read its passages, download its original,
encode it again. Thin views over socrate.documents.library."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request, send_file

from socrate.documents import library, lifecycle
from socrate.documents import service as documents
from socrate.errors import BadRequest
from socrate.web import forms
from socrate.web.deps import ctx, queue, require_tenant, session

bp = Blueprint("library", __name__, url_prefix="/api/documents")


@bp.patch("/<document_id:document_id>")
@require_tenant
def rename(document_id: str) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "title" not in body:
        raise BadRequest('Send a JSON object with "title"')
    doc = library.rename(session(), g.tenant_id, document_id, body["title"])
    return jsonify(documents.details_view(doc))


@bp.get("/<document_id:document_id>/passages")
@require_tenant
def passages(document_id: str) -> Response:
    limit, offset = forms.page(request.args, default_limit=20)
    found = library.passages(session(), g.tenant_id, document_id, limit=limit, offset=offset)
    return jsonify(passages=found.rows, total=found.total, limit=limit, offset=offset)


@bp.get("/<document_id:document_id>/original")
@require_tenant
def original(document_id: str) -> Response:
    found = library.original(session(), g.tenant_id, document_id, storage=ctx().storage)
    return send_file(
        found.path, mimetype=found.content_type, as_attachment=True, download_name=found.download_name
    )


@bp.post("/<document_id:document_id>/reencode")
@require_tenant
def reencode(document_id: str) -> tuple[Response, int]:
    doc = library.reencode(session(), g.tenant_id, document_id, queue=queue())
    return jsonify(lifecycle.status_view(doc)), 202

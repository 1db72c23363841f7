"""JSON API for search: ``GET /api/search?q=&k=&document_id=`` over the caller's ready documents."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, g, jsonify, request

from socrate import search
from socrate.errors import BadRequest
from socrate.web.deps import ctx, require_tenant

bp = Blueprint("search", __name__, url_prefix="/api")


@bp.get("/search")
@require_tenant
def search_documents() -> Response:
    try:
        k = int(request.args.get("k", 5))
    except ValueError as exc:
        raise BadRequest(f"k must be an integer between 1 and {search.MAX_K}") from exc
    found = search.search(
        ctx(),
        g.tenant_id,
        request.args.get("q", ""),
        k=k,
        document_id=request.args.get("document_id") or None,
    )
    return jsonify(asdict(found))

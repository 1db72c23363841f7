"""The API's contract for machines (/api/openapi.json) and for people (/api/docs: Swagger UI, its assets
served from the swagger-ui-py package, no CDN)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from flask import Blueprint, Response, abort, jsonify, render_template, send_from_directory

from socrate.integrations import openapi

bp = Blueprint("docs", __name__)
ASSETS = Path(swagger_ui.__file__).with_name("static")
SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
# Swagger UI sets inline styles and shows data: images; nothing else on the page loosens the policy.
DOCS_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'self'"
)


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    response = jsonify(openapi.document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, carries no data: tools may fetch it
    return response


@bp.get("/api/docs")
def docs() -> Response:
    response = Response(render_template("api_docs.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@bp.get("/docs-assets/<name>")
def asset(name: str) -> Response:
    if name not in SERVED:
        abort(404)
    return send_from_directory(ASSETS, name, max_age=86400)

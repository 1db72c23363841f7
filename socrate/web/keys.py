"""JSON API for a tenant's API keys: create (plaintext shown once), list, revoke; owners' dashboard
sessions only."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from socrate.accounts import apikeys
from socrate.web.deps import require_owner_login, session

bp = Blueprint("keys", __name__, url_prefix="/api/keys")


@bp.get("")
@require_owner_login
def list_keys() -> Response:
    return jsonify(keys=[apikeys.key_view(row) for row in apikeys.list_keys(session(), g.tenant_id)])


@bp.post("")
@require_owner_login
def create() -> tuple[Response, int]:
    name = str((request.get_json(silent=True) or {}).get("name") or "default")
    row, plaintext = apikeys.create(session(), g.tenant_id, name)
    return jsonify(**apikeys.key_view(row), key=plaintext), 201


@bp.delete("/<key_id>")
@require_owner_login
def revoke(key_id: str) -> Response:
    apikeys.revoke(session(), g.tenant_id, key_id)
    return jsonify(success=True, id=key_id, message="API key revoked")

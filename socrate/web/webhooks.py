"""JSON API for a tenant's webhook endpoints: create (secret shown once), list, change, delete, rotate the
secret, send a test event, read the delivery log. An API key or an owner's dashboard session manages them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from socrate.errors import BadRequest
from socrate.integrations import webhooks
from socrate.web.deps import ctx, queue, require_owner, session

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")
JSON_OBJECT = (
    'Send a JSON object such as {"url": "https://example.com/hooks/socrate", "events": ["document.ready"]}'
)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(JSON_OBJECT)
    return body


@bp.get("")
@require_owner
def list_endpoints() -> Response:
    rows = webhooks.list_endpoints(session(), g.tenant_id)
    return jsonify(endpoints=[webhooks.endpoint_view(row) for row in rows], events=list(webhooks.EVENTS))


@bp.post("")
@require_owner
def create() -> tuple[Response, int]:
    body = _body()
    endpoint, secret = webhooks.create(
        session(), g.tenant_id, body.get("url"), events=body.get("events"),
        description=body.get("description", ""), settings=ctx().settings,
    )  # fmt: skip
    return jsonify(webhooks.endpoint_view(endpoint, secret)), 201


@bp.get("/<endpoint_id>")
@require_owner
def details(endpoint_id: str) -> Response:
    return jsonify(webhooks.endpoint_view(webhooks.get(session(), g.tenant_id, endpoint_id)))


@bp.patch("/<endpoint_id>")
@require_owner
def change(endpoint_id: str) -> Response:
    endpoint = webhooks.update(session(), g.tenant_id, endpoint_id, _body(), settings=ctx().settings)
    return jsonify(webhooks.endpoint_view(endpoint))


@bp.delete("/<endpoint_id>")
@require_owner
def delete(endpoint_id: str) -> Response:
    deleted = webhooks.delete(session(), g.tenant_id, endpoint_id)
    return jsonify(success=True, id=deleted, message="Webhook endpoint deleted")


@bp.post("/<endpoint_id>/rotate-secret")
@require_owner
def rotate_secret(endpoint_id: str) -> Response:
    endpoint, secret = webhooks.rotate_secret(session(), g.tenant_id, endpoint_id)
    return jsonify(webhooks.endpoint_view(endpoint, secret))


@bp.post("/<endpoint_id>/test")
@require_owner
def send_test(endpoint_id: str) -> tuple[Response, int]:
    delivery_id = webhooks.send_test(session(), g.tenant_id, endpoint_id)
    queue().deliver_webhooks(g.tenant_id, [delivery_id])
    return jsonify(
        success=True, delivery_id=delivery_id, message="Test event queued: see the delivery log"
    ), 202


@bp.get("/<endpoint_id>/deliveries")
@require_owner
def delivery_log(endpoint_id: str) -> Response:
    rows = webhooks.attempts(session(), g.tenant_id, endpoint_id)
    return jsonify(attempts=[webhooks.attempt_view(row) for row in rows])

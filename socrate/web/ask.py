"""``POST /api/ask``: an answer with citations, as one JSON body or streamed as server-sent events.

Everything that can refuse the question (validation, another tenant's document, the daily token budget)
happens before the stream starts, so refusals are ordinary 4xx JSON. With ``Accept: text/event-stream``
the events are ``citations`` (as soon as retrieval is done), ``token`` (text deltas), ``done`` (the final
answer, usage, any warning) and ``error``; a client that disconnects closes the model's stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from socrate import logs
from socrate.errors import BadRequest
from socrate.search import ask as service
from socrate.web.deps import ctx, require_tenant

log = logging.getLogger(__name__)
bp = Blueprint("ask", __name__, url_prefix="/api")
EVENT_STREAM = "text/event-stream"
NOT_JSON = 'Send a JSON object such as {"question": "What does the contract say about notice?"}'
STREAM_FAILED = "The answer stopped because of an internal error; please ask again"


@bp.post("/ask")
@require_tenant
def ask() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(NOT_JSON)
    document_id = body.get("document_id")
    if document_id is not None and not isinstance(document_id, str):
        raise BadRequest("document_id must be a string")
    question, k = body.get("question"), body.get("k")
    asked = service.prepare(ctx(), g.tenant_id, question, document_id=document_id, k=k)
    if request.accept_mimetypes.best_match(["application/json", EVENT_STREAM]) == EVENT_STREAM:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return Response(_stream(asked), mimetype=EVENT_STREAM, headers=headers)
    return jsonify(asked.collect())


def _stream(asked: service.Asked) -> Iterator[str]:
    cited: list[service.Citation] = []
    try:
        for event in asked.events():
            if isinstance(event, service.Citations):
                cited = event.citations
                listed = [asdict(c) for c in cited]
                yield _sse("citations", {"citations": listed, "mode": event.mode, "model": event.model})
            elif isinstance(event, service.Token):
                yield _sse("token", {"text": event.text})
            else:
                yield _sse("done", service.answer_body(event, cited))
    except Exception:
        log.exception("answer stream failed", extra=logs.fields(tenant_id=asked.tenant_id))
        yield _sse("error", {"error": STREAM_FAILED})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

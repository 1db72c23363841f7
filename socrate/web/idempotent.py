"""``Idempotency-Key`` on the views that create documents: the first answer is replayed to retries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Response, current_app, g, jsonify, request

from socrate.errors import ServiceUnavailable
from socrate.integrations import idempotency
from socrate.integrations.idempotency import Answer

REPLAYED_HEADER = "Idempotent-Replayed"


def answer(
    produce: Callable[[], Answer], content: Callable[[], Sequence[str | bytes]]
) -> tuple[Response, int]:
    """``produce``'s answer; with an ``Idempotency-Key``, the first answer to that key and ``content``
    (computed only then: for an upload it reads the file once more)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        result = produce()
    else:
        keys: idempotency.IdempotencyKeys | None = current_app.extensions["socrate.idempotency"]
        if keys is None:
            raise ServiceUnavailable("Idempotency keys need Redis, which is not configured")
        fingerprint = idempotency.fingerprint(request.path, *content())
        result = keys.run(g.tenant_id, idempotency.check_key(key), fingerprint, produce)
    response = jsonify(result.body)
    if result.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response, result.status

"""``GET /metrics`` for Prometheus, behind ``Authorization: Bearer $METRICS_TOKEN``.

Without METRICS_TOKEN the endpoint does not exist (404), so metrics are never public by accident.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response

from socrate.ops import metrics
from socrate.web.deps import bearer_token, ctx

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    expected = ctx().settings.metrics_token
    if not expected:
        return Response("Not found\n", 404, mimetype="text/plain")
    presented = bearer_token() or ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return Response(
            "Unauthorized\n",
            401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    c = ctx()
    return Response(
        metrics.render(c.read_engine, c.settings.redis_url), 200, content_type=metrics.CONTENT_TYPE
    )

"""Liveness (/healthz, no dependencies) and readiness (/readyz, per-component JSON)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from socrate.ops import health
from socrate.web.deps import ctx

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    c = ctx()
    report = health.readiness(c.engine, c.settings.redis_url, current_app.extensions["socrate.taskqueue"])
    return jsonify(report), 200 if report["ready"] else 503

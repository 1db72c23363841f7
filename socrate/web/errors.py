"""Domain exceptions -> HTTP status and JSON ``{"error": ...}``, in one place."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from socrate import errors

log = logging.getLogger(__name__)

STATUS = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.QuotaExceeded: 413,
    errors.UnsupportedType: 415,
    errors.ServiceUnavailable: 503,
}


def register(app: Flask) -> None:
    @app.errorhandler(errors.RateLimited)
    def _rate_limited(exc: errors.RateLimited):  # type: ignore[no-untyped-def]
        return jsonify(error=exc.message), 429, {"Retry-After": str(exc.retry_after)}

    @app.errorhandler(errors.SocrateError)
    def _domain(exc: errors.SocrateError):  # type: ignore[no-untyped-def]
        return jsonify(error=exc.message), STATUS.get(type(exc), 400)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        log.warning("database unavailable error=%r", exc)
        return jsonify(error="The database is unavailable; please retry shortly"), 503

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        messages = {413: "File is larger than the upload limit", 404: "Not found", 405: "Method not allowed"}
        return jsonify(error=messages.get(exc.code or 500, exc.description)), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        return jsonify(error="Internal server error"), 500

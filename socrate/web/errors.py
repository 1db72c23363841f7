"""Domain exceptions -> HTTP status, as JSON ``{"error": ...}`` for the API and a page for the dashboard."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from socrate import errors, logs

log = logging.getLogger(__name__)

STATUS = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.QuotaExceeded: 413,
    errors.UnsupportedType: 415,
    errors.Unprocessable: 422,
    errors.ServiceUnavailable: 503,
    errors.RateLimited: 429,
}
JSON_PREFIXES = ("/api/", "/healthz", "/readyz")


def status_for(exc: errors.SocrateError) -> int:
    """By the nearest mapped class: a StorageUnavailable is a ServiceUnavailable (503), not a 400."""
    return next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 400)


def headers_for(exc: errors.SocrateError) -> dict[str, str]:
    """A refused attempt says when to come back."""
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited) else {}


def _answer(message: str, code: int) -> tuple[Response | str, int]:
    """JSON for API clients; a friendly page (no stack trace) for people on dashboard pages."""
    if request.path.startswith(JSON_PREFIXES):
        return jsonify(error=message), code
    return render_template("error.html", message=message, code=code), code


def register(app: Flask) -> None:
    @app.errorhandler(errors.RateLimited)
    def _rate_limited(exc: errors.RateLimited):  # type: ignore[no-untyped-def]
        return jsonify(error=exc.message), 429, headers_for(exc)

    @app.errorhandler(errors.SocrateError)
    def _domain(exc: errors.SocrateError):  # type: ignore[no-untyped-def]
        return _answer(exc.message, status_for(exc))

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)  # every pooled connection busy for pool_timeout: busy, not broken
    def _database_down(exc: OperationalError | PoolTimeout):  # type: ignore[no-untyped-def]
        log.warning("database unavailable", extra=logs.fields(error=repr(exc)))
        return _answer("The database is unavailable; please retry shortly", 503)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        messages = {413: "File is larger than the upload limit", 404: "Not found", 405: "Method not allowed"}
        body, code = _answer(messages.get(exc.code or 500, exc.description or "Error"), exc.code or 500)
        kept = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return body, code, kept  # a 405's Allow header, say

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        return _answer("Internal server error", 500)

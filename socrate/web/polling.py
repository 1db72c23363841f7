"""The status poll answered in front of Flask: clients poll every couple of seconds, and the framework's
per-request work (contexts, hooks, routing, sessions) cost more than the poll's own query.

Only the everyday answers are made here: an API key that may read the document gets 200, or 304 for
a matching ETag. Everything else (cookies, bad keys, other tenants' ids, limits reached, a database
that went away, HEAD) falls through to the Flask view, which answers as every other endpoint does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.http import parse_etags

from socrate import logs
from socrate.documents import service as documents
from socrate.web.deps import bearer_from, count_key, request_id_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

PATH = re.compile(r"/api/documents/([^/]+)/status")  # the view's route, <document_id> as [^/]+


def etagged(body: dict[str, Any]) -> tuple[bytes, str]:
    """The JSON payload and its content tag (same body, same tag, in every process)."""
    payload = json.dumps(body, sort_keys=True).encode()
    return payload, hashlib.sha1(payload).hexdigest()


def is_fresh(etag: str, if_none_match: str | None) -> bool:
    """Whether the client already holds this tag (``If-None-Match``): it gets an empty 304."""
    return bool(if_none_match) and parse_etags(if_none_match).contains(etag)


class StatusPolls:
    """WSGI middleware for ``GET /api/documents/<id>/status`` with ``Authorization: Bearer``."""

    def __init__(self, app: Flask) -> None:
        self.app: WSGIApplication = app.wsgi_app
        self.ctx = app.extensions["socrate"]
        self.limiter = app.extensions["socrate.ratelimit"]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        token = bearer_from(environ.get("HTTP_AUTHORIZATION", ""))
        if match is None or token is None or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        # The app reuses the id if it answers instead: one request, one id in the logs.
        request_id = environ["HTTP_X_REQUEST_ID"] = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        try:
            with logs.bound(request_id=request_id), self.ctx.read_engine.connect() as conn:
                body = documents.status_for_key(conn, token, match.group(1))
                count_key(self.limiter, self.ctx.settings, token)
        except Exception:
            return self.app(environ, start_response)
        payload, etag = etagged(body)
        headers = [("ETag", f'"{etag}"'), ("Cache-Control", "no-cache"), ("X-Request-ID", request_id)]
        if is_fresh(etag, environ.get("HTTP_IF_NONE_MATCH")):
            start_response("304 NOT MODIFIED", headers)
            return []
        length = str(len(payload))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", length), *headers])
        return [payload]

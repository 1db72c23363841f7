"""CSRF for cookie sessions: a per-session token echoed in a form field or the X-CSRF-Token header."""

from __future__ import annotations

import hmac
import secrets
from typing import cast

from flask import request
from flask import session as cookie_session

from socrate.errors import Forbidden

SESSION_KEY = "csrf"
HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token() -> str:
    """This session's token, minted on first use (templates embed it in forms and a meta tag)."""
    if SESSION_KEY not in cookie_session:
        cookie_session[SESSION_KEY] = secrets.token_urlsafe(32)
    return cast(str, cookie_session[SESSION_KEY])


def check() -> None:
    """Forbidden unless the request carries this session's token: a cross-site page cannot read it."""
    expected = cookie_session.get(SESSION_KEY)
    presented = request.headers.get(HEADER) or request.form.get(FORM_FIELD) or ""
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise Forbidden("Missing or invalid CSRF token: reload the page and try again")

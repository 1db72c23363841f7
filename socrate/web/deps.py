"""Request-scoped access to the context, a database session and the authenticated tenant."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast

from flask import current_app, g, request
from flask import session as cookie_session
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from socrate import logs
from socrate.accounts import apikeys, logins, workspaces
from socrate.config import Settings
from socrate.context import Context
from socrate.errors import Forbidden, ServiceUnavailable, Unauthorized
from socrate.ratelimit import Limit, RateLimiter
from socrate.taskqueue import TaskQueue
from socrate.web import csrf

SESSION_TOKEN = "sid"  # the log-in's token, set by web/auth.py; the login_sessions row decides
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
P = ParamSpec("P")
R = TypeVar("R")


def ctx() -> Context:
    return cast(Context, current_app.extensions["socrate"])


def queue() -> TaskQueue:
    q: TaskQueue | None = current_app.extensions["socrate.taskqueue"]
    if q is None:
        raise ServiceUnavailable("The job queue is not configured")
    return q


def connection() -> Connection:
    """A bare autocommit connection for single-statement reads: no BEGIN/ROLLBACK round trips."""
    if "db_conn" not in g:
        g.db_conn = ctx().read_engine.connect()
    return cast(Connection, g.db_conn)


def session() -> Session:
    """One session per request, closed on teardown."""
    if "db_session" not in g:
        g.db_session = ctx().sessions()
    return cast(Session, g.db_session)


def release_connection() -> None:
    """Hand the request's database connection back to the pool (the session takes a new one when next
    used): an upload body may trickle in for minutes, and must not hold a connection meanwhile."""
    if "db_session" in g:
        g.db_session.close()


def current_login() -> logins.Login | None:
    """The dashboard log-in behind this request's cookie, looked up once per request. A cookie whose
    session was ended (log-out elsewhere, password change) or expired is cleared."""
    if "login" not in g:
        token = cookie_session.get(SESSION_TOKEN)
        g.login = logins.resolve(session(), token) if isinstance(token, str) else None
        if token is not None and g.login is None:
            cookie_session.pop(SESSION_TOKEN, None)
    return cast("logins.Login | None", g.login)


def bearer_token() -> str | None:
    """The API key from ``Authorization: Bearer <api key>``, if the request carries one."""
    return bearer_from(request.headers.get("Authorization", ""))


def bearer_from(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def request_id_for(presented: str) -> str:
    """The client's X-Request-ID if it is a sane one, else a new one (unique, not secret: the
    per-process generator, reseeded at fork, saves a system call)."""
    return presented if _REQUEST_ID.match(presented) else f"{random.getrandbits(128):032x}"


def limit_key(token: str) -> None:
    """The per-key request limit, counted by the key's public prefix."""
    count_key(current_app.extensions["socrate.ratelimit"], ctx().settings, token)


def count_key(limiter: RateLimiter | None, settings: Settings, token: str) -> None:
    """``limit_key`` outside a Flask request (web/polling.py)."""
    if limiter is not None:
        per_minute = Limit(requests=settings.rate_limit_per_minute, per_seconds=60)
        limiter.hit("api", f"key:{token[:15]}", per_minute)


def require_tenant(view: Callable[P, R]) -> Callable[P, R]:
    """Resolve ``g.tenant_id`` from a Bearer API key, or from the dashboard's session cookie + CSRF.

    A request that sends ``Authorization`` is judged by it alone (no CSRF: browsers never add it
    on their own). Otherwise a logged-in session works, and changing anything needs the CSRF token.
    ``g.via`` records which, so uploads can be tagged ``api`` or ``web``.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token()
        if token is not None:
            g.tenant_id, g.via = apikeys.authenticate(session(), token), "api"
            limit_key(token)
        elif request.headers.get("Authorization"):
            raise Unauthorized("Invalid Authorization header: send 'Authorization: Bearer <api key>'")
        elif (login := current_login()) is not None:
            if request.method not in csrf.SAFE_METHODS:
                csrf.check()
            g.tenant_id, g.via = login.tenant_id, "web"
            limit(f"session:{g.tenant_id}", per_minute=ctx().settings.rate_limit_per_minute)
        else:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <api key>' or log in")
        logs.bind(tenant_id=g.tenant_id)
        return view(*args, **kwargs)

    return wrapper


def limit(identity: str, per_minute: int, scope: str = "api") -> None:
    """Apply a per-minute request limit to ``identity`` (429 with Retry-After past it)."""
    limiter = current_app.extensions["socrate.ratelimit"]
    if limiter is not None:
        limiter.hit(scope, identity, Limit(requests=per_minute, per_seconds=60))


def require_user(view: Callable[P, R]) -> Callable[P, R]:
    """``require_tenant`` for logged-in people only: a leaked API key must not mint or revoke keys."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if g.via != "web":
            raise Forbidden(
                "Log in to the dashboard for this: API keys cannot manage keys, members or Telegram links"
            )
        return view(*args, **kwargs)

    return require_tenant(wrapper)


def _owner_only(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        login = current_login()
        if g.via == "web" and login is not None:
            workspaces.require_owner(login.role)
        return view(*args, **kwargs)

    return wrapper


def require_owner(view: Callable[P, R]) -> Callable[P, R]:
    """``require_tenant``, and a session must be an owner's (an API key acts for the workspace: owners
    make them): members use documents and search, owners also manage webhooks."""
    return require_tenant(_owner_only(view))


def require_owner_login(view: Callable[P, R]) -> Callable[P, R]:
    """``require_user`` for owners only: keys, members, the workspace itself."""
    return require_user(_owner_only(view))

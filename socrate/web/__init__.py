"""The Flask adapter: app factory wiring settings, database, storage and the task queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, Request, Response, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from socrate import context, logs
from socrate.config import Settings
from socrate.integrations.idempotency import IdempotencyKeys
from socrate.ratelimit import RateLimiter
from socrate.taskqueue import TaskQueue

log = logging.getLogger(__name__)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
REQUEST_ID_HEADER = "X-Request-ID"


class DocumentIdConverter(BaseConverter):
    """A document id in a path, never one of the fixed words beside it: GET /api/documents/upload is then
    a 405 whose Allow header says POST, not a request for a document named "upload"."""

    regex = r"(?!(?:upload|url)$)[^/]+"


class CookieSessions(SecureCookieSessionInterface):
    """Signed cookie sessions whose Secure flag follows the request scheme unless configured."""

    def __init__(self, secure: bool | None) -> None:
        self.secure = secure

    def get_cookie_secure(self, app: Flask) -> bool:
        return self.secure if self.secure is not None else request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """No cookie, nothing to verify: API-key requests skip building the signing serializer."""
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Untouched and empty: no cookie to write, delete or vary on."""
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)


def create_app(settings: Settings | None = None, queue: TaskQueue | None = None) -> Flask:
    """Build the app; ``queue`` wraps the Celery app (api_server.py passes the real one)."""
    from socrate.web import (
        account,
        api,
        ask,
        auth,
        csrf,
        dashboard,
        deps,
        docs,
        errors,
        forms,
        health,
        keys,
        library,
        metrics,
        polling,
        search,
        team,
        telegram,
        webhooks,
        workspaces,
    )

    settings = settings or Settings.from_env()
    logs.configure(settings)
    if settings.secret_key == Settings.secret_key:
        log.warning("SECRET_KEY is the development default: anyone can forge dashboard sessions; set it")
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.request_class = forms.SocrateRequest
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.session_days),
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie ends when the server-side session does
    )
    app.session_interface = CookieSessions(settings.session_cookie_secure)
    app.extensions["socrate"] = context.build(settings)
    app.extensions["socrate.taskqueue"] = queue
    app.extensions["socrate.ratelimit"] = RateLimiter(settings.redis_url) if settings.redis_url else None
    app.extensions["socrate.idempotency"] = (
        IdempotencyKeys(settings.redis_url, settings.idempotency_hours) if settings.redis_url else None
    )
    app.url_map.converters["document_id"] = DocumentIdConverter
    blueprints = (
        api,
        library,
        ask,
        keys,
        search,
        telegram,
        webhooks,
        workspaces,
        docs,
        health,
        metrics,
        auth,
        dashboard,
        account,
        team,
    )
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    errors.register(app)
    app.jinja_env.globals["csrf_token"] = csrf.token
    app.context_processor(dashboard.top_bar)
    app.wsgi_app = polling.StatusPolls(app)  # type: ignore[method-assign]
    if settings.trusted_proxy_hops:  # the client address and scheme as the proxies in front saw them
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.before_request
    def _bind_request_id() -> None:
        logs.clear()  # nothing leaks from the previous request on this thread
        logs.bind(request_id=deps.request_id_for(request.headers.get(REQUEST_ID_HEADER, "")))

    @app.after_request
    def _page_headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)  # a page may set a policy of its own (web/docs.py)
        request_id = logs.current().get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.teardown_request
    def _clear_log_context(_exc: BaseException | None) -> None:
        logs.clear()

    @app.teardown_appcontext
    def _close_database(_exc: BaseException | None) -> None:
        for name in ("db_session", "db_conn"):
            handle = g.pop(name, None)
            if handle is not None:
                handle.close()

    return app

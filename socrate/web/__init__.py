"""The Flask adapter: app factory wiring settings, database, storage and the task queue."""

from __future__ import annotations

from flask import Flask, g

from socrate import context
from socrate.config import Settings
from socrate.queue import TaskQueue
from socrate.ratelimit import RateLimiter


def create_app(settings: Settings | None = None, queue: TaskQueue | None = None) -> Flask:
    """Build the app; ``queue`` wraps the Celery app (api_server.py passes the real one)."""
    from socrate.web import api, errors, health

    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.config.update(
        SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024
    )
    app.extensions["socrate"] = context.build(settings)
    app.extensions["socrate.queue"] = queue
    app.extensions["socrate.ratelimit"] = RateLimiter(settings.redis_url) if settings.redis_url else None
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    errors.register(app)

    @app.teardown_appcontext
    def _close_database(_exc: BaseException | None) -> None:
        for name in ("db_session", "db_conn"):
            handle = g.pop(name, None)
            if handle is not None:
                handle.close()

    return app

"""Fixtures: settings on real services (CI) or embedded ones, app/client, tenants, a real worker."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import text

from socrate.db.embedded import FAST_OPTIONS, EmbeddedPostgres
from tests.bot_support import bot_env
from tests.fake_llm import FakeLLM
from tests.fake_telegram import FakeTelegram
from tests.processes import BotProcess, Stack, Worker

# With pytest-xdist each worker (gw0, gw1, ...) takes its own Redis database: 15, 14, ...
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15")) - int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)

# Test tiers, from the fixtures a test uses (transitively); `slow` is set by hand on tests that start
# the whole product or wait out real timeouts. `scripts/test --quick` runs `unit or service`.
TIERS = {
    "browser": {"page", "browser"},
    "worker": {"worker", "webhooks_worker", "isolated_stack", "bot"},
    "service": {"services", "postgres"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        tier = next((name for name, fixtures in TIERS.items() if used & fixtures), "unit")
        if item.get_closest_marker("slow") is None:
            item.add_marker(getattr(pytest.mark, tier))


def _redis_test_url(url: str) -> str:
    """Same server, the tests' own database number (never the product's data)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres | None]:
    """The suite's own embedded PostgreSQL (None when DATABASE_URL names an external one)."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="socrate-test-pg-"))
    server = EmbeddedPostgres(folder / "cluster", options=FAST_OPTIONS).start()
    yield server
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def services(
    tmp_path_factory: pytest.TempPathFactory, postgres: EmbeddedPostgres | None
) -> Iterator[dict[str, str]]:
    """Environment for the app and the worker: DATABASE_URL/REDIS_URL if set, else embedded servers."""
    from socrate.ops.embedded_redis import EmbeddedRedis

    base = tmp_path_factory.mktemp("socrate")
    embedded = None
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        redis_url = _redis_test_url(redis_url)
    else:
        embedded = EmbeddedRedis(base / "redis").start()
        redis_url = embedded.url
    env = {
        "SOCRATE_DATA_DIR": str(base / "data"),
        "STORAGE_DIR": str(base / "storage"),
        "DATABASE_URL": postgres.url if postgres else os.environ["DATABASE_URL"],
        "REDIS_URL": redis_url,
        "HF_HUB_OFFLINE": "1",
        # Tests poll far faster than any client; test_rate_limits builds apps with real limits.
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "UPLOAD_LIMIT_PER_MINUTE": "1000000",
        "SIGNUPS_PER_HOUR_PER_ADDRESS": "1000000",  # every test signs up and logs in from 127.0.0.1
        "LOGIN_FAILURES_PER_15_MINUTES": "1000000",
        "ALLOW_LOOPBACK_URLS": "true",  # links to the tests' own servers on 127.0.0.1 (nothing else)
        "URL_FETCH_TIMEOUT_SECONDS": "4",  # tests/test_links.py's slow server is cut off this soon
        # Webhook retries in seconds rather than minutes: Beat sweeps about every second, the first retry
        # waits a second, an attempt gives up after 3 s (its lease then ends 5 s later).
        "WEBHOOK_SWEEP_SECONDS": "0.5",
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
    }
    os.environ.update(env)  # celery_config and the worker subprocess read these
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield env
    client.flushdb()
    client.close()
    if embedded:
        embedded.stop()


@pytest.fixture(scope="session")
def settings(services: dict[str, str]):
    from socrate.config import Settings
    from socrate.db import Base, make_engine, migrate

    settings = Settings.from_env(services)
    engine = make_engine(settings.database_url)
    _drop_everything(engine, Base)
    engine.dispose()
    migrate.upgrade(settings.database_url)
    yield settings
    engine = make_engine(settings.database_url)
    _drop_everything(engine, Base)
    engine.dispose()


def _drop_everything(engine, base) -> None:
    from socrate.db import models  # noqa: F401

    base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def celery_app(settings):
    from celery_config import make_celery

    return make_celery(settings)


@pytest.fixture(scope="session")
def app(settings, celery_app):
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    return create_app(settings, queue=TaskQueue(celery_app))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    return app.extensions["socrate"]


@dataclass
class TenantHandle:
    id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_tenant(ctx, settings):
    from socrate.accounts import tenants

    def factory(name: str = "acme") -> TenantHandle:
        with ctx.sessions() as session:
            tenant, key = tenants.create(session, name, settings)
        return TenantHandle(tenant.id, key)

    return factory


@pytest.fixture
def tenant(make_tenant) -> TenantHandle:
    return make_tenant("tenant-a")


@pytest.fixture
def other_tenant(make_tenant) -> TenantHandle:
    return make_tenant("tenant-b")


def upload(
    client, tenant: TenantHandle, content: bytes, filename: str, *, allow_duplicate: bool = False, **form: str
):
    """POST a file the way API clients do (multipart field ``file``); ``allow_duplicate`` sends
    ``?allow_duplicate=true`` (a new document even if the tenant has this content)."""
    data = {"file": (io.BytesIO(content), filename), **form}
    query = {"allow_duplicate": "true"} if allow_duplicate else {}
    return client.post(
        "/api/documents/upload",
        query_string=query,
        data=data,
        headers=tenant.headers,
        content_type="multipart/form-data",
    )


def wait_done(client, tenant: TenantHandle, doc_id: str, timeout: float = 240) -> tuple[dict, list[dict]]:
    """Poll the status endpoint until ready/failed; returns the last body and every body seen."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers).get_json()
        seen.append(body)
        if body["status"] in ("ready", "failed"):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"document {doc_id} did not finish in {timeout}s; last status {body}")


def search_rows(ctx, document_id: str) -> tuple[int, int]:
    """How many chunk and window rows the database holds for a document."""
    from sqlalchemy import func, select

    from socrate.db.models import Chunk, Window

    with ctx.read_engine.connect() as conn:
        chunks = conn.execute(select(func.count()).where(Chunk.document_id == document_id)).scalar_one()
        windows = conn.execute(select(func.count()).where(Window.document_id == document_id)).scalar_one()
    return chunks, windows


@pytest.fixture(scope="session")
def worker(services, settings, celery_app, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker process (prefork, one child) consuming the test broker."""
    proc = Worker(services, tmp_path_factory.mktemp("worker") / "worker.log").start(celery_app)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def webhooks_worker(services, celery_app, tmp_path_factory) -> Iterator[Worker]:
    """The webhooks worker (threads, queue ``webhooks``), as the Procfile runs it."""
    log = tmp_path_factory.mktemp("webhooks") / "webhooks.log"
    proc = Worker(services, log, concurrency=8, webhooks=True).start(celery_app)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def make_tenant_module(app, settings):
    """Tenants for module-scoped fixtures (same as make_tenant)."""
    from socrate.accounts import tenants

    def factory(name: str) -> TenantHandle:
        with app.extensions["socrate"].sessions() as session:
            tenant, key = tenants.create(session, name, settings)
        return TenantHandle(tenant.id, key)

    return factory


@pytest.fixture
def isolated_stack(services, settings, tmp_path) -> Iterator[Stack]:
    """A private Redis with its own app and Celery client: workers started on it can be killed freely."""
    from celery_config import make_celery
    from socrate.ops.embedded_redis import EmbeddedRedis
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    redis_server = EmbeddedRedis(tmp_path / "redis").start()
    own = settings.with_(redis_url=redis_server.url)
    celery = make_celery(own)
    app = create_app(own, queue=TaskQueue(celery))
    stack = Stack(redis_server, app, celery, {**services, "REDIS_URL": redis_server.url}, tmp_path)
    yield stack
    stack.close()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    """A fake OpenAI-compatible server on 127.0.0.1 (tests/fake_llm.py); each test sets what it does
    with ``reset(...)``, which also forgets earlier requests."""
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API on 127.0.0.1 for one test (tests/fake_telegram.py)."""
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API shared by one module's bot tests (each test uses its own chat ids)."""
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(services, fake, worker, tmp_path_factory) -> Iterator[BotProcess]:
    """``python -m bot`` against ``fake``, with the real worker behind it."""
    process = BotProcess(bot_env(services, fake), tmp_path_factory.mktemp("bot") / "bot.log").start(fake)
    yield process
    assert process.stop() == 0, process.log()

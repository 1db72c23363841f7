"""Per-key and per-tenant upload limits answer 429 with Retry-After; a Redis outage fails open."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.conftest import upload


@pytest.fixture
def limited_app(settings, celery_app):
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    return create_app(
        settings.with_(rate_limit_per_minute=3, upload_limit_per_minute=1), queue=TaskQueue(celery_app)
    )


def test_a_key_over_its_limit_gets_429_with_retry_after(limited_app, make_tenant) -> None:
    client, noisy, quiet = limited_app.test_client(), make_tenant("noisy"), make_tenant("quiet")
    codes = [client.get("/api/documents", headers=noisy.headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/documents", headers=noisy.headers)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "Too many requests" in limited.get_json()["error"]
    assert client.get("/api/documents", headers=quiet.headers).status_code == 200


def test_uploads_are_limited_per_tenant(limited_app, make_tenant) -> None:
    client, tenant = limited_app.test_client(), make_tenant("uploader")
    assert upload(client, tenant, docgen.txt(), "one.txt").status_code == 202
    second = upload(client, tenant, docgen.txt(), "two.txt")
    assert second.status_code == 429 and second.headers["Retry-After"]


def test_limits_fail_open_when_redis_is_down(settings, celery_app, make_tenant) -> None:
    from socrate.ops.embedded_redis import free_port
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    dead = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_minute=1)
    client, tenant = create_app(dead, queue=TaskQueue(celery_app)).test_client(), make_tenant("no-redis")
    assert [client.get("/api/documents", headers=tenant.headers).status_code for _ in range(3)] == [200] * 3


def test_shared_limit_holds_across_processes_within_the_batch_slack(services) -> None:
    """Two limiters (as two gunicorn workers) share one Redis count; overshoot is at most a batch each."""
    import uuid

    from socrate.errors import RateLimited
    from socrate.ratelimit import Limit, RateLimiter

    limit, identity = Limit(requests=500, per_seconds=3600), uuid.uuid4().hex
    workers = [RateLimiter(services["REDIS_URL"]), RateLimiter(services["REDIS_URL"])]
    allowed = 0
    for i in range(2000):
        try:
            workers[i % 2].hit("test", identity, limit)
            allowed += 1
        except RateLimited:
            pass
    assert limit.requests <= allowed <= limit.requests + 2 * limit.batch


def _attempt(app, path: str, email: str, password: str, address: str, **headers: str):
    from tests.web_session import csrf_from

    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(browser.get(path, headers=headers).get_data(as_text=True))
    form = {"csrf_token": token, "email": email, "password": password}
    return browser.post(path, data=form, headers=headers)


def test_log_in_failures_are_throttled_per_account_and_per_address(settings, celery_app) -> None:
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app
    from tests.web_session import PASSWORD, sign_up, unique_email

    app = create_app(settings.with_(login_failures_per_15_minutes=10), queue=TaskQueue(celery_app))
    owner = sign_up(app, "guessed")
    codes = [
        _attempt(app, "/login", owner.email, f"guess number {i}", "10.0.0.1").status_code for i in range(10)
    ]
    assert codes == [401] * 10
    # The account is closed to everyone until the window ends, its owner included, from anywhere.
    locked = _attempt(app, "/login", owner.email, PASSWORD, "10.0.0.2")
    assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    assert "Too many attempts" in locked.get_data(as_text=True)
    # The address that guessed is closed for other accounts too; other addresses and accounts are not.
    other = sign_up(app, "bystander")
    assert _attempt(app, "/login", other.email, PASSWORD, "10.0.0.1").status_code == 429
    assert _attempt(app, "/login", other.email, PASSWORD, "10.0.0.3").status_code == 302
    sprayed = [
        _attempt(app, "/login", unique_email("spray"), PASSWORD, "10.0.0.4").status_code for _ in range(11)
    ]
    assert sprayed == [401] * 10 + [429]


def test_sign_ups_are_throttled_per_address_behind_the_configured_proxy(settings, celery_app) -> None:
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app
    from tests.web_session import PASSWORD, unique_email

    limited = settings.with_(trusted_proxy_hops=1, signups_per_hour_per_address=10)
    app = create_app(limited, queue=TaskQueue(celery_app))
    proxied = {"X-Forwarded-For": "203.0.113.7"}  # the proxy's own address is the same for everyone
    codes = [_attempt(app, "/signup", unique_email("bulk"), PASSWORD, "10.9.9.9", **proxied).status_code
             for _ in range(11)]  # fmt: skip
    assert codes == [302] * 10 + [429]
    elsewhere = {"X-Forwarded-For": "198.51.100.1"}
    assert (
        _attempt(app, "/signup", unique_email("real"), PASSWORD, "10.9.9.9", **elsewhere).status_code == 302
    )

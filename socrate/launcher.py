"""``python -m socrate serve``: the whole product as separate processes on embedded defaults."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from socrate import context, migrate, tenants
from socrate.config import Settings
from socrate.db import session_scope
from socrate.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 20


def gunicorn_options(env: dict[str, str]) -> list[str]:
    """Web server settings shared by the run command, the Procfile and bench.status."""
    return ["--workers", env.get("WEB_CONCURRENCY", "2"), "--timeout", "120"]


def process_commands(env: dict[str, str], data_dir: Path) -> dict[str, list[str]]:
    """Same process types as the Procfiles, run with this interpreter."""
    py = sys.executable
    bind = f"{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '5000')}"
    commands = {
        "web": [py, "-m", "gunicorn", "api_server:app", "--bind", bind, *gunicorn_options(env)],
        "worker": [py, "-m", "celery", "-A", "celery_config", "worker", "-Q", "documents,maintenance",
                   "--concurrency", env.get("WORKER_CONCURRENCY", "1"), "--loglevel", "info", "-E"],
        "beat": [py, "-m", "celery", "-A", "celery_config", "beat", "--loglevel", "info",
                 "--schedule", str(data_dir / "celerybeat-schedule")],
    }  # fmt: skip
    if env.get("TELEGRAM_BOT_TOKEN"):
        commands["bot"] = [py, "-m", "bot"]
    return commands


def _ensure_demo_tenant(settings: Settings) -> None:
    ctx = context.build(settings)
    with session_scope(ctx.sessions) as session:
        if tenants.count(session) == 0:
            _, key = tenants.create(session, "demo", settings)
            key_file = settings.data_dir / "demo-api-key.txt"
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
            print(f"Created demo tenant. API key (also saved to {key_file}):\n  {key}", flush=True)
    ctx.dispose()


def secret_key_for(data_dir: Path) -> str:
    """A random SECRET_KEY made once per data dir: unconfigured runs never sign sessions with a known key."""
    path = data_dir / "secret-key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def serve(settings: Settings) -> int:
    """Start everything, print the URL, stop every child on Ctrl-C or when one dies.

    ``settings.database_url`` is set: the CLI started the embedded PostgreSQL when DATABASE_URL was not.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOCRATE_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1",
           "DATABASE_URL": settings.database_url}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if settings.secret_key == Settings.secret_key:
        env["SECRET_KEY"] = secret_key_for(settings.data_dir)
    redis_server = None
    if not settings.redis_url:
        redis_server = EmbeddedRedis(settings.data_dir / "redis").start()
        env["REDIS_URL"] = redis_server.url
        print(f"Started embedded Redis at {redis_server.url}", flush=True)
    migrate.upgrade(settings.database_url)
    _ensure_demo_tenant(settings)

    stopping = False

    def _on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    children = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        for name, cmd in process_commands(env, settings.data_dir).items()
    }
    print(f"Socrate is running at http://{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '5000')} "
          f"({', '.join(children)}): open it in a browser to sign up; press Ctrl-C to stop",
          flush=True)  # fmt: skip
    exit_code = 0
    try:
        while not stopping:
            dead = [name for name, proc in children.items() if proc.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} exited; stopping everything", flush=True)
                exit_code = 1
                break
            time.sleep(0.5)
    finally:
        _stop(children)
        if redis_server:
            redis_server.stop()
    return exit_code

"""``python -m socrate serve``: the whole product as separate processes on embedded defaults."""

from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from socrate import context
from socrate.accounts import tenants
from socrate.config import Settings, keep_files_private
from socrate.db import embedded, migrate, session_scope
from socrate.ops.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]  # the repository: socrate/ops/launcher.py
STOP_GRACE_SECONDS = 20
WORKER_STOP_GRACE_SECONDS = 30  # to finish its run; past it, the run is taken back at the next start
STOP_ORDER = ("bot", "web", "beat", "webhooks", "worker")
RESTART_DELAYS = (1, 2, 5, 10, 30)  # seconds before restarting a child that died, by failures in a row
STABLE_SECONDS = 60  # a child up this long starts again from the shortest delay


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
                   "--concurrency", env.get("WORKER_CONCURRENCY", "2"), "--loglevel", "info", "-E"],
        "webhooks": [py, "-m", "celery", "-A", "celery_config", "worker", "-n", "webhooks@%h",
                     "-Q", "webhooks", "-P", "threads", "--concurrency", env.get("WEBHOOK_CONCURRENCY", "8"),
                     "--loglevel", "info", "-E"],
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


@dataclass
class _Child:
    """One process type, restarted with growing delays whenever it dies until the launcher stops."""

    name: str
    command: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=env, start_new_session=True)
        self.started, self.restart_at = time.monotonic(), None

    def supervise(self, env: dict[str, str], now: float) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            if now - self.started > STABLE_SECONDS:
                self.failures = 0
        elif self.restart_at is None:
            delay = RESTART_DELAYS[min(self.failures, len(RESTART_DELAYS) - 1)]
            self.failures += 1
            self.restart_at = now + delay
            print(f"{self.name} exited (code {self.proc.returncode}); restarting it in {delay} s", flush=True)
        elif now >= self.restart_at:
            print(f"restarting {self.name}", flush=True)
            self.start(env)

    def stop(self, grace: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        print(f"stopping {self.name}", flush=True)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop within {grace:.0f} s; killing it", flush=True)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _make_private(data_dir: Path) -> None:
    """The data folder and everything directly in it for this user only. Traverse (x) bits stay: the
    embedded PostgreSQL, run as its own system user when we are root, is given them to reach its
    cluster (which PostgreSQL itself keeps 0700)."""
    keep_files_private()
    traverse = stat.S_IMODE(data_dir.stat().st_mode) & (stat.S_IXGRP | stat.S_IXOTH)
    data_dir.chmod(0o700 | traverse)
    for child in data_dir.iterdir():
        mine = child.lstat().st_uid == os.geteuid()  # not lost+found on a mounted volume, say
        if child.name != embedded.CLUSTER_DIR and not child.is_symlink() and mine:
            child.chmod(0o700 if child.is_dir() else 0o600)


def serve(settings: Settings) -> int:
    """Start everything, print the URL, restart a child that dies (after 1, 2, 5, 10, then 30 s), and on
    Ctrl-C or SIGTERM stop them in order: bot, web, beat, the webhooks worker, the worker, then the
    embedded Redis (the CLI stops the embedded PostgreSQL after this returns).

    ``settings.database_url`` is set: the CLI started the embedded PostgreSQL when DATABASE_URL was not.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _make_private(settings.data_dir)
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
    children = {name: _Child(name, cmd) for name, cmd in process_commands(env, settings.data_dir).items()}
    for child in children.values():
        child.start(env)
    print(f"Socrate is running at http://{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '5000')} "
          f"({', '.join(children)}): open it in a browser to sign up; press Ctrl-C to stop",
          flush=True)  # fmt: skip
    try:
        while not stopping:
            for child in children.values():
                child.supervise(env, time.monotonic())
            time.sleep(0.5)
    finally:
        for name in STOP_ORDER:  # the doors first, the worker last (it finishes or hands back its run)
            if name in children:
                children[name].stop(WORKER_STOP_GRACE_SECONDS if name == "worker" else STOP_GRACE_SECONDS)
        if redis_server:
            redis_server.stop()
    return 0

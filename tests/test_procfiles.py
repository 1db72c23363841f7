"""Every process type of Procfile and Procfile.worker, started exactly as written, becomes healthy and
stops cleanly on SIGTERM (what Railway sends on redeploy).

Each line runs through ``bash -c`` (as Railway and Heroku run it) with ``$PORT`` and small
concurrency in its environment, in a scratch working directory (``PYTHONPATH`` finds the code),
against the suite's PostgreSQL and Redis. A process type without an entry in ``HEALTH_CHECKS``
fails: a new Procfile line needs a way to tell that it works.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from socrate.db import Base, migrate
from socrate.ops.embedded_redis import free_port
from tests.databases import empty_database
from tests.deploy import ROOT, process_types
from tests.fake_telegram import FakeTelegram

PROCESSES = process_types()
START_TIMEOUT = 180  # a worker child loads the embedding model before it answers
STOP_TIMEOUT = 60  # gunicorn's graceful timeout is 30 s; an idle worker or beat stops in a few
# What a graceful SIGTERM exit looks like per process type (all of ours exit 0).
GRACEFUL_EXIT_CODES: dict[str, set[int]] = {}


@dataclass
class Running:
    """One Procfile process, started by ``Harness.launch``."""

    kind: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    descendants: list[psutil.Process] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def alive_or_fail(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"{self.kind} exited with {self.proc.returncode} while starting:\n{self.log()}")

    def pids(self) -> set[int]:
        try:
            return {self.proc.pid, *(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()


@dataclass
class Harness:
    """Starts a Procfile line the way the platform does, with the test services in its environment."""

    services: dict[str, str]
    celery_app: object
    tmp: Path
    started: list[Running] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def launch(self, kind: str, **env: str) -> Running:
        # The one liberty taken with the line: tests never listen beyond loopback.
        command = PROCESSES[kind].replace("0.0.0.0:", "127.0.0.1:")
        full_env = {
            **os.environ,
            **self.services,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": "1",
            **env,
        }
        workdir = self.tmp / f"{kind}-cwd"  # beat writes celerybeat-schedule here, not into the repo
        workdir.mkdir(exist_ok=True)
        log_path = self.tmp / f"{kind}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(["bash", "-c", command], cwd=workdir, env=full_env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.started.append(Running(kind, proc, log_path, full_env))
        return self.started[-1]

    def wait_for(
        self, run: Running, what: str, ready: Callable[[], bool], timeout: float = START_TIMEOUT
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run.alive_or_fail()
            if ready():
                run.descendants = [psutil.Process(pid) for pid in run.pids() - {run.proc.pid}]
                return
            time.sleep(0.3)
        pytest.fail(f"{run.kind}: {what} not seen within {START_TIMEOUT} s:\n{run.log()}")


def check_release(h: Harness) -> Running:
    """Exits 0 and leaves an empty database at the latest migration with every table."""
    with empty_database(h.services["DATABASE_URL"], "release") as url:
        run = h.launch("release", DATABASE_URL=url)
        try:
            run.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"release did not finish within {START_TIMEOUT} s:\n{run.log()}")
        assert run.proc.returncode == 0, run.log()
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert version == head
    assert set(Base.metadata.tables) <= tables
    return run


def check_web(h: Harness) -> Running:
    """Answers /healthz on $PORT; /readyz reports the database and Redis reachable."""
    port = free_port()
    run = h.launch("web", PORT=str(port))
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    h.wait_for(run, f"GET {base}/healthz -> 200", answers)
    components = httpx.get(f"{base}/readyz", timeout=10).json()["components"]
    assert components["database"]["ok"] and components["redis"]["ok"], components
    return run


def check_worker(h: Harness) -> Running:
    """Answers a Celery ping under its default node name, from this very process, on both queues."""
    run = h.launch("worker")
    name = f"celery@{socket.gethostname()}"
    control = h.celery_app.control  # type: ignore[attr-defined]
    h.wait_for(run, f"a ping reply from {name}", lambda: bool(control.ping(destination=[name], timeout=1.0)))
    inspector = control.inspect(destination=[name], timeout=5.0)
    assert inspector.stats()[name]["pid"] in run.pids()
    assert {q["name"] for q in inspector.active_queues()[name]} == {"documents", "maintenance"}
    return run


def check_webhooks(h: Harness) -> Running:
    """Answers a ping on the webhooks queue alone, from a thread pool, without the embedding model."""
    run = h.launch("webhooks")
    name = f"webhooks@{socket.gethostname()}"  # not the worker's celery@<host>: both may share a host
    control = h.celery_app.control  # type: ignore[attr-defined]
    h.wait_for(run, f"a ping reply from {name}", lambda: bool(control.ping(destination=[name], timeout=1.0)))
    inspector = control.inspect(destination=[name], timeout=5.0)
    stats = inspector.stats()[name]
    assert stats["pid"] in run.pids() and "thread" in stats["pool"]["implementation"], stats
    assert {q["name"] for q in inspector.active_queues()[name]} == {"webhooks"}
    assert (
        psutil.Process(stats["pid"]).memory_info().rss < 200 * 1024 * 1024
    )  # no model, no torch (about 100 MB)
    return run


def check_beat(h: Harness) -> Running:
    """Starts and sends every entry of celery_config's schedule (intervals shortened to 1 s)."""
    schedule = h.celery_app.conf.beat_schedule  # type: ignore[attr-defined]
    run = h.launch("beat", CLEANUP_INTERVAL_SECONDS="1", RECOVER_INTERVAL_SECONDS="1")
    expected = ["beat: Starting..."] + [f"Sending due task {entry}" for entry in schedule]
    h.wait_for(run, " and ".join(map(repr, expected)), lambda: all(line in run.log() for line in expected))
    return run


def check_bot(h: Harness) -> Running:
    """Starts against a fake Bot API, registers its commands and answers a user's /start."""
    fake = FakeTelegram().start()
    h.cleanups.append(fake.stop)
    run = h.launch("bot", **fake.env)
    h.wait_for(run, "setMyCommands", lambda: bool(fake.called("setMyCommands")))
    fake.send_text(8001, "/start")
    h.wait_for(run, "a reply to /start", lambda: any("Welcome" in m.text for m in fake.chat(8001)))
    return run


# Process type -> how to tell it works.
HEALTH_CHECKS: dict[str, Callable[[Harness], Running]] = {
    "release": check_release,
    "web": check_web,
    "worker": check_worker,
    "webhooks": check_webhooks,
    "beat": check_beat,
    "bot": check_bot,
}


@pytest.fixture
def harness(services, settings, celery_app, tmp_path) -> Iterator[Harness]:
    harness = Harness(services, celery_app, tmp_path)
    yield harness
    for run in harness.started:  # a failed check leaves its process running
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=30)
    for cleanup in harness.cleanups:
        cleanup()
    # Beat's 1-second schedule leaves cleanup/recover messages behind: nobody else should run them.
    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues:
            queue.bind(conn.default_channel).purge()


def _stop_cleanly(run: Running) -> None:
    if run.proc.poll() is None:
        run.proc.send_signal(signal.SIGTERM)  # to the process the platform started, like `docker stop`
        try:
            run.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=30)
            pytest.fail(f"{run.kind} ignored SIGTERM for {STOP_TIMEOUT} s:\n{run.log()}")
    assert run.proc.returncode in GRACEFUL_EXIT_CODES.get(run.kind, {0}), (
        f"{run.kind} exited with {run.proc.returncode} after SIGTERM:\n{run.log()}"
    )
    _, orphans = psutil.wait_procs(run.descendants, timeout=10)
    assert not orphans, f"{run.kind} left children running: {[p.pid for p in orphans]}"


@pytest.mark.parametrize("kind", list(PROCESSES))
def test_process_type_becomes_healthy_and_stops_cleanly(kind: str, harness: Harness) -> None:
    check = HEALTH_CHECKS.get(kind)
    if check is None:
        pytest.fail(
            f"Procfile process type {kind!r} has no health check: add one to HEALTH_CHECKS in "
            f"tests/test_procfiles.py (how do we know `{PROCESSES[kind]}` works?)"
        )
    _stop_cleanly(check(harness))

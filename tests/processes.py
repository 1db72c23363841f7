"""Real Celery worker processes for tests: start, wait until they answer, kill -9, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
from celery import Celery
from flask import Flask

from socrate.ops import maintenance
from socrate.ops.embedded_redis import EmbeddedRedis
from socrate.taskqueue import TaskQueue
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180


class Child:
    """A ``celery`` command in its own process group, logging to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path = ROOT) -> None:
        self.env, self.log_path, self.cwd = env, log_path, cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_config", *args],
                                         cwd=self.cwd, env={**os.environ, **self.env}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        return self.proc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """kill -9 the whole process group (a worker's pool children too), like a lost container."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Beat(Child):
    """``celery beat`` on the product's schedule (socrate.config defaults unless ``env`` says else)."""

    def start(self) -> Beat:
        self._spawn("beat", "--loglevel", "info", "--schedule", str(self.log_path.with_suffix(".schedule")))
        return self


class Worker(Child):
    """``celery worker`` (prefork, one child) on the documents and maintenance queues, or with
    ``webhooks`` the webhooks worker (threads, as the Procfile runs it); ``start`` again after ``kill``
    is the same node restarting."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        concurrency: int = 1,
        cwd: Path = ROOT,
        webhooks: bool = False,
    ) -> None:
        super().__init__(env, log_path, cwd)
        self.concurrency = concurrency
        self.queues = ("-Q", "webhooks", "-P", "threads") if webhooks else ("-Q", "documents,maintenance")
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"

    def start(self, celery_app) -> Worker:
        self._spawn("worker", *self.queues, "-c", str(self.concurrency), "-n", self.name,
                    "--loglevel", "info", "-E")  # fmt: skip
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if celery_app.control.ping(destination=[self.name], timeout=1.0):
                return self
        self.kill()
        raise RuntimeError(f"worker did not answer pings:\n{self.log()}")

    def children(self) -> list[psutil.Process]:
        assert self.proc is not None
        return psutil.Process(self.proc.pid).children(recursive=True)


@dataclass
class Stack:
    """An app, Celery client and workers on a private Redis, sharing the suite's database."""

    redis: EmbeddedRedis
    app: Flask
    celery: Celery
    env: dict[str, str]
    tmp: Path
    children: list[Child] = field(default_factory=list)

    def worker(self, concurrency: int = 1, webhooks: bool = False, **env: str) -> Worker:
        log = self.tmp / ("webhooks.log" if webhooks else "worker.log")
        worker = Worker({**self.env, **env}, log, concurrency, webhooks=webhooks)
        self.children.append(worker)
        return worker.start(self.celery)

    def beat(self, **env: str) -> Beat:
        beat = Beat({**self.env, **env}, self.tmp / "beat.log")
        self.children.append(beat)
        return beat.start()

    def close(self) -> None:
        """Stop what a test left running (it may have failed half-way), then the Redis running now."""
        for child in self.children:
            child.kill()
        self.redis.stop()

    def recover(self) -> dict[str, int]:
        """What Beat's recovery job does, with 1-second leases and quiet periods instead of a minute."""
        ctx = self.app.extensions["socrate"]
        quick = replace(ctx, settings=ctx.settings.with_(stuck_after_seconds=1, lease_seconds=1))
        time.sleep(1.5)
        return maintenance.recover_stuck(quick, TaskQueue(self.celery))


class BotProcess:
    """``python -m bot`` against a fake Bot API, in its own process group, logging to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, fake: FakeTelegram, ready_method: str = "setMyCommands") -> BotProcess:
        """Start and wait for the bot's first call of ``ready_method`` (its start-up is then done)."""
        seen = len(fake.called(ready_method))
        with open(self.log_path, "ab") as log:
            env = {**os.environ, **self.env}
            self.proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        proc = self.proc

        def started() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"bot exited early:\n{self.log()}")
            return len(fake.called(ready_method)) > seen

        fake.wait(started, timeout=START_TIMEOUT, what="the bot to start")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM, as a platform stops a service; the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

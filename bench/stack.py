"""Start the real product (``python -m socrate serve``) in a throwaway data dir and drive it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from socrate import context
from socrate.config import Settings
from socrate.context import Context
from socrate.db import embedded
from socrate.ops.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    base_url: str
    key: str
    env: dict[str, str]
    http: httpx.Client
    process: subprocess.Popen
    data_dir: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def upload(self, content: bytes, filename: str) -> tuple[str, float]:
        """Upload (always a new document, even of content sent before); returns the document id and the
        wall-clock time the 202 arrived."""
        r = self.http.post("/api/documents/upload", params={"allow_duplicate": "true"},
                           files={"file": (filename, content)}, headers=self.headers)  # fmt: skip
        answered = time.time()
        r.raise_for_status()
        return r.json()["document_id"], answered

    def wait(self, doc_id: str, poll: float = 0.02, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            body = self.http.get(f"/api/documents/{doc_id}/status", headers=self.headers).json()
            if body["status"] in ("ready", "failed"):
                if body["status"] == "failed":
                    raise RuntimeError(f"document failed: {body}")
                return body
            time.sleep(poll)
        log = (self.data_dir / "serve.log").read_text(errors="replace")[-4000:]
        raise TimeoutError(f"{doc_id} not done in {timeout} s; last status {body}; serve.log ends:\n{log}")

    def details(self, doc_id: str) -> dict:
        return self.http.get(f"/api/documents/{doc_id}", headers=self.headers).json()

    @contextmanager
    def context(self) -> Iterator[Context]:
        """A Context on the stack's database and storage, for in-process comparisons (embedded: attached
        to the server the stack started, which keeps running)."""
        with embedded.database(Settings.from_env(self.env)) as settings:
            ctx = context.build(settings)
            try:
                yield ctx
            finally:
                ctx.dispose()


@contextmanager
def running_stack(overrides: dict[str, str | None] | None = None) -> Iterator[Stack]:
    """The whole product as ``scripts/run`` starts it: its own embedded Redis always (a shared Redis
    database would let another stack's worker take its tasks), embedded PostgreSQL unless DATABASE_URL
    is set.

    ``overrides`` sets environment variables for it; a value of None removes the variable.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="socrate-stack-"))
    port = free_port()
    # Limits stay on (their Redis round trip is part of every request) but out of reach.
    env = {**os.environ, "SOCRATE_DATA_DIR": str(data_dir), "PORT": str(port)}
    env.pop("REDIS_URL", None)
    env.update(RATE_LIMIT_PER_MINUTE="100000000", UPLOAD_LIMIT_PER_MINUTE="100000000")
    env.pop("STORAGE_DIR", None)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [sys.executable, "-m", "socrate", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        http = httpx.Client(base_url=base, timeout=60)
        _wait_ready(http, proc, data_dir)
        out = subprocess.run(
            [sys.executable, "-m", "socrate", "tenant", "create", f"bench-{int(time.time())}"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = json.loads(out.stdout)["api_key"]
        yield Stack(base_url=base, key=key, env=env, http=http, process=proc, data_dir=data_dir)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_ready(http: httpx.Client, proc: subprocess.Popen, data_dir: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((data_dir / "serve.log").read_text()[-3000:])
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"stack not ready; see {data_dir / 'serve.log'}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
        f"p99 {percentile(values, 99):.1f} ms, mean {statistics.fmean(values):.1f} ms (n={len(values)})"
    )

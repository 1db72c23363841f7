"""``python -m socrate selftest``: check a running deployment end to end, one step at a time.

Each step prints ✓ or ✗; the first failure stops the run with exit code 1. Whatever the run
created (the sample document, a temporary tenant) is removed on the way out, pass or fail.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from socrate import context
from socrate.accounts import tenants
from socrate.config import Settings
from socrate.context import Context
from socrate.db import session_scope
from socrate.documents.lifecycle import Status
from socrate.ops import health

DEFAULT_URL = "http://127.0.0.1:5000"
SAMPLE_NAME = "socrate-selftest.txt"
SAMPLE = "\n\n".join(
    f"Socrate selftest paragraph {n}. The owl of Minerva spreads its wings only with the falling of the "
    "dusk; this sample checks that upload, extraction, encoding and storage work together."
    for n in range(1, 9)
).encode()


class StepFailed(Exception):
    """A step's readable reason for failing."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser(
        "selftest",
        help="end-to-end check of a running deployment",
        description="Check a running deployment step by step: database reachable, Redis reachable, a worker "
        "answers a ping, the web API answers, a sample document uploaded through the API reaches `ready` "
        "(with a progress bar), its outputs are in storage, and it is deleted again. Prints ✓/✗ per step "
        "and exits 1 at the first failure. Without --api-key a temporary tenant is created (through the "
        "database) and erased afterwards.",
    )
    cmd.add_argument("--url", default=DEFAULT_URL, help=f"the web service's base URL (default {DEFAULT_URL})")
    cmd.add_argument("--api-key", help="use this tenant's key instead of a temporary tenant")
    cmd.add_argument(
        "--timeout", type=float, default=300, help="seconds for the sample to be ready (default 300)"
    )
    cmd.add_argument(
        "--worker-timeout", type=float, default=5, help="seconds to wait for a worker ping (default 5)"
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return Selftest(settings, args.url, args.api_key, args.timeout, args.worker_timeout).run()


class Selftest:
    def __init__(
        self, settings: Settings, url: str, api_key: str | None, timeout: float, worker_timeout: float
    ) -> None:
        self.settings, self.url, self.api_key = settings, url.rstrip("/"), api_key
        self.timeout, self.worker_timeout = timeout, worker_timeout
        self.progress_console = Console(stderr=True)
        self.ctx: Context | None = None
        self.temp_tenant: str | None = None
        self.document_id: str | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("database reachable", self.database),
            ("Redis reachable", self.redis),
            ("a worker answers", self.worker),
            ("web API answers", self.web),
            ("API key", self.key),
            ("sample uploaded", self.upload),
            ("sample processed to ready", self.wait_ready),
            ("outputs present in storage", self.outputs),
            ("sample deleted", self.delete),
        ]

    def run(self) -> int:
        try:
            for name, step in self.steps():
                try:
                    detail = step()
                except StepFailed as exc:
                    print(f"✗ {name}: {exc}", flush=True)
                    return 1
                except Exception as exc:
                    print(f"✗ {name}: {type(exc).__name__}: {exc}", flush=True)
                    return 1
                print(f"✓ {name}: {detail}", flush=True)
            print("selftest passed", flush=True)
            return 0
        finally:
            self.clean_up()

    def _context(self) -> Context:
        if self.ctx is None:
            self.ctx = context.build(self.settings)
        return self.ctx

    def database(self) -> str:
        result = health.check_database(self._context().engine)
        if not result["ok"]:
            raise StepFailed(f"{result['error']} (DATABASE_URL)")
        return self._context().engine.url.render_as_string(hide_password=True)

    def redis(self) -> str:
        if not self.settings.redis_url:
            raise StepFailed("REDIS_URL is not set")
        result = health.check_redis(self.settings.redis_url)
        if not result["ok"]:
            raise StepFailed(f"{result['error']} (REDIS_URL)")
        return "ping answered"

    def worker(self) -> str:
        from socrate.taskqueue import DOCUMENTS_QUEUE, TaskQueue

        counts = TaskQueue.for_settings(self.settings).workers_by_queue(timeout=self.worker_timeout)
        if counts[DOCUMENTS_QUEUE] < 1:
            raise StepFailed(f"no documents worker answered within {self.worker_timeout:g} s")
        return f"{counts[DOCUMENTS_QUEUE]} worker(s)"

    def web(self) -> str:
        try:
            response = self.http.get("/healthz")
        except httpx.HTTPError as exc:
            raise StepFailed(f"{self.url}: {exc}") from exc
        if response.status_code != 200:
            raise StepFailed(f"{self.url}/healthz answered {response.status_code}")
        return self.url

    def key(self) -> str:
        if self.api_key is None:
            with session_scope(self._context().sessions) as session:
                tenant, self.api_key = tenants.create(
                    session, f"selftest-{uuid.uuid4().hex[:8]}", self.settings
                )
                self.temp_tenant = tenant.id
            detail = f"temporary tenant {self.temp_tenant}"
        else:
            detail = f"given key sk_{self.api_key.split('_')[1] if '_' in self.api_key else '?'}"
        self.http.headers["Authorization"] = f"Bearer {self.api_key}"
        response = self.http.get("/api/documents", params={"limit": 1})
        if response.status_code != 200:
            raise StepFailed(f"the key was refused ({response.status_code}: {_error(response)})")
        return detail

    def upload(self) -> str:
        response = self.http.post(
            "/api/documents/upload",
            params={"allow_duplicate": "true"},  # a fresh run through the pipeline every time
            files={"file": (SAMPLE_NAME, SAMPLE, "text/plain")},
        )
        if response.status_code != 202:
            raise StepFailed(f"{response.status_code}: {_error(response)}")
        self.document_id = response.json()["document_id"]
        return f"document {self.document_id}"

    def wait_ready(self) -> str:
        deadline = time.monotonic() + self.timeout
        columns = (TextColumn("  {task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.progress_console) as bar:
            task = bar.add_task("queued", total=100)
            while True:
                status = self.http.get(f"/api/documents/{self.document_id}/status").json()
                bar.update(
                    task, completed=status["progress"], description=status.get("message") or status["status"]
                )
                if status["status"] == Status.READY:
                    took = self.timeout - (deadline - time.monotonic())
                    return f"{status['total_chunks']} chunk(s) in {took:.1f} s"
                if status["status"] in (Status.FAILED, Status.CANCELLED):
                    raise StepFailed(f"{status['status']}: {status.get('message')}")
                if time.monotonic() > deadline:
                    raise StepFailed(
                        f"still {status['status']} ({status['progress']} %) after {self.timeout:g} s"
                    )
                time.sleep(0.5)

    def outputs(self) -> str:
        files: dict[str, str] = self.http.get(f"/api/documents/{self.document_id}").json()["files"]
        storage = self._context().storage
        missing = [name for name in ("original", "index", "metadata") if not files.get(name)]
        missing += [key for key in files.values() if not storage.exists(key)]
        if missing:
            raise StepFailed(f"missing: {', '.join(missing)}")
        return ", ".join(sorted(files))

    def delete(self) -> str:
        response = self.http.delete(f"/api/documents/{self.document_id}")
        if response.status_code >= 300:
            raise StepFailed(f"{response.status_code}: {_error(response)}")
        gone = self.http.get(f"/api/documents/{self.document_id}/status").status_code
        if gone != 404:
            raise StepFailed(f"the document still answers {gone} after delete")
        self.document_id = None
        return "removed, and its status answers 404"

    def clean_up(self) -> None:
        """Remove what the run created, even after a failure (best effort)."""
        try:
            if self.document_id and self.api_key:
                self.http.delete(f"/api/documents/{self.document_id}")
            if self.temp_tenant:
                with session_scope(self._context().sessions) as session:
                    tenants.delete(session, self.temp_tenant, storage=self._context().storage)
                print(f"  (temporary tenant {self.temp_tenant} removed)", flush=True)
        except Exception as exc:
            print(f"  (clean-up incomplete: {type(exc).__name__}: {exc})", flush=True)
        finally:
            self.http.close()
            if self.ctx is not None:
                self.ctx.dispose()


def _error(response: httpx.Response) -> Any:
    try:
        return response.json().get("error", response.text[:200])
    except ValueError:
        return response.text[:200]

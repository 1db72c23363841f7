"""A real gunicorn serving api_server:app on 127.0.0.1, started from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from socrate.ops.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """``gunicorn api_server:app`` from the repo root (so ./gunicorn.conf.py applies), one worker."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path, self.port = env, log_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> Gunicorn:
        cmd = [sys.executable, "-m", "gunicorn", "api_server:app", "-b", f"127.0.0.1:{self.port}", "-w", "1"]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **self.env}, stdout=out,
                                         stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log()}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

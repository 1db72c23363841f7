"""Requests/s of the status endpoint (auth + DB read) vs a bare Flask JSON endpoint.

Both run under the product's gunicorn settings (socrate.ops.launcher.gunicorn_options) and are
driven by the same load generator on 127.0.0.1, alternating A/B rounds in one run; the ratio is the
median of each round's status/bare pair (a shared machine drifts between rounds, less within a pair).
Run: ``.venv/bin/python -m bench.status``.
Target: status / bare >= 0.6.
"""

from __future__ import annotations

import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

import httpx

from bench.stack import ROOT, running_stack
from socrate.ops.embedded_redis import free_port
from socrate.ops.launcher import gunicorn_options
from tests import docgen

ROUND_SECONDS = 3.0
ROUNDS = 8
PROCESSES = 2
THREADS = 6


def _one_request(host: str, port: int, raw: bytes) -> bool:
    with socket.create_connection((host, port)) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.startswith(b"HTTP/1.1 200")


def _hammer(args: tuple[str, int, bytes, float]) -> tuple[int, int]:
    host, port, raw, seconds = args
    deadline = time.monotonic() + seconds

    def loop() -> tuple[int, int]:
        ok = bad = 0
        while time.monotonic() < deadline:
            if _one_request(host, port, raw):
                ok += 1
            else:
                bad += 1
        return ok, bad

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: loop(), range(THREADS)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def rps(port: int, path: str, headers: dict[str, str]) -> float:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with Pool(PROCESSES) as pool:
        results = pool.map(_hammer, [("127.0.0.1", port, raw, ROUND_SECONDS)] * PROCESSES)
    ok, bad = sum(r[0] for r in results), sum(r[1] for r in results)
    if bad:
        raise RuntimeError(f"{bad} non-200 answers from {path}")
    return ok / ROUND_SECONDS


def main() -> None:
    with running_stack() as stack:
        doc_id, _ = stack.upload(docgen.txt("en"), "status.txt")
        stack.wait(doc_id)
        web_port = int(stack.env["PORT"])
        bare_port = free_port()
        options = gunicorn_options(stack.env)
        bare_cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.bare_app:app",
            "--bind",
            f"127.0.0.1:{bare_port}",
        ]
        # Its access log goes to a file too, as the web's does.
        bare_log = open(stack.data_dir / "bare.log", "wb")  # noqa: SIM115 (closed in finally)
        bare = subprocess.Popen([*bare_cmd, *options], cwd=ROOT, stdout=bare_log, stderr=bare_log)
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{bare_port}/bare")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            status_path = f"/api/documents/{doc_id}/status"
            status_runs, bare_runs = [], []
            for _ in range(ROUNDS):
                status_runs.append(rps(web_port, status_path, stack.headers))
                bare_runs.append(rps(bare_port, "/bare", {}))
        finally:
            bare.send_signal(signal.SIGTERM)
            bare.wait(timeout=30)
            bare_log.close()
    s, b = statistics.median(status_runs), statistics.median(bare_runs)
    ratio = statistics.median(x / y for x, y in zip(status_runs, bare_runs, strict=True))
    print(f"gunicorn {' '.join(options)} for both; load: {PROCESSES} processes x {THREADS} threads, "
          f"{ROUNDS} alternating rounds of {ROUND_SECONDS:.0f} s")  # fmt: skip
    print(f"status endpoint (auth + DB read): median {s:.0f} req/s  {[round(x) for x in status_runs]}")
    print(f"bare Flask JSON endpoint:         median {b:.0f} req/s  {[round(x) for x in bare_runs]}")
    print(f"ratio status/bare (median of rounds): {ratio:.2f}  (target >= 0.6)")


if __name__ == "__main__":
    main()

"""Status polls while 20 clients trickle uploads at 1 KB/s, vs the same polls with nobody trickling.

The product as ``scripts/run`` starts it (gthread workers, gunicorn.conf.py). Each round polls one
document's status sequentially for a few seconds, first alone, then with the trickling uploads open;
the ratio of the p99s is measured in the same run. ``--sync`` runs the same with ``WEB_THREADS=1``
(gunicorn's sync worker, what the product used before) for comparison.
Run: ``.venv/bin/python -m bench.slow_clients``.
Target: p99 with trickling clients <= 200 ms.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.stack import percentile, running_stack
from tests import docgen

TRICKLERS = 20
BYTES_PER_SECOND = 1024
UPLOAD_BYTES = 200 * 1024  # ~200 s at 1 KB/s: longer than the measurement
POLL_SECONDS = 15.0
POLL_TIMEOUT = 30.0


@contextmanager
def trickling(port: int, key: str, count: int) -> Iterator[list[int]]:
    """``count`` uploads sending their body at BYTES_PER_SECOND until the block ends; yields the
    list of how many have their headers sent (they are all open once it reaches ``count``)."""
    stop, opened = threading.Event(), [0]
    lock = threading.Lock()

    def one(i: int) -> None:
        boundary = f"trickle{i}"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow{i}.txt\"\r\n"
                "Content-Type: text/plain\r\n\r\n").encode()  # fmt: skip
        tail = f"\r\n--{boundary}--\r\n".encode()
        request = (
            f"POST /api/documents/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + UPLOAD_BYTES + len(tail)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request + head)
            with lock:
                opened[0] += 1
            sent = 0
            while not stop.wait(1.0) and sent < UPLOAD_BYTES:
                sock.sendall(b"a" * BYTES_PER_SECOND)
                sent += BYTES_PER_SECOND

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield opened
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def poll_latencies(http: httpx.Client, path: str, headers: dict[str, str], seconds: float) -> list[float]:
    """Sequential polls, a new connection each (as many browsers and scripts do), in milliseconds."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            http.get(path, headers={**headers, "Connection": "close"}).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
        except httpx.TimeoutException:
            latencies.append(POLL_TIMEOUT * 1000)
    return latencies


def measure(threads: str | None = None) -> tuple[float, float, int]:
    """(p99 alone, p99 with tricklers, polls with tricklers) in ms, on a fresh stack."""
    with running_stack({"WEB_THREADS": threads}) as stack:
        doc_id, _ = stack.upload(docgen.txt("en"), "poll.txt")
        stack.wait(doc_id)
        path, port = f"/api/documents/{doc_id}/status", int(stack.env["PORT"])
        http = httpx.Client(base_url=stack.base_url, timeout=POLL_TIMEOUT)
        poll_latencies(http, path, stack.headers, 2.0)  # warm every worker
        alone = poll_latencies(http, path, stack.headers, POLL_SECONDS)
        with trickling(port, stack.key, TRICKLERS) as opened:
            while opened[0] < TRICKLERS:
                time.sleep(0.05)
            time.sleep(1.0)
            busy = poll_latencies(http, path, stack.headers, POLL_SECONDS)
        return percentile(alone, 99), percentile(busy, 99), len(busy)


def main() -> None:
    sync = "--sync" in sys.argv
    alone, busy, polls = measure("1" if sync else None)
    worker = "sync (WEB_THREADS=1)" if sync else "gthread (gunicorn.conf.py defaults)"
    print(f"gunicorn {worker}; {TRICKLERS} uploads trickling at {BYTES_PER_SECOND} B/s; "
          f"sequential status polls for {POLL_SECONDS:.0f} s each phase")  # fmt: skip
    print(f"status p99 alone: {alone:.1f} ms; with trickling uploads: {busy:.1f} ms over {polls} polls "
          f"(ratio {busy / alone:.2f}; target <= 200 ms)")  # fmt: skip
    print(f"slow_clients: tricklers={TRICKLERS} p99_alone_ms={alone:.1f} p99_trickling_ms={busy:.1f} "
          f"ratio={busy / alone:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

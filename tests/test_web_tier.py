"""The web tier as scripts/run starts it (gunicorn.conf.py): slow uploads do not stall status polls,
gunicorn's own refusals are JSON, and what the product writes to disk is private."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Iterator

import pytest

from bench.slow_clients import TRICKLERS, poll_latencies, trickling
from bench.stack import Stack, percentile, running_stack
from tests import docgen

pytestmark = [pytest.mark.slow, pytest.mark.timing]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def ready_doc(stack: Stack) -> str:
    doc_id, _ = stack.upload(docgen.txt("en"), "poll.txt")
    stack.wait(doc_id)
    return doc_id


def test_uploads_trickling_at_1_kb_per_second_do_not_stall_status_polls(stack: Stack, ready_doc: str) -> None:
    """With gunicorn's sync workers two such uploads held both workers and a poll waited ~28 s.
    bench.slow_clients measures the p99 against the 200 ms target; here: nobody waits behind them."""
    import httpx

    http = httpx.Client(base_url=stack.base_url, timeout=30)
    path = f"/api/documents/{ready_doc}/status"
    with trickling(int(stack.env["PORT"]), stack.key, TRICKLERS) as opened:
        while opened[0] < TRICKLERS:
            time.sleep(0.05)
        latencies = poll_latencies(http, path, stack.headers, 5.0)
    assert len(latencies) >= 20
    assert max(latencies) < 2000, f"a poll waited {max(latencies):.0f} ms behind slow uploads"
    print(f"status p99 with {TRICKLERS} trickling uploads: {percentile(latencies, 99):.1f} ms")


def _raw(stack: Stack, request: bytes) -> tuple[str, bytes]:
    with socket.create_connection(("127.0.0.1", int(stack.env["PORT"])), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@pytest.mark.parametrize(
    ("request_bytes", "code", "says"),
    [
        (b"GET /api/documents?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414",
         "request line is too long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", "431",
         "headers are too large"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
         "431", "headers are too large"),
    ],
    ids=["long URL", "huge header", "too many headers"],
)  # fmt: skip
def test_gunicorns_own_refusals_are_json(stack: Stack, request_bytes: bytes, code: str, says: str) -> None:
    import json

    head, body = _raw(stack, request_bytes)
    assert head.split()[1] == code and "application/json" in head
    assert says in json.loads(body)["error"]


def test_the_data_folder_and_stored_files_are_private(stack: Stack, ready_doc: str) -> None:
    mode = stat.S_IMODE(stack.data_dir.stat().st_mode)
    assert mode & 0o066 == 0, oct(mode)  # at most traverse (x) for the embedded PostgreSQL's own user
    stored = [p for p in (stack.data_dir / "storage").rglob("*") if ready_doc in str(p)]
    assert any(p.is_file() for p in stored)
    for path in stored:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
    for child in stack.data_dir.iterdir():
        if child.name != "postgres":
            assert stat.S_IMODE(child.stat().st_mode) & 0o077 == 0, (child, oct(child.stat().st_mode))

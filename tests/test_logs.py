"""Structured logs: kv or JSON lines carrying request, tenant, document and task ids."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests import docgen
from tests.conftest import upload, wait_done
from tests.web_server import Gunicorn

KV_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def parse_kv(line: str) -> dict[str, object]:
    """A kv line back into a dict; fails unless the whole line is key=value pairs."""
    pairs = KV_PAIR.findall(line)
    assert " ".join(f"{k}={v}" for k, v in pairs) == line, line
    return {k: json.loads(v) if v.startswith('"') else v for k, v in pairs}


def parse(fmt: str, text: str) -> list[dict[str, object]]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) if fmt == "json" else parse_kv(line) for line in lines]


@contextmanager
def captured(fmt: str) -> Iterator[io.StringIO]:
    """Root log lines in ``fmt`` for the duration of the block."""
    from socrate import logs

    out = io.StringIO()
    handler = logs.handler(fmt, out)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_a_request_logs_its_request_id_and_tenant_and_echoes_the_id(client, tenant, fmt) -> None:
    with captured(fmt) as out:
        response = upload(client, tenant, docgen.txt("en", count=2), "a.txt", **{})
        given = client.get("/healthz", headers={"X-Request-ID": "req-abc.123"})
    assert response.status_code == 202
    generated = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert given.headers["X-Request-ID"] == "req-abc.123"
    lines = parse(fmt, out.getvalue())
    queued = next(line for line in lines if line["event"] == "document queued")
    assert queued["request_id"] == generated and queued["tenant_id"] == tenant.id
    assert queued["level"] == "info" and queued["logger"] == "socrate.documents.service" and queued["ts"]


def test_an_unusable_request_id_is_replaced(client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": 'bad id "quoted" ' + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_a_service_line_carries_the_bound_ids_and_survives_awkward_text(fmt) -> None:
    from socrate import logs

    with captured(fmt) as out, logs.bound(tenant_id="t1", document_id="d1", task_id="k1"):
        logging.getLogger("socrate.processing.pipeline").warning(
            'odd "text"\nsecond line = x', extra={"fields": {"n": 3}}
        )
    (line,) = parse(fmt, out.getvalue())
    assert line["event"] == 'odd "text"\nsecond line = x'
    assert (line["tenant_id"], line["document_id"], line["task_id"]) == ("t1", "d1", "k1")
    assert str(line["n"]) == "3" and line["level"] == "warning"
    assert logs.current() == {}


def test_worker_lines_carry_task_document_and_tenant_ids(client, tenant, worker) -> None:
    doc_id = upload(client, tenant, docgen.txt("en", count=3), "w.txt").get_json()["document_id"]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    deadline = time.monotonic() + 30  # the row says ready a moment before the worker logs it
    while True:
        lines = [
            parse_kv(line)
            for line in worker.log_path.read_text().splitlines()
            if f"document_id={doc_id}" in line
        ]
        ready = next((line for line in lines if line["event"] == "document ready"), None)
        if ready is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ready is not None, lines
    assert (
        ready["tenant_id"] == tenant.id
        and ready["task_id"]
        and ready["logger"] == "socrate.processing.pipeline"
    )


def test_gunicorn_access_lines_use_the_same_format(services, settings, tmp_path) -> None:
    """The Procfile's gunicorn (reading ./gunicorn.conf.py) logs each request as one JSON line."""
    web = Gunicorn({**services, "LOG_FORMAT": "json"}, tmp_path / "web.log").start()
    try:
        httpx.get(f"{web.url}/healthz", headers={"X-Request-ID": "from-the-edge"}, timeout=10)
        httpx.get(f"{web.url}/api/documents", timeout=10)
    finally:
        web.stop()
    lines = [json.loads(line) for line in web.log().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    health = next(line for line in access if line["request_id"] == "from-the-edge")
    assert health["path"] == "/healthz" and health["status"] == 200 and health["method"] == "GET"
    refused = next(line for line in access if line["path"] == "/api/documents")
    assert refused["status"] == 401 and re.fullmatch(r"[0-9a-f]{32}", refused["request_id"])
    assert any(line["logger"] == "gunicorn.error" for line in lines)

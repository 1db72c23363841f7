"""The run command on embedded defaults: its own PostgreSQL and redis-server, web + worker + beat (+ the
bot when a token is set), an admin command beside it on the same database, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from bench.stack import running_stack
from socrate.db import embedded
from tests import docgen
from tests.processes import ROOT

pytestmark = pytest.mark.slow


def test_serve_runs_the_whole_product_on_embedded_defaults_and_stops_cleanly(fake_telegram) -> None:
    fake = fake_telegram
    overrides = {"DATABASE_URL": None, "WEB_CONCURRENCY": "1", **fake.env}
    with running_stack(overrides) as stack:
        children = psutil.Process(stack.process.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and ":6379" not in names
        assert (
            "gunicorn" in names and "documents,maintenance" in names and "beat" in names and "-m bot" in names
        )
        assert "-n webhooks@%h -Q webhooks -P threads" in names
        fake.send_text(7001, "/start")
        assert "Welcome to Socrate" in fake.wait(lambda: fake.chat(7001), timeout=120, what="the bot")[0].text

        demo_key = (stack.data_dir / "demo-api-key.txt").read_text().strip()
        cluster = stack.data_dir / "postgres"
        server = embedded.running(cluster)
        assert server is not None and server.listen == "" and server.port not in (5432, 6379)  # a socket only
        stack.key = demo_key
        doc_id, _ = stack.upload(docgen.markdown("en"), "hello.md")
        final = stack.wait(doc_id, poll=0.2, timeout=300)
        assert final["status"] == "ready" and final["total_chunks"] > 0
        ready = stack.http.get("/readyz").json()["components"]
        assert ready["workers"]["workers"] >= 1 and ready["database"]["pgvector"].startswith("0.8")

        # An admin command with the same data dir uses the same database, and leaves it running.
        listed = subprocess.run([sys.executable, "-m", "socrate", "documents", "list", "--json"], cwd=ROOT,
                                env=stack.env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert [row["document_id"] for row in json.loads(listed.stdout)] == [doc_id]
        assert embedded.running(cluster) == server and stack.wait(doc_id)["status"] == "ready"

        # A process that dies (here the whole worker, kill -9) is restarted; the product carries on.
        launched = psutil.Process(stack.process.pid).children()
        worker = next(c for c in launched if "documents,maintenance" in c.cmdline())
        os.killpg(worker.pid, signal.SIGKILL)
        # Uploaded only once the new worker is up: a message pushed while the dead one's connection is
        # still closing can be lost with it (Redis hands it over before the kill lands; recovery finds
        # such a queued document after STUCK_AFTER_SECONDS).
        deadline = time.monotonic() + 180
        while "restarting worker" not in (stack.data_dir / "serve.log").read_text(errors="replace") or (
            stack.http.get("/readyz").json()["components"]["workers"]["workers"] < 1
        ):
            assert time.monotonic() < deadline, "the worker was not restarted"
            time.sleep(0.5)
        after, _ = stack.upload(docgen.txt("en"), "after-the-crash.txt")
        assert stack.wait(after, poll=0.2, timeout=300)["status"] == "ready"
        children = psutil.Process(stack.process.pid).children(recursive=True)

    assert stack.process.returncode == 0
    log = (stack.data_dir / "serve.log").read_text()
    assert f"Socrate is running at http://127.0.0.1:{stack.env['PORT']}" in log
    assert demo_key in log  # printed on first run
    assert "worker exited (code -9); restarting it in 1 s" in log
    stops = [log.index(f"stopping {name}") for name in ("bot", "web", "beat", "webhooks", "worker")]
    assert stops == sorted(stops)  # the doors first, the worker last, Redis after it:
    assert "Connection to broker lost" not in log[stops[-1] :]
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert embedded.running(cluster) is None  # the embedded PostgreSQL stopped with the rest

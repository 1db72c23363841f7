"""The run command on embedded defaults: its own PostgreSQL and redis-server, web + worker + beat (+ the
bot when a token is set), an admin command beside it on the same database, clean Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys

import psutil

from bench.stack import running_stack
from socrate.db import embedded
from tests import docgen
from tests.processes import ROOT


def test_serve_runs_the_whole_product_on_embedded_defaults_and_stops_cleanly(fake_telegram):  # type: ignore[no-untyped-def]
    fake = fake_telegram
    overrides = {"DATABASE_URL": None, "WEB_CONCURRENCY": "1", **fake.env}
    with running_stack(overrides) as stack:
        children = psutil.Process(stack.process.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and ":6379" not in names
        assert "gunicorn" in names and "worker" in names and "beat" in names and "-m bot" in names
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

    assert stack.process.returncode == 0
    log = (stack.data_dir / "serve.log").read_text()
    assert f"Socrate is running at http://127.0.0.1:{stack.env['PORT']}" in log
    assert demo_key in log  # printed on first run
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert embedded.running(cluster) is None  # the embedded PostgreSQL stopped with the rest

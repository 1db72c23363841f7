"""The run command on embedded defaults: SQLite + its own redis-server, web + worker + beat (+ the bot
when a token is set), clean Ctrl-C."""

from __future__ import annotations

import psutil

from bench.stack import running_stack
from tests import docgen


def test_serve_runs_the_whole_product_on_embedded_defaults_and_stops_cleanly(fake_telegram):  # type: ignore[no-untyped-def]
    fake = fake_telegram
    overrides = {"DATABASE_URL": None, "REDIS_URL": None, "WEB_CONCURRENCY": "1", **fake.env}
    with running_stack(overrides) as stack:
        children = psutil.Process(stack.process.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and ":6379" not in names
        assert "gunicorn" in names and "worker" in names and "beat" in names and "-m bot" in names
        fake.send_text(7001, "/start")
        assert "Welcome to Socrate" in fake.wait(lambda: fake.chat(7001), timeout=120, what="the bot")[0].text

        demo_key = (stack.data_dir / "demo-api-key.txt").read_text().strip()
        assert (stack.data_dir / "socrate.db").is_file()
        stack.key = demo_key
        doc_id, _ = stack.upload(docgen.markdown("en"), "hello.md")
        final = stack.wait(doc_id, poll=0.2, timeout=300)
        assert final["status"] == "ready" and final["total_chunks"] > 0
        assert stack.http.get("/readyz").json()["components"]["workers"]["workers"] >= 1

    assert stack.process.returncode == 0
    log = (stack.data_dir / "serve.log").read_text()
    assert f"Socrate is running at http://127.0.0.1:{stack.env['PORT']}" in log
    assert demo_key in log  # printed on first run
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]

"""Document ready -> its signed webhook received, over 200 documents; then the same with a second
receiver that takes 2 s to answer each delivery, which must not slow the fast one down.

Against the real product (``python -m socrate serve``: worker, webhooks worker, Beat) and a receiver
of our own on 127.0.0.1 that verifies every signature. The baseline, measured in the same run, is
what a client polling the status endpoint every 50 ms sees: ready -> the poll that shows it.
Run: ``.venv/bin/python -m bench.webhooks``. Targets: p50 <= 200 ms, p99 <= 1 s; with the slow
receiver, the fast one's p50 <= 200 ms.
"""

from __future__ import annotations

import time
from datetime import datetime

from bench.stack import Stack, percentile, running_stack, summary
from tests import docgen
from tests.fake_receiver import Behaviour, Received, Receiver, serve

DOCUMENTS = 200
WITH_SLOW = 100
SLOW_SECONDS = 2.0


def listen(stack: Stack, receiver: Receiver, path: str, delay: float = 0.0) -> None:
    r = stack.http.post("/api/webhooks", json={"url": receiver.url(path), "events": ["document.ready"]},
                        headers=stack.headers)  # fmt: skip
    r.raise_for_status()
    receiver.behaviours[path] = Behaviour(secrets=[r.json()["secret"]], delay=delay)


def ready_to_received(stack: Stack, receiver: Receiver, path: str, count: int, tag: str) -> list[float]:
    """Upload ``count`` documents at once; for each, ms from its completed_at to the receiver's arrival."""
    content = docgen.txt("en", count=2)
    ids = [stack.upload(content, f"{tag}-{i}.txt")[0] for i in range(count)]

    def arrived() -> dict[str, Received]:
        return {r.payload["data"]["document_id"]: r for r in receiver.at(path)}

    receiver.wait(lambda: set(ids) <= set(arrived()), timeout=1200, what=f"{count} deliveries at {path}")
    got = arrived()
    assert all(got[doc_id].verified for doc_id in ids), "a signature did not verify"
    latencies = []
    for doc_id in ids:
        done = datetime.fromisoformat(stack.details(doc_id)["timestamps"]["completed_at"]).timestamp()
        latencies.append((got[doc_id].at - done) * 1000)
    return latencies


def polled(stack: Stack, count: int) -> list[float]:
    """The baseline: one document at a time, polled every 50 ms; ms from completed_at to the poll."""
    content = docgen.txt("en", count=2)
    latencies = []
    for i in range(count):
        doc_id, _ = stack.upload(content, f"poll-{i}.txt")
        stack.wait(doc_id, poll=0.05)
        seen = time.time()
        done = datetime.fromisoformat(stack.details(doc_id)["timestamps"]["completed_at"]).timestamp()
        latencies.append((seen - done) * 1000)
    return latencies


def main() -> None:
    # The receiver is on 127.0.0.1: ALLOW_LOOPBACK_URLS is the tests' (and benches') setting for that.
    with running_stack({"ALLOW_LOOPBACK_URLS": "true"}) as stack, serve() as receiver:
        listen(stack, receiver, "/fast")
        alone = ready_to_received(stack, receiver, "/fast", DOCUMENTS, "alone")
        listen(stack, receiver, "/slow", delay=SLOW_SECONDS)
        started = time.monotonic()
        beside_slow = ready_to_received(stack, receiver, "/fast", WITH_SLOW, "beside-slow")
        slow_done = len(receiver.at("/slow"))
        seconds = time.monotonic() - started
        baseline = polled(stack, 50)
    print(f"{DOCUMENTS} documents uploaded at once, one receiver (answers at once, verifies signatures)")
    print(f"ready -> webhook received: {summary(alone)}")
    print(f"{WITH_SLOW} more, with a second endpoint whose receiver takes {SLOW_SECONDS:g} s per delivery:")
    print(f"  fast receiver, ready -> received: {summary(beside_slow)}")
    print(f"  slow receiver meanwhile: {slow_done} of {WITH_SLOW} delivered in {seconds:.0f} s "
          f"(2 at a time: WEBHOOK_ENDPOINT_CONCURRENCY)")  # fmt: skip
    print(f"baseline, a client polling status every 50 ms, ready -> seen: {summary(baseline)}")
    print("targets: p50 <= 200 ms, p99 <= 1000 ms; beside the slow receiver, p50 <= 200 ms")
    p50, p99 = percentile(alone, 50), percentile(alone, 99)
    print(
        f"webhooks: documents={DOCUMENTS} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"beside_slow_p50_ms={percentile(beside_slow, 50):.1f} poll_p50_ms={percentile(baseline, 50):.1f} "
        f"push_vs_poll={p50 / percentile(baseline, 50):.2f}"
    )


if __name__ == "__main__":
    main()

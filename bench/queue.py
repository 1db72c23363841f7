"""Time from the upload's 202 answer to the worker starting the task, over 200 small uploads.

Each upload waits for the previous document to finish, so this measures dispatch latency
(broker + worker pick-up), not a backlog. Run: ``.venv/bin/python -m bench.queue``.
Targets: p50 <= 50 ms, p99 <= 250 ms.
"""

from __future__ import annotations

from datetime import datetime

from bench.stack import running_stack, summary
from tests import docgen

UPLOADS = 200


def main() -> None:
    content = docgen.txt("en", count=3)
    latencies, round_trips = [], []
    with running_stack() as stack:
        for i in range(UPLOADS):
            doc_id, answered = stack.upload(content, f"q{i}.txt")
            stack.wait(doc_id, poll=0.01)
            ts = stack.details(doc_id)["timestamps"]
            started = datetime.fromisoformat(ts["started_at"]).timestamp()
            queued = datetime.fromisoformat(ts["queued_at"]).timestamp()
            latencies.append((started - answered) * 1000)
            round_trips.append((started - queued) * 1000)
    print(f"{UPLOADS} uploads of a {len(content)}-byte TXT, one at a time, 1 worker")
    print(f"202 answer -> task started: {summary(latencies)}")
    print(f"baseline, row queued_at -> task started (includes commit + publish): {summary(round_trips)}")
    print("targets: p50 <= 50 ms, p99 <= 250 ms")


if __name__ == "__main__":
    main()

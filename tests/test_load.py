"""Load: 50 documents from 5 tenants encode while 200 clients poll status for 30 s; nothing fails."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import httpx
import pytest

from bench.stack import percentile, running_stack
from tests import docgen

TENANTS, DOCS_PER_TENANT, CLIENTS, SECONDS = 5, 10, 200, 30

pytestmark = pytest.mark.slow


def test_polling_under_load_loses_nothing(make_tenant, capsys) -> None:
    tenants = [make_tenant(f"load-{i}") for i in range(TENANTS)]
    # The product as scripts/run starts it (gunicorn, worker, beat) on the suite's database, with
    # its own Redis and storage so the suite's worker cannot take its jobs.
    with running_stack({"RATE_LIMIT_PER_MINUTE": "1000000"}) as stack:
        docs: dict[str, list[str]] = {t.key: [] for t in tenants}
        for i in range(DOCS_PER_TENANT):
            for tenant in tenants:
                stack.key = tenant.key
                doc_id, _ = stack.upload(docgen.txt("en" if i % 2 else "it", count=8 + i), f"load{i}.txt")
                docs[tenant.key].append(doc_id)

        codes: Counter[int] = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + SECONDS

        def client(key: str) -> None:
            rng = random.Random(key + threading.current_thread().name)
            with httpx.Client(base_url=stack.base_url, timeout=60) as http:
                while time.monotonic() < stop_at:
                    start = time.perf_counter()
                    try:
                        code = http.get(f"/api/documents/{rng.choice(docs[key])}/status",
                                        headers={"Authorization": f"Bearer {key}"}).status_code  # fmt: skip
                    except httpx.HTTPError:
                        code = 0
                    with lock:
                        codes[code] += 1
                        latencies.append((time.perf_counter() - start) * 1000)
                    time.sleep(rng.uniform(0.5, 1.5))

        threads = [threading.Thread(target=client, args=(tenants[i % TENANTS].key,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        finals: Counter[str] = Counter()
        for tenant in tenants:
            stack.key = tenant.key
            for doc_id in docs[tenant.key]:
                finals[stack.wait(doc_id, poll=0.2, timeout=300)["status"]] += 1

    with capsys.disabled():
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        print(
            f"\nload: {sum(codes.values())} status requests from {CLIENTS} clients in {SECONDS} s, "
            f"codes {dict(codes)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms; documents {dict(finals)}"
        )
    assert set(codes) == {200}, codes
    assert finals == Counter({"ready": TENANTS * DOCS_PER_TENANT}), finals

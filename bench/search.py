"""Search latency: a tenant with 100 ready documents, over HTTP on the real stack vs a direct call.

The same question goes to ``GET /api/search`` (gunicorn, auth, rate limit, JSON) and to
``socrate.search.search`` in this process on the same database and storage, alternately.
Run: ``.venv/bin/python -m bench.search``. Targets: warm p50 <= 50 ms, p95 <= 150 ms. (``bench.search_scale``
measures the same path on ~84,000 chunks.)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from bench import corpus
from bench.stack import percentile, running_stack, summary
from socrate import search
from socrate.encoding.factory import get_encoder

if TYPE_CHECKING:
    from socrate.encoding.memvid_encoder import MemvidEncoder

DOCS = 100
TOKENS_PER_DOC = 1500
SEED = 11
WARMUP = 20  # gunicorn runs two web workers: both answer some of these
ROUNDS = 2
K = 5


def main() -> None:
    encoder = cast("MemvidEncoder", get_encoder())  # the memvid encoder's tokenizer
    docs = corpus.build(DOCS, TOKENS_PER_DOC, 1, SEED, lambda s: len(encoder.tokenizer.tokenize(s)))
    questions = [(doc.needles[0].question, doc.needles[0].text) for doc in docs]
    http_ms, direct_ms, server_ms, warmup_ms = [], [], [], []
    answered = 0
    with running_stack() as stack, stack.context() as ctx:
        ids = [stack.upload(doc.text.encode(), doc.filename)[0] for doc in docs]
        chunks = sum(stack.wait(doc_id, poll=0.2)["total_chunks"] for doc_id in ids)
        tenant_id = stack.details(ids[0])["files"]["index"].split("/")[1]

        def ask(question: str) -> tuple[float, dict]:
            start = time.perf_counter()
            response = stack.http.get("/api/search", params={"q": question, "k": K}, headers=stack.headers)
            elapsed = (time.perf_counter() - start) * 1000
            response.raise_for_status()
            return elapsed, response.json()

        cold_ms, _ = ask(questions[0][0])
        start = time.perf_counter()
        search.search(ctx, tenant_id, questions[0][0], k=K)
        direct_cold_ms = (time.perf_counter() - start) * 1000
        for question, _ in questions[1 : WARMUP + 1]:
            warmup_ms.append(ask(question)[0])
        for _ in range(ROUNDS):
            for question, needle in questions:
                elapsed, body = ask(question)
                http_ms.append(elapsed)
                server_ms.append(body["took_ms"])
                answered += any(needle in hit["text"] for hit in body["results"])
                start = time.perf_counter()
                search.search(ctx, tenant_id, question, k=K)
                direct_ms.append((time.perf_counter() - start) * 1000)
    p50_http, p50_direct = percentile(http_ms, 50), percentile(direct_ms, 50)
    print(f"tenant: {DOCS} ready documents, {chunks} chunks; k={K}; {len(http_ms)} warm queries, "
          f"each asked over HTTP and directly, alternately")  # fmt: skip
    print(f"first query over HTTP:        {cold_ms:.0f} ms (the model was loaded before gunicorn forked)")
    print(f"first direct call:            {direct_cold_ms:.0f} ms (this process loaded the model before)")
    print(f"warm-up ({WARMUP} queries):        max {max(warmup_ms):.0f} ms (both web workers' first queries)")
    print(f"HTTP, warm:    {summary(http_ms)}")
    print(f"  server took_ms: {summary(server_ms)}")
    print(f"direct, warm:  {summary(direct_ms)}")
    print(f"ratio HTTP/direct p50: {p50_http / p50_direct:.2f}; "
          f"needle in the top {K}: {answered}/{len(http_ms)}")  # fmt: skip
    print(f"targets: p50 <= 50 ms ({p50_http:.1f}), p95 <= 150 ms ({percentile(http_ms, 95):.1f})")


if __name__ == "__main__":
    main()

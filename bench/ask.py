"""Ask over HTTP: how soon the citations and the first token of a streamed answer arrive.

A tenant of 200 documents (40 chunks each, written straight into the embedded PostgreSQL as in
``bench.search_scale``) asks its 100 planted questions through ``POST /api/ask`` with
``Accept: text/event-stream``; gunicorn runs ``api_server:app`` with LLM_BASE_URL pointing at the
fake OpenAI-compatible server of the tests, which waits a fixed 20 ms before its first token.
Baselines measured in the same run: ``GET /api/search`` for the same questions (retrieval alone) and
``GET /api/documents?limit=1`` (the plain authenticated request).

Printed: p50/p95 of the time to the ``citations`` event and to the first ``token``, the retrieval's
share of the time to the first token, and the baselines. Targets: citations p50 <= 100 ms, first
token p50 <= 150 ms. Run: ``.venv/bin/python -m bench.ask`` (about 2-3 minutes on 2 cores).
The last line is ``ask: documents=N citations_p50_ms=X first_token_p50_ms=Y retrieval_share=Z``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.search_scale import Tenant, Web, load_corpus, services
from bench.stack import percentile
from socrate.config import Settings
from socrate.db import migrate
from tests.fake_llm import FakeLLM

DOCUMENTS, QUESTIONS, WARMUP = 200, 100, 10
FIRST_TOKEN_DELAY = 0.020
REPLY = "The documents say so [1]. " * 8


def streamed(web: Web, key: str, question: str) -> tuple[float, float]:
    """Milliseconds to the citations event and to the first token event of one streamed answer."""
    started = time.perf_counter()
    citations = first_token = 0.0
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    with web.http.stream("POST", "/api/ask", json={"question": question}, headers=headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            now = (time.perf_counter() - started) * 1000
            if line == "event: citations" and not citations:
                citations = now
            elif line == "event: token" and not first_token:
                first_token = now
            elif line == "event: done":
                break
    assert citations and first_token, "the stream lacked citations or tokens"
    return citations, first_token


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="socrate-bench-ask-"))
    tenant = Tenant("ask", DOCUMENTS, needles=QUESTIONS)
    fake = FakeLLM().start()
    fake.reset(reply=REPLY.strip(), first_token_delay=FIRST_TOKEN_DELAY)
    with services(base) as (server, redis_server):
        env = {
            **os.environ,
            "DATABASE_URL": server.url,
            "REDIS_URL": redis_server.url,
            "HF_HUB_OFFLINE": "1",
            "SOCRATE_DATA_DIR": str(base),
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "LLM_BASE_URL": fake.url,
            "LLM_TENANT_DAILY_TOKENS": "0",
        }
        migrate.upgrade(Settings.from_env(env).database_url)
        documents, chunks, _windows = load_corpus(server, Settings.from_env(env), [tenant])
        web = Web(env, base / "web.log")
        web.start()
        questions = [q for q, _ in tenant.questions]
        for question in questions[:WARMUP]:
            streamed(web, tenant.key, question)
        cited, tokens, searches, baseline = [], [], [], []
        for question in questions:
            at_citations, at_token = streamed(web, tenant.key, question)
            cited.append(at_citations)
            tokens.append(at_token)
            searches.append(web.timed("/api/search", {"q": question, "k": 5}, tenant.key)[0])
            baseline.append(web.timed("/api/documents", {"limit": 1}, tenant.key)[0])
        web.stop()
    fake.stop()
    report(documents, chunks, cited, tokens, searches, baseline)


def report(
    documents: int,
    chunks: int,
    cited: list[float],
    tokens: list[float],
    searches: list[float],
    baseline: list[float],
) -> None:
    c50, t50 = percentile(cited, 50), percentile(tokens, 50)
    share = c50 / t50
    print(
        f"tenant: {documents} documents, {chunks} chunks; {len(cited)} streamed questions; "
        f"the model's first token after {FIRST_TOKEN_DELAY * 1000:.0f} ms"
    )
    print(f"citations event: p50 {c50:.1f} ms, p95 {percentile(cited, 95):.1f} ms (target p50 <= 100 ms)")
    print(f"first token:     p50 {t50:.1f} ms, p95 {percentile(tokens, 95):.1f} ms (target p50 <= 150 ms)")
    print(f"retrieval share of the time to the first token: {share:.2f}")
    s50, b50 = percentile(searches, 50), percentile(baseline, 50)
    print(
        f"baselines: GET /api/search p50 {s50:.1f} ms (citations / search {c50 / s50:.2f}); "
        f"GET /api/documents p50 {b50:.1f} ms (citations / documents {c50 / b50:.2f})"
    )
    print(
        f"ask: documents={documents} citations_p50_ms={c50:.1f} first_token_p50_ms={t50:.1f} "
        f"retrieval_share={share:.2f}"
    )


if __name__ == "__main__":
    main()

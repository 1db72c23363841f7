"""Search at scale: ~84,000 chunks and ~500,000 window vectors in the embedded PostgreSQL, queried over HTTP.

The corpus is written straight into the database (COPY), as the worker would have written it: one big
tenant with 1,000 documents, one with 100 and 20 with 50, each document 40 chunks of ~850 words
(a Zipf-distributed vocabulary, so common words are common) and 6 windows per chunk. Window vectors
are real embeddings: the windows holding a planted fact ("needle") are embedded whole; the others
are mixes of embedded filler sentences. Questions are the needles' reworded questions, embedded by
the web process as in production. gunicorn runs ``api_server:app`` with the product's settings.

Printed: warm latency over HTTP for the big and a small tenant next to the same stack's plain
authenticated list request (the baseline), recall of the needles, web RSS per worker after the
100-document and the 1,000-document tenant, and the first query after a web restart.
Run: ``.venv/bin/python -m bench.search_scale`` (about 10-15 minutes on 2 cores).
Targets: p50 <= 30 ms, p95 <= 100 ms, first query <= 500 ms, RSS within 10 % between the two tenants.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
import psycopg2
from psycopg2.extensions import connection, cursor

from bench import corpus
from bench.stack import ROOT, percentile
from socrate import context
from socrate.accounts import tenants
from socrate.config import Settings
from socrate.db import migrate
from socrate.db.embedded import EmbeddedPostgres
from socrate.encoding import embedding
from socrate.ops.embedded_redis import EmbeddedRedis, free_port
from socrate.ops.launcher import gunicorn_options
from socrate.search import store

TENANTS = [("big", 1000), ("hundred", 100)] + [(f"small-{n:02}", 50) for n in range(20)]
CHUNKS_PER_DOC = 40
WINDOWS_PER_CHUNK = 6
WORDS_PER_CHUNK = 850
NEEDLES = {"big": 200, "hundred": 100, "small-00": 50}
QUERIES = 200  # timed queries per tenant (needle questions, repeated if fewer)
WARMUP = 20
POOL_SENTENCES = 1500
SEED = 20261130


@dataclass
class Tenant:
    name: str
    documents: int
    needles: int = 0  # documents (the first ones) with a planted fact and its question
    id: str = ""
    key: str = ""
    questions: list[tuple[str, str]] = field(default_factory=list)  # (question, needle text)


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Whole English words of the model's own vocabulary, with Zipf weights in a random order."""
    words = [w for w in embedding.get_embedder().tokenizer.vocab if re.fullmatch(r"[a-z]{3,}", w)]
    words.sort()
    rng.shuffle(words)
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(words))]
    cumulative = list(np.cumsum(weights))
    return words, cumulative


def filler_pool(rng: random.Random, words: list[str], cumulative: list[float]) -> np.ndarray:
    """Embeddings of filler sentences; a filler window is a mix of a few of them."""
    sentences = [" ".join(rng.choices(words, cum_weights=cumulative, k=30)) for _ in range(POOL_SENTENCES)]
    return embedding.get_embedder().embed(sentences)


def mixed_vectors(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    picks = pool[rng.integers(0, len(pool), size=(count, 4))].mean(axis=1)
    picks += rng.normal(0, 0.02, size=picks.shape).astype("float32")
    return (picks / np.linalg.norm(picks, axis=1, keepdims=True)).astype("float32")


def window_spans(length: int) -> list[tuple[int, int]]:
    """Six overlapping windows over a chunk, as the encoder lays them out."""
    size = length // 4
    starts = [round(i * (length - size) / (WINDOWS_PER_CHUNK - 1)) for i in range(WINDOWS_PER_CHUNK)]
    return [(s, s + size) for s in starts]


def copy_windows(cur: cursor, rows: list[tuple[str, str, int, int, int, np.ndarray]]) -> None:
    """COPY window rows in PostgreSQL's binary format (pgvector's binary vector: dim, 0, float4s)."""
    dim = embedding.DIMENSIONS
    layout = np.dtype([
        ("n", ">i2"), ("l1", ">i4"), ("tenant", "S36"), ("l2", ">i4"), ("document", "S36"),
        ("l3", ">i4"), ("chunk", ">i8"), ("l4", ">i4"), ("start", ">i4"), ("l5", ">i4"), ("end", ">i4"),
        ("l6", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("vector", ">f4", (dim,)),
    ])  # fmt: skip
    table = np.zeros(len(rows), dtype=layout)
    table["n"], table["l1"], table["l2"], table["l3"], table["l4"], table["l5"] = 6, 36, 36, 8, 4, 4
    table["l6"], table["dim"] = 4 + 4 * dim, dim
    table["tenant"] = [r[0].encode() for r in rows]
    table["document"] = [r[1].encode() for r in rows]
    table["chunk"] = [r[2] for r in rows]
    table["start"] = [r[3] for r in rows]
    table["end"] = [r[4] for r in rows]
    table["vector"] = np.stack([r[5] for r in rows])
    payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + table.tobytes() + b"\xff\xff"
    cur.copy_expert(
        "COPY windows (tenant_id, document_id, chunk_id, char_start, char_end, embedding) FROM STDIN BINARY",
        io.BytesIO(payload),
    )


DOCUMENT_ROW = (
    "INSERT INTO documents (id, tenant_id, title, filename, source, content_type, file_kind, size_bytes, "
    "sha256, storage_key, status, progress, message, task_state, attempts, total_chunks, language, "
    "created_at, updated_at) VALUES (gen_random_uuid(), %(tenant)s, %(name)s, %(name)s, 'api', 'text/plain', "
    "'txt', 1, repeat('0', 64), 'none', 'ready', 100, 'Complete', 'SUCCESS', 1, %(chunks)s, %(lang)s, "
    "now(), now()) RETURNING id"
)
CHUNK_COLUMNS = "COPY chunks (id, tenant_id, document_id, chunk_index, text, ts_config) FROM STDIN"


class Loader:
    """Writes documents as the worker would have left them: rows, chunks and windows."""

    def __init__(self, cur: cursor, rng: random.Random) -> None:
        self.cur, self.rng, self.vectors_rng = cur, rng, np.random.default_rng(SEED)
        self.words, self.cumulative = vocabulary(rng)
        self.pool = filler_pool(rng, self.words, self.cumulative)
        self.chunk_id = self.documents = self.windows = self.serial = 0

    def document(self, tenant: Tenant, number: int, with_needle: bool) -> None:
        self.documents += 1
        lang = "en" if number % 2 == 0 else "it"
        row = {"tenant": tenant.id, "name": f"doc-{number}.txt", "chunks": CHUNKS_PER_DOC, "lang": lang}
        self.cur.execute(DOCUMENT_ROW, row)
        returned = self.cur.fetchone()
        assert returned is not None
        doc_id = returned[0]
        needle_chunk = -1
        if with_needle:
            needle = corpus._needle(self.rng, lang, self.serial, at_chunk_end=False)
            self.serial += 1
            tenant.questions.append((needle.question, needle.text))
            needle_chunk = self.rng.randrange(CHUNKS_PER_DOC)
        lines, windows = [], []
        for index in range(CHUNKS_PER_DOC):
            self.chunk_id += 1
            text = " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=WORDS_PER_CHUNK))
            vectors = mixed_vectors(self.vectors_rng, self.pool, WINDOWS_PER_CHUNK)
            if index == needle_chunk:  # the fact sits in the third window, which is embedded for real
                at = text.index(" ", window_spans(len(text))[2][0] + 40) + 1
                text = text[:at] + needle.text + " " + text[at:]
                third = window_spans(len(text))[2]
                vectors[2] = embedding.get_embedder().embed([text[third[0] : third[1]]])[0]
            lines.append(
                f"{self.chunk_id}\t{tenant.id}\t{doc_id}\t{index}\t{text}\t{store.text_config(lang)}\n"
            )
            spans = window_spans(len(text))
            windows += [
                (tenant.id, doc_id, self.chunk_id, a, b, vectors[i]) for i, (a, b) in enumerate(spans)
            ]
        self.cur.copy_expert(CHUNK_COLUMNS, io.StringIO("".join(lines)))
        copy_windows(self.cur, windows)
        self.windows += len(windows)


def load_corpus(server: EmbeddedPostgres, settings: Settings, plan: list[Tenant]) -> tuple[int, int, int]:
    """Tenants with API keys, then documents, chunks and windows by COPY; indexes built afterwards."""
    ctx = context.build(settings)
    with ctx.sessions() as session:
        for tenant in plan:
            row, tenant.key = tenants.create(session, tenant.name, settings)
            tenant.id = row.id
    ctx.dispose()
    conn = psycopg2.connect(host=server.server.socket_dir, port=server.server.port, user="postgres",
                            dbname="socrate")  # fmt: skip
    cur = conn.cursor()
    indexes = drop_search_indexes(cur)
    loader = Loader(cur, random.Random(SEED))
    for tenant in plan:
        for number in range(tenant.documents):
            loader.document(tenant, number, with_needle=number < tenant.needles)
            if loader.documents % 100 == 0:
                conn.commit()
                print(f"  loaded {loader.documents} documents ({loader.chunk_id} chunks)", flush=True)
    cur.execute("SELECT setval(pg_get_serial_sequence('chunks', 'id'), %s)", (loader.chunk_id,))
    conn.commit()
    build_indexes(conn, indexes)
    conn.close()
    return loader.documents, loader.chunk_id, loader.windows


def drop_search_indexes(cur: cursor) -> list[str]:
    """Loading first and indexing once is far faster than keeping HNSW and GIN up to date row by row."""
    cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename IN ('chunks', 'windows') "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)")  # fmt: skip
    indexes = [row[0] for row in cur.fetchall()]
    for definition in indexes:
        cur.execute(f"DROP INDEX {definition.split()[2]}")
    return indexes


def build_indexes(conn: connection, indexes: list[str]) -> None:
    cur = conn.cursor()
    cur.execute("SET maintenance_work_mem = '4GB'")
    cur.execute("SET max_parallel_maintenance_workers = 2")
    for definition in indexes:
        started = time.monotonic()
        cur.execute(
            definition.replace(" ON ONLY ", " ON ")
        )  # a partitioned table's index covers every partition
        conn.commit()
        print(f"  {definition.split()[2]}: built in {time.monotonic() - started:.0f} s", flush=True)
    conn.autocommit = True
    for table in ("documents", "chunks", "windows"):
        cur.execute(f"VACUUM ANALYZE {table}")


class Web:
    """gunicorn serving api_server:app with the product's settings (and ./gunicorn.conf.py)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    def start(self) -> float:
        """Start and wait until it answers; the seconds that took."""
        started = time.monotonic()
        cmd = [sys.executable, "-m", "gunicorn", "api_server:app", "--bind", f"127.0.0.1:{self.port}",
               *gunicorn_options(self.env)]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            try:
                if self.http.get("/healthz").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def worker_memory(self) -> list[tuple[float, float]]:
        """(RSS, PSS) in MB of each gunicorn worker."""
        assert self.proc is not None
        found = []
        for child in psutil.Process(self.proc.pid).children():
            full = child.memory_full_info()
            found.append((full.rss / 2**20, full.pss / 2**20))
        return found

    def timed(self, path: str, params: dict[str, str | int], key: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = self.http.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return elapsed, response.json()


@dataclass
class Measured:
    searches: list[float]  # ms over HTTP
    server: list[float]  # took_ms the service reported
    baseline: list[float]  # ms of GET /api/documents?limit=1 over the same HTTP path
    recall: float  # share of questions whose needle is in the top 5

    def line(self, tenant: Tenant) -> str:
        p50, p95, b50 = (
            percentile(self.searches, 50),
            percentile(self.searches, 95),
            percentile(self.baseline, 50),
        )
        inside = percentile(self.server, 50)
        return (
            f"{tenant.name:>9} ({tenant.documents:>4} documents): search p50 {p50:.1f} ms, "
            f"p95 {p95:.1f} ms (in the service: p50 {inside:.1f} ms); baseline GET /api/documents "
            f"p50 {b50:.1f} ms, ratio {p50 / b50:.2f}; needle in the top 5: {self.recall:.2f}"
        )


def ask_all(web: Web, tenant: Tenant) -> Measured:
    """Timed searches and timed baseline requests, alternately; and recall@5 of the needles."""
    measured, found = Measured([], [], [], 0.0), 0
    questions = (tenant.questions * (QUERIES // len(tenant.questions) + 1))[:QUERIES]
    for question, needle in questions:
        elapsed, body = web.timed("/api/search", {"q": question, "k": 5}, tenant.key)
        measured.searches.append(elapsed)
        measured.server.append(body["took_ms"])
        found += any(needle in hit["text"] for hit in body["results"])
        measured.baseline.append(web.timed("/api/documents", {"limit": 1}, tenant.key)[0])
    measured.recall = found / len(questions)
    return measured


@contextmanager
def services(base: Path) -> Iterator[tuple[EmbeddedPostgres, EmbeddedRedis]]:
    with EmbeddedPostgres(base / "postgres") as server:
        redis_server = EmbeddedRedis(base / "redis").start()
        try:
            yield server, redis_server
        finally:
            redis_server.stop()


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="socrate-search-scale-"))
    plan = [Tenant(name, docs, NEEDLES.get(name, 0)) for name, docs in TENANTS]
    big, hundred, small = plan[0], plan[1], plan[2]
    with services(base) as (server, redis_server):
        env = {**os.environ, "DATABASE_URL": server.url, "REDIS_URL": redis_server.url, "HF_HUB_OFFLINE": "1",
               "SOCRATE_DATA_DIR": str(base), "RATE_LIMIT_PER_MINUTE": "100000000"}  # fmt: skip
        migrate.upgrade(Settings.from_env(env).database_url)
        started = time.monotonic()
        documents, chunks, windows = load_corpus(server, Settings.from_env(env), plan)
        print(f"corpus: {documents} documents, {chunks} chunks, {windows} windows in {len(plan)} tenants, "
              f"written and indexed in {time.monotonic() - started:.0f} s")  # fmt: skip
        web = Web(env, base / "web.log")
        boot = web.start()
        for tenant in (big, hundred, small):
            for question, _ in tenant.questions[:WARMUP]:
                web.timed("/api/search", {"q": question}, tenant.key)
        memory = {"after warm-up": web.worker_memory()}
        results = {}
        for tenant in (hundred, big, small):
            results[tenant.name] = ask_all(web, tenant)
            memory[f"after the {tenant.documents}-document tenant"] = web.worker_memory()
        web.stop()
        restart = web.start()
        first = [web.timed("/api/search", {"q": q}, big.key)[0] for q, _ in big.questions[-3:]]
        web.stop()
    report(plan, results, memory, boot, restart, first, documents, chunks)


def report(plan: list[Tenant], results: dict[str, Measured], memory: dict[str, list[tuple[float, float]]],
           boot: float, restart: float, first: list[float], documents: int, chunks: int) -> None:  # fmt: skip
    for tenant in plan[:3]:
        print(results[tenant.name].line(tenant))
    for label, workers in memory.items():
        print(f"web workers {label}: " + ", ".join(f"RSS {r:.0f} MB / PSS {p:.0f} MB" for r, p in workers))
    rss_hundred, rss_big = memory["after the 100-document tenant"], memory["after the 1000-document tenant"]
    growth = max(b[0] / h[0] for b, h in zip(rss_big, rss_hundred, strict=True)) - 1
    print(f"web RSS growth from 100 to 1,000 documents: {growth * 100:+.1f} %  (target within 10 %)")
    print(
        f"web start-up (model loaded before forking): {boot:.1f} s, after a restart {restart:.1f} s; "
        f"first queries after the restart: {', '.join(f'{ms:.0f}' for ms in first)} ms (target <= 500 ms)"
    )
    worst_p50 = max(percentile(results[n].searches, 50) for n in ("big", "small-00"))
    worst_p95 = max(percentile(results[n].searches, 95) for n in ("big", "small-00"))
    rss = max(r for r, _ in rss_big)
    print(f"targets for the big and a small tenant: p50 <= 30 ms ({worst_p50:.1f}), "
          f"p95 <= 100 ms ({worst_p95:.1f})")  # fmt: skip
    print(f"search_scale: documents={documents} chunks={chunks} p50_ms={worst_p50:.1f} "
          f"p95_ms={worst_p95:.1f} first_query_ms={first[0]:.0f} web_rss_mb={rss:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

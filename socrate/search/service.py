"""Search a tenant's ready documents in the database: nearest windows and word matches, fused.

A plain synchronous function of (context, tenant, query) so every adapter calls it: Flask views
directly, the async bot through ``asyncio.to_thread``. Short statements on one connection: the
scope (the tenant's ready documents' languages and size), the question's lexemes in those languages,
the chunks with its rarest words (GIN index) — all while the model embeds the question on another
thread — then the chunks of the nearest windows (the tenant's HNSW partition) with both signals
measured, and the best passages with their snippets. Nothing is cached per document: the database
holds every tenant's rows, the web process only the embedding model (and, for a minute, the
planner's word statistics).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from socrate import logs
from socrate.context import Context
from socrate.db.models import Document
from socrate.documents.lifecycle import Status
from socrate.encoding import embedding
from socrate.errors import BadRequest
from socrate.search import candidates, citations, fusion, passages, store
from socrate.search.candidates import Scope
from socrate.search.fusion import Candidate, Frequencies, Term
from socrate.tenancy import canonical_id, get_owned_columns

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_K = 20
NO_DOCUMENTS = "No ready documents to search yet"
NOT_READY = "This document is not ready to search yet"
NOTHING_FOUND = "Nothing found for this query"
READY_LANGUAGES = text(
    "SELECT language, sum(total_chunks) FROM documents WHERE tenant_id = :tenant AND status = 'ready' "
    "GROUP BY language"
)


@dataclass(frozen=True)
class Hit:
    document_id: str
    filename: str
    chunk_index: int
    page_start: int | None  # PDFs: the pages the passage spans; None for other files
    page_end: int | None
    text: str
    snippet: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) of matched words
    source: str = ""  # "report.pdf · p. 12–13": how people see where the passage is


@dataclass(frozen=True)
class SearchResponse:
    query: str
    results: list[Hit]
    took_ms: float
    message: str | None = None


def validate(query: str, k: int) -> str:
    """The query as searched (trimmed), or BadRequest saying what is wrong."""
    query = (query or "").strip()
    if not query:
        raise BadRequest("The search query is empty: pass some words as q")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"The search query is too long (at most {MAX_QUERY_CHARS} characters)")
    if "\x00" in query:
        raise BadRequest("The search query contains a NUL character")
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K}")
    return query


def search(
    ctx: Context, tenant_id: str, query: str, *, k: int = 5, document_id: str | None = None
) -> SearchResponse:
    """The ``k`` best passages of the tenant's ready documents (or of one of them) for ``query``."""
    started = time.perf_counter()
    query = validate(query, k)
    vector = embed(query)  # on its own thread from now on, while the database answers what it can
    with ctx.search_engine.connect() as conn:
        found, message = scope(conn, tenant_id, document_id)
        hits = _rank(conn, found, query, k, vector) if found else []
    if found and not hits:
        message = NOTHING_FOUND
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info("search", extra=logs.fields(tenant_id=tenant_id, results=len(hits), took_ms=took_ms))
    return SearchResponse(query=query, results=hits, took_ms=took_ms, message=message)


def scope(
    conn: Connection, tenant_id: str, document_id: str | None = None
) -> tuple[Scope | None, str | None]:
    """The scope of a search, or None and why; another tenant's document id is NotFound."""
    if document_id is not None:
        document_id = canonical_id(Document, document_id)
        columns = (Document.status, Document.language, Document.total_chunks)
        row = get_owned_columns(conn, Document, document_id, tenant_id, columns)
        if row.status != Status.READY:
            return None, NOT_READY
        return Scope(tenant_id, document_id, [row.language], row.total_chunks or 0), None
    rows = conn.execute(READY_LANGUAGES, {"tenant": tenant_id}).all()
    if not rows:
        return None, NO_DOCUMENTS
    return Scope(tenant_id, None, [lang for lang, _ in rows], sum(chunks or 0 for _, chunks in rows)), None


@dataclass(frozen=True)
class Retrieved:
    """The question as the database sees it and the passages worth scoring, with both signals."""

    vector: NDArray[np.float32]
    terms: list[Term]
    frequencies: Frequencies
    by_config: dict[str, list[str]]
    candidates: list[Candidate]


def embed(query: str) -> Future[NDArray[np.float32]]:
    """The question's vector, computed on the process's embedding thread."""
    return _embedding_thread().submit(embedding.get_embedder().embed_query, query)


def retrieve(
    conn: Connection, where: Scope, query: str, vector: Future[NDArray[np.float32]] | None = None
) -> Retrieved:
    """Find the rare-word matches while the question is embedded (``vector``, if already started), then
    gather the nearest windows' chunks and measure both signals on every candidate."""
    pending = vector if vector is not None else embed(query)
    configs = sorted({store.text_config(language) for language in where.languages})
    terms = candidates.terms(conn, query, configs)
    frequencies = candidates.frequencies(conn)
    by_config = fusion.lexemes_by_config(terms)
    lexemes = json.dumps(by_config)
    selective = fusion.candidate_lexemes(terms, frequencies, where.chunks)
    worded = candidates.by_words(conn, where, selective, lexemes) if selective else {}
    embedded = pending.result()
    gathered = candidates.by_vector(conn, where, embedded, worded, lexemes)
    return Retrieved(embedded, terms, frequencies, by_config, gathered)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _embedding_thread() -> ThreadPoolExecutor:
    """One thread per process for embedding questions (created after gunicorn forks, on first use;
    under a lock: gthread workers may ask from several threads at once)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        return _pool


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)  # a forked child has none of its parent's threads


def _rank(
    conn: Connection, where: Scope, query: str, k: int, vector: Future[NDArray[np.float32]]
) -> list[Hit]:
    found = retrieve(conn, where, query, vector)
    scores = {c.chunk_id: fusion.fused(c, found.terms, found.frequencies) for c in found.candidates}
    chosen = fusion.best(scores, k)
    shown = {config: [lex for lex in lexemes if found.frequencies.share(lex) <= fusion.MARKED_SHARE]
             for config, lexemes in found.by_config.items()}  # fmt: skip
    fetched = passages.fetch(conn, where.tenant_id, chosen, found.vector, shown, found.by_config)
    return [
        Hit(document_id=row[1], filename=row[2], chunk_index=row[3], page_start=row[4], page_end=row[5],
            text=row[6], snippet=snippet, score=round(score, 4), highlights=spans,
            source=citations.source(row[2], row[4], row[5]))
        for row, score, snippet, spans in fetched
    ]  # fmt: skip

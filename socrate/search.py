"""Query a tenant's ready documents: window vectors and BM25 over whole chunks, fused and cited.

A plain synchronous function of (context, tenant, query) so every adapter can call it: Flask views
directly, the async bot through ``asyncio.to_thread``. The embedding model is the process's one
encoder (loaded on the first search); document indexes come from ``ctx.search_cache``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from socrate import encoding, lexical, search_index
from socrate.context import Context
from socrate.errors import BadRequest
from socrate.models import Document, iso
from socrate.search_index import DocumentIndex
from socrate.tenancy import get_owned_columns, select_owned

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_K = 20
DENSE_WEIGHT = 0.5  # the rest is BM25; bench/search_quality.py measures the mix
MIN_SCORE = 0.15  # unrelated English questions score ~0.1; planted facts >= 0.2 (bench.search_quality)
NO_DOCUMENTS = "No ready documents to search yet"
NOT_READY = "This document is not ready to search yet"
NOTHING_FOUND = "Nothing found for this query"
COLUMNS = (Document.id, Document.filename, Document.status, Document.outputs, Document.task_id,
           Document.processed_at)  # fmt: skip


@dataclass(frozen=True)
class Hit:
    document_id: str
    filename: str
    chunk_index: int
    text: str
    snippet: str
    score: float
    highlights: list[tuple[int, int]] = field(
        default_factory=list
    )  # [start, end) of matched words in snippet


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
    rows, message = _ready_rows(ctx, tenant_id, document_id)
    hits = _rank(ctx, tenant_id, rows, query, k) if rows else []
    if rows and not hits:
        message = NOTHING_FOUND
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "search tenant_id=%s documents=%d results=%d took_ms=%.1f", tenant_id, len(rows), len(hits), took_ms
    )
    return SearchResponse(query=query, results=hits, took_ms=took_ms, message=message)


def _ready_rows(ctx: Context, tenant_id: str, document_id: str | None) -> tuple[list[Any], str | None]:
    """The documents to search, or none and why; another tenant's or an unknown id is NotFound."""
    with ctx.read_engine.connect() as conn:
        if document_id is not None:
            row = get_owned_columns(conn, Document, document_id, tenant_id, COLUMNS)
            return ([row], None) if row.status == "ready" else ([], NOT_READY)
        stmt = select_owned(Document, tenant_id).with_only_columns(*COLUMNS).where(Document.status == "ready")
        rows = list(conn.execute(stmt))
    ctx.search_cache.retain(tenant_id, {row.id for row in rows})
    return rows, (None if rows else NO_DOCUMENTS)


def _index(ctx: Context, tenant_id: str, row: Any) -> DocumentIndex | None:
    """The row's cached index, keyed by the run that wrote its outputs; None if its files are gone."""
    version = f"{row.task_id}:{iso(row.processed_at)}"
    try:
        return ctx.search_cache.get(
            tenant_id, row.id, version, lambda: search_index.load(ctx.storage, row.outputs)
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:  # deleted meanwhile, or unreadable outputs
        log.warning("search index unavailable tenant_id=%s document_id=%s error=%r", tenant_id, row.id, exc)
        return None


def _rank(ctx: Context, tenant_id: str, rows: list[Any], query: str, k: int) -> list[Hit]:
    loaded = [(row, index) for row in rows if (index := _index(ctx, tenant_id, row)) is not None]
    if not loaded:
        return []
    query_vector = encoding.get_encoder().embed_query(query)
    query_terms = lexical.terms(query)
    lexical_scores = lexical.bm25([index.lexical for _, index in loaded], query_terms)
    dense_weight = DENSE_WEIGHT if query_terms else 1.0
    candidates: list[tuple[float, int, int, np.ndarray]] = []
    for position, ((_row, index), lex) in enumerate(zip(loaded, lexical_scores, strict=True)):
        window_scores = index.vectors @ query_vector
        dense = np.full(len(index.texts), -1.0, dtype="float32")
        np.maximum.at(dense, index.window_chunk, window_scores)
        fused = dense_weight * dense + (1 - dense_weight) * lex
        for chunk in np.argsort(-fused)[:k]:
            if fused[chunk] >= MIN_SCORE:
                candidates.append((float(fused[chunk]), position, int(chunk), window_scores))
    candidates.sort(key=lambda c: -c[0])
    return [_hit(*loaded[position], chunk, score, window_scores, query_terms)
            for score, position, chunk, window_scores in candidates[:k]]  # fmt: skip


def _hit(row: Any, index: DocumentIndex, chunk: int, score: float, window_scores: np.ndarray,
         query_terms: list[str]) -> Hit:  # fmt: skip
    """A result with its snippet centred on the chunk's best window and its matching words."""
    windows = np.flatnonzero(index.window_chunk == chunk)
    best = windows[int(np.argmax(window_scores[windows]))]
    text = index.texts[chunk]
    snippet = lexical.snippet(text, tuple(index.window_span[best]), query_terms)
    return Hit(document_id=row.id, filename=row.filename, chunk_index=chunk, text=text, snippet=snippet,
               score=round(score, 4), highlights=lexical.matches(snippet, query_terms))  # fmt: skip

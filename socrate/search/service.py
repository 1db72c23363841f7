"""Search a tenant's ready documents in the database: nearest windows and word matches, fused.

A plain synchronous function of (context, tenant, query) so every adapter calls it: Flask views
directly, the async bot through ``asyncio.to_thread``. Four short statements on one connection: the
tenant's languages, the question's lexemes in them, the candidates (pgvector's HNSW index for the
nearest windows, the GIN index for word matches), then the best passages with their snippets.
Nothing is cached per document: the database holds every tenant's rows and the web process only the
embedding model.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import Connection, bindparam, text

from socrate import embedding, logs
from socrate.context import Context
from socrate.errors import BadRequest
from socrate.models import Document
from socrate.search import fusion, snippets, store
from socrate.search.fusion import Candidate, Frequencies, Term
from socrate.tenancy import get_owned_columns

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_K = 20
MAX_WORDS = 32
DENSE_CANDIDATES = 60  # nearest windows (several may belong to one chunk)
LEXICAL_CANDIDATES = 40  # chunks with the most selective words
STATS_SECONDS = 60.0
NO_DOCUMENTS = "No ready documents to search yet"
NOT_READY = "This document is not ready to search yet"
NOTHING_FOUND = "Nothing found for this query"
VECTOR = Vector(embedding.DIMENSIONS)


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
    with ctx.read_engine.connect() as conn:
        languages, message = _languages(conn, tenant_id, document_id)
        hits = _rank(conn, tenant_id, query, k, languages, document_id) if languages else []
    if languages and not hits:
        message = NOTHING_FOUND
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info("search", extra=logs.fields(tenant_id=tenant_id, results=len(hits), took_ms=took_ms))
    return SearchResponse(query=query, results=hits, took_ms=took_ms, message=message)


def _languages(
    conn: Connection, tenant_id: str, document_id: str | None
) -> tuple[list[str | None], str | None]:
    """The languages of the documents to search, or none and why; another tenant's id is NotFound."""
    if document_id is not None:
        row = get_owned_columns(conn, Document, document_id, tenant_id, (Document.status, Document.language))
        return ([row.language], None) if row.status == "ready" else ([], NOT_READY)
    found = conn.execute(
        text("SELECT DISTINCT language FROM documents WHERE tenant_id = :tenant AND status = 'ready'"),
        {"tenant": tenant_id},
    ).scalars()
    languages = list(found)
    return languages, (None if languages else NO_DOCUMENTS)


@dataclass(frozen=True)
class Retrieved:
    """The question as the database sees it and the passages worth scoring, with both signals."""

    vector: np.ndarray
    terms: list[Term]
    frequencies: Frequencies
    by_config: dict[str, list[str]]
    candidates: list[Candidate]


def retrieve(conn: Connection, tenant_id: str, query: str, languages: Sequence[str | None],
             document_id: str | None = None) -> Retrieved:  # fmt: skip
    """Embed the question, find its lexemes in the tenant's languages, gather the candidates."""
    vector = embedding.get_embedder().embed_query(query)
    configs = sorted({store.text_config(language) for language in languages})
    terms = _terms(conn, query, configs)
    frequencies = _frequencies(conn)
    by_config = fusion.lexemes_by_config(terms)
    selective = fusion.candidate_lexemes(terms, frequencies)
    candidates = _candidates(conn, tenant_id, document_id, vector, selective, by_config)
    return Retrieved(vector, terms, frequencies, by_config, candidates)


def _rank(conn: Connection, tenant_id: str, query: str, k: int, languages: Sequence[str | None],
          document_id: str | None) -> list[Hit]:  # fmt: skip
    found = retrieve(conn, tenant_id, query, languages, document_id)
    scores = {c.chunk_id: fusion.fused(c, found.terms, found.frequencies) for c in found.candidates}
    chosen = fusion.best(scores, k)
    matched = {c.chunk_id for c in found.candidates if c.present}
    return _hits(conn, chosen, found.vector, found.by_config, matched & {i for i, _ in chosen})


def _terms(conn: Connection, query: str, configs: list[str]) -> list[Term]:
    """Each distinct word of the question with its lexemes under each configuration (stop words vanish)."""
    words = list(dict.fromkeys(query.split()))[:MAX_WORDS]
    rows = conn.execute(
        text(
            "SELECT w.word, c.config::text, array_agg(l.lexeme) "
            "FROM unnest(CAST(:words AS text[])) AS w(word) "
            "CROSS JOIN unnest(CAST(:configs AS regconfig[])) AS c(config) "
            "CROSS JOIN LATERAL unnest(to_tsvector(c.config, w.word)) AS l GROUP BY w.word, c.config"
        ),
        {"words": words, "configs": configs},
    )
    found: dict[str, dict[str, frozenset[str]]] = {}
    for word, config, lexemes in rows:
        found.setdefault(word, {})[config] = frozenset(lexemes)
    return [Term(word, by_config) for word, by_config in found.items()]


_stats: dict[str, tuple[float, Frequencies]] = {}


def _frequencies(conn: Connection) -> Frequencies:
    """How common each lexeme is, from the statistics PostgreSQL keeps for its planner (refreshed by
    autovacuum's ANALYZE), read at most once a minute per process."""
    key = str(conn.engine.url)
    cached = _stats.get(key)
    if cached is not None and time.monotonic() - cached[0] < STATS_SECONDS:
        return cached[1]
    row = conn.execute(
        text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'chunks' AND attname = 'tsv'"
        )
    ).first()
    found = Frequencies.from_stats(*(row or (None, None)))
    _stats[key] = (time.monotonic(), found)
    return found


def tsquery_any(lexemes: Sequence[str]) -> str:
    """A tsquery matching any of ``lexemes``, each quoted as a literal (the question's own quotes,
    ampersands, colons and backslashes are never tsquery syntax)."""
    return " | ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)


def _candidates(conn: Connection, tenant_id: str, document_id: str | None, vector: np.ndarray,
                selective: list[str], by_config: dict[str, list[str]]) -> list[Candidate]:  # fmt: skip
    """The chunks of the nearest windows and of the best word matches, with both signals measured.

    A chunk's ``present`` lexemes are the question's words as its own language stems them (an English
    "per" is not the Italian "pere" stemmed).
    """
    one_window = " AND w.document_id = :document" if document_id else ""
    one_chunk = " AND c.document_id = :document" if document_id else ""
    sources = [
        "(SELECT w.chunk_id FROM windows w WHERE w.tenant_id = :tenant" + one_window
        + " ORDER BY w.embedding <=> CAST(:vector AS vector) LIMIT :dense_n)"
    ]  # fmt: skip
    if selective:
        sources.append(
            "(SELECT c.id FROM chunks c WHERE c.tenant_id = :tenant AND c.tsv @@ CAST(:words AS tsquery)"
            + one_chunk + " ORDER BY ts_rank(c.tsv, CAST(:words AS tsquery)) DESC LIMIT :lexical_n)"
        )  # fmt: skip
    statement = text(
        "WITH candidates AS (" + " UNION ".join(sources) + ") "
        "SELECT c.id, c.ts_config::text, "
        "       (SELECT max(1 - (w.embedding <=> CAST(:vector AS vector))) FROM windows w "
        "              WHERE w.chunk_id = c.id) AS dense, "
        "       ARRAY(SELECT unnest(tsvector_to_array(c.tsv)) INTERSECT "
        "             SELECT jsonb_array_elements_text(CAST(:lexemes AS jsonb) -> c.ts_config::text)) "
        "FROM chunks c JOIN documents d ON d.id = c.document_id "
        "WHERE c.id IN (SELECT chunk_id FROM candidates) AND d.status = 'ready'"
    ).bindparams(bindparam("vector", type_=VECTOR))
    rows = conn.execute(statement, {
        "tenant": tenant_id, "document": document_id, "vector": vector, "dense_n": DENSE_CANDIDATES,
        "lexical_n": LEXICAL_CANDIDATES, "words": tsquery_any(selective), "lexemes": json.dumps(by_config),
    })  # fmt: skip
    return [Candidate(chunk_id, float(dense or 0.0), config, frozenset(present))
            for chunk_id, config, dense, present in rows]  # fmt: skip


def _hits(conn: Connection, chosen: list[tuple[int, float]], vector: np.ndarray,
          by_config: dict[str, list[str]], matched: set[int]) -> list[Hit]:  # fmt: skip
    """The chosen chunks as results, in order: passage, pages, file name and snippet."""
    if not chosen:
        return []
    statement = text(
        "SELECT c.id, c.document_id, d.filename, c.chunk_index, c.page_start, c.page_end, c.text, "
        "       CASE WHEN c.id = ANY(:matched) THEN ts_headline(c.ts_config, c.text, "
        "            CAST(CAST(:queries AS jsonb) ->> c.ts_config::text AS tsquery), :options) END, "
        "       (SELECT ARRAY[w.char_start, w.char_end] FROM windows w WHERE w.chunk_id = c.id "
        "        ORDER BY w.embedding <=> CAST(:vector AS vector) LIMIT 1) "
        "FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(:ids)"
    ).bindparams(bindparam("vector", type_=VECTOR))
    rows = {row[0]: row for row in conn.execute(statement, {
        "ids": [chunk_id for chunk_id, _ in chosen], "matched": sorted(matched), "vector": vector,
        "options": snippets.HEADLINE_OPTIONS,
        "queries": json.dumps({config: tsquery_any(lexemes) for config, lexemes in by_config.items()}),
    })}  # fmt: skip
    return [_hit(rows[chunk_id], score) for chunk_id, score in chosen if chunk_id in rows]


def _hit(row: Any, score: float) -> Hit:
    _id, document_id, filename, chunk_index, page_start, page_end, passage, headline, window = row
    marked, spans = snippets.unmark(headline or "")
    if spans and marked == passage:
        snippet, highlights = snippets.around_matches(passage, spans)
    else:
        start, end = window or (0, len(passage))
        snippet, highlights = snippets.around(passage, start, end), []
    return Hit(document_id=document_id, filename=filename, chunk_index=chunk_index, page_start=page_start,
               page_end=page_end, text=passage, snippet=snippet, score=round(score, 4),
               highlights=highlights)  # fmt: skip

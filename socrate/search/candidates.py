"""Gathering the passages worth scoring: the question's lexemes, the chunks with its rare words, the
chunks of its nearest windows, and both signals measured on each (SQL; ``service`` drives it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, text

from socrate.db.models import Window
from socrate.search import passages
from socrate.search.fusion import Candidate, Frequencies, Term
from socrate.search.passages import tsquery_any

MAX_WORDS = 32
DENSE_CANDIDATES = 40  # nearest windows (several may belong to one chunk)
LEXICAL_CANDIDATES = 40  # chunks with the most of the rare words
RANKED_MATCHES = 400  # word matches ranked at most
EXACT_WINDOWS = 3_000  # up to this many windows a scope is scanned exactly rather than through HNSW
STATS_SECONDS = 60.0
WINDOWS_PER_CHUNK = 6  # a full chunk's windows (the scope's size is estimated from its chunk count)


@dataclass(frozen=True)
class Scope:
    """What one search reads: a tenant's ready documents (or one of them), their languages and size."""

    tenant_id: str
    document_id: str | None
    languages: list[str | None]
    chunks: int

    @property
    def windows(self) -> int:
        return self.chunks * WINDOWS_PER_CHUNK


def terms(conn: Connection, query: str, configs: list[str]) -> list[Term]:
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


def frequencies(conn: Connection) -> Frequencies:
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


def by_words(
    conn: Connection, where: Scope, selective: list[str], lexemes: str
) -> dict[int, tuple[str, list[str]]]:
    """Chunks with the most of the question's rare words: id -> (configuration, lexemes present).

    At most RANKED_MATCHES matches are ranked, so a word that turns out common in this tenant costs a
    bounded amount.
    """
    one = " AND c.document_id = :document" if where.document_id else ""
    statement = text(
        f"SELECT m.id, m.ts_config::text, tsvector_to_array({passages.only_lexemes('m', 'lexemes')}) "
        "FROM (SELECT c.id, c.ts_config, c.tsv FROM chunks c "
        f"      WHERE c.tenant_id = :tenant{one} AND c.tsv @@ CAST(:words AS tsquery) "
        "      LIMIT :matches) m "
        "ORDER BY ts_rank(m.tsv, CAST(:words AS tsquery)) DESC LIMIT :lexical_n"
    )
    rows = conn.execute(statement, {
        "tenant": where.tenant_id, "document": where.document_id, "words": tsquery_any(selective),
        "matches": RANKED_MATCHES, "lexical_n": LEXICAL_CANDIDATES, "lexemes": lexemes,
    })  # fmt: skip
    return {chunk_id: (config, present) for chunk_id, config, present in rows}


def by_vector(
    conn: Connection,
    where: Scope,
    vector: NDArray[np.float32],
    worded: dict[int, tuple[str, list[str]]],
    lexemes: str,
) -> list[Candidate]:
    """The chunks of the nearest windows joined to the word matches, each with its best window's cosine
    similarity and (for chunks not met yet) the question's lexemes it contains in its own language
    (an English "per" is not the Italian "pere" stemmed)."""
    nearest = (_NEAREST_IN_DOCUMENT if where.document_id else
               _NEAREST_EXACT if where.windows <= EXACT_WINDOWS else _NEAREST_HNSW)  # fmt: skip
    statement = text(
        f"WITH pool AS (({nearest}) UNION SELECT unnest(CAST(:known AS bigint[]))) "
        "SELECT c.id, c.ts_config::text, "
        "       (SELECT max(1 - (w.embedding <=> CAST(:vector AS vector))) FROM windows w "
        "        WHERE w.tenant_id = :tenant AND w.chunk_id = c.id), "
        f"       CASE WHEN c.id = ANY(CAST(:known AS bigint[])) THEN NULL ELSE {_PRESENT} END "
        "FROM chunks c WHERE c.tenant_id = :tenant AND c.id IN (SELECT chunk_id FROM pool)"
    ).bindparams(bindparam("vector", type_=Window.embedding.type))
    rows = conn.execute(statement, {
        "tenant": where.tenant_id, "document": where.document_id, "vector": vector,
        "dense_n": DENSE_CANDIDATES, "known": list(worded), "lexemes": lexemes,
    })  # fmt: skip
    return [Candidate(chunk_id, float(dense or 0.0), config,
                      frozenset(present if present is not None else worded[chunk_id][1]))
            for chunk_id, config, dense, present in rows]  # fmt: skip


# The question's lexemes (as the chunk's own configuration makes them) that the chunk contains.
_PRESENT = f"tsvector_to_array({passages.only_lexemes('c', 'lexemes')})"
# The nearest windows: the HNSW graph of the tenant's partition (on half-precision copies: half the
# index) with pgvector's iterative scans; an exact scan of the scope's own rows when it is small, where
# walking a graph shared with other tenants to find its few vectors costs more.
_NEAREST_HNSW = (
    "SELECT w.chunk_id FROM windows w WHERE w.tenant_id = :tenant "
    "ORDER BY CAST(w.embedding AS halfvec(384)) <=> CAST(:vector AS halfvec(384)) LIMIT :dense_n"
)
_NEAREST_EXACT = (
    "SELECT own.chunk_id FROM (SELECT w.chunk_id, w.embedding FROM windows w WHERE w.tenant_id = :tenant "
    "OFFSET 0) own ORDER BY own.embedding <=> CAST(:vector AS vector) LIMIT :dense_n"
)
_NEAREST_IN_DOCUMENT = _NEAREST_EXACT.replace(
    "WHERE w.tenant_id = :tenant", "WHERE w.tenant_id = :tenant AND w.document_id = :document"
)

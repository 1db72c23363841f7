"""The chosen passages as results: text, pages, file name, and a snippet with the matched words marked.

Marking words is the database's job (``ts_headline`` in the chunk's own configuration, so stems and
accents match as they did in the index), but it parses whatever text it is given, and a chunk is
~6,000 characters. So the chunk's tsvector first says where the question's words are (their word
positions), the snippet's region is picked around the densest cluster of them, and only that region
(~1,000 characters) is marked; if the estimate missed (positions count hyphenated parts as words),
the whole chunk is. A passage whose question words are all too common to mark is cut where they are,
unmarked; one without any of them gets the middle of its best window.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, text

from socrate.db.models import Window
from socrate.search import snippets
from socrate.search.snippets import Span


def only_lexemes(chunk: str, parameter: str) -> str:
    """SQL for the tsvector of ``chunk`` (a table alias) reduced to the lexemes listed for its configuration
    in the jsonb parameter ``parameter`` (``{config: [lexeme, ...]}``): they are given weight A and
    everything else filtered out, one pass over the tsvector (probing lexeme by lexeme would unpack it
    each time)."""
    listed = (
        f"ARRAY(SELECT jsonb_array_elements_text(CAST(:{parameter} AS jsonb) -> {chunk}.ts_config::text))"
    )
    return f"ts_filter(setweight({chunk}.tsv, 'A', {listed}), '{{a}}')"


_PASSAGES = text(
    "SELECT c.id, c.document_id, d.filename, c.chunk_index, c.page_start, c.page_end, c.text, best.span, "
    f"      ARRAY(SELECT p FROM unnest({only_lexemes('c', 'marked')}) u, unnest(u.positions) p ORDER BY p), "
    f"      ARRAY(SELECT p FROM unnest({only_lexemes('c', 'located')}) u, unnest(u.positions) p ORDER BY p) "
    "FROM chunks c JOIN documents d ON d.id = c.document_id "
    "CROSS JOIN LATERAL (SELECT ARRAY[w.char_start, w.char_end] AS span FROM windows w "
    "      WHERE w.tenant_id = :tenant AND w.chunk_id = c.id "
    "      ORDER BY w.embedding <=> CAST(:vector AS vector) LIMIT 1) best "
    "WHERE c.tenant_id = :tenant AND c.id = ANY(:ids)"
).bindparams(bindparam("vector", type_=Window.embedding.type))
_HEADLINES = text(
    "SELECT c.id, r.lo, ts_headline(c.ts_config, substr(c.text, r.lo + 1, r.hi - r.lo), "
    "       CAST(CAST(:queries AS jsonb) ->> c.ts_config::text AS tsquery), :options) "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:los AS int[]), CAST(:his AS int[])) AS r(id, lo, hi) "
    "JOIN chunks c ON c.id = r.id WHERE c.tenant_id = :tenant"
)


def tsquery_any(lexemes: list[str]) -> str:
    """A tsquery matching any of ``lexemes``, each quoted as a literal (the question's own quotes,
    ampersands, colons and backslashes are never tsquery syntax)."""
    return " | ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)


def fetch(conn: Connection, tenant_id: str, chosen: list[tuple[int, float]], vector: NDArray[np.float32],
          marked: dict[str, list[str]], located: dict[str, list[str]],
          ) -> list[tuple[Any, float, str, list[Span]]]:  # fmt: skip
    """(row, score, snippet, highlights) for each chosen chunk, in order; ``marked`` are the lexemes to
    highlight, ``located`` all of the question's, by configuration. A row is (id, document id, filename,
    chunk index, page start, page end, text, best window span, marked positions, located positions).

    A passage whose question words are all too common to mark still gets its snippet where they are,
    unmarked; one without any gets the middle of its best window."""
    if not chosen:
        return []
    params = {"tenant": tenant_id, "ids": [chunk_id for chunk_id, _ in chosen], "vector": vector,
              "marked": json.dumps(marked), "located": json.dumps(located)}  # fmt: skip
    rows = {row[0]: row for row in conn.execute(_PASSAGES, params)}
    regions = {i: snippets.region(row[6], row[8]) for i, row in rows.items() if row[8]}
    found = _marked(conn, tenant_id, regions, marked, rows)
    missed = {i: (0, len(rows[i][6])) for i in regions if i not in found}
    found.update(_marked(conn, tenant_id, missed, marked, rows))  # the estimate missed: mark it all
    results = []
    for chunk_id, score in chosen:
        if chunk_id not in rows:
            continue
        row = rows[chunk_id]
        if chunk_id in found:
            snippet, spans = snippets.around_matches(row[6], found[chunk_id])
        elif row[9]:
            snippet, spans = snippets.around_words(row[6], row[9]), []
        else:
            snippet, spans = snippets.around(row[6], *row[7]), []
        results.append((row, score, snippet, spans))
    return results


def _marked(conn: Connection, tenant_id: str, regions: dict[int, Span], marked: dict[str, list[str]],
            rows: dict[int, Any]) -> dict[int, list[Span]]:  # fmt: skip
    """Marked words of each chunk's region, as spans of the whole passage (chunks without marks left out)."""
    if not regions:
        return {}
    queries = json.dumps({config: tsquery_any(lexemes) for config, lexemes in marked.items()})
    ids = list(regions)
    found = {}
    bounds = {"los": [regions[i][0] for i in ids], "his": [regions[i][1] for i in ids]}
    for chunk_id, lo, headline in conn.execute(_HEADLINES, {
        "tenant": tenant_id, "ids": ids, **bounds, "queries": queries, "options": snippets.HEADLINE_OPTIONS,
    }):  # fmt: skip
        clean, spans = snippets.unmark(headline)
        if spans and clean == rows[chunk_id][6][lo : lo + len(clean)]:
            found[chunk_id] = [(a + lo, b + lo) for a, b in spans]
    return found

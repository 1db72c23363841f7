"""How a passage's score is made from its two signals, and which passages are worth showing.

Pure functions over what the database returned (so they are tested without one):
- ``dense``: the best cosine similarity between the question and one of the chunk's windows;
- ``lexical``: which of the question's words the chunk contains, each word weighted by how rare its
  lexemes are in the whole library (PostgreSQL's own ``pg_stats`` estimate of the ``tsv`` column).
The fused score is a fixed mix of the two, in [0, 1] (``bench.search_quality`` compares it with
reciprocal rank fusion of the same two rankings). A passage is shown if it clears an absolute floor
and is not far below the best passage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DENSE_WEIGHT = 0.5  # the rest is lexical
MIN_SCORE = 0.15  # unrelated questions score ~0.1 (bench.search_quality)
RELATIVE_FLOOR = 0.5  # "far below the best one": under half its score
# A lexeme fetches candidates only if the tenant is expected to have about this many chunks with it.
WORD_MATCHES = 200
MARKED_SHARE = 0.05  # words in more than 5 % of all chunks are not highlighted in snippets


@dataclass(frozen=True)
class Term:
    """One word of the question and the lexemes it becomes in each of the tenant's languages."""

    word: str
    by_config: Mapping[str, frozenset[str]]

    @property
    def lexemes(self) -> frozenset[str]:
        return frozenset().union(*self.by_config.values())


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    dense: float
    config: str  # the chunk's text search configuration (its document's language)
    present: frozenset[str]  # the question's lexemes, as that configuration makes them, found in the chunk


@dataclass(frozen=True)
class Frequencies:
    """Estimated share of chunks containing a lexeme; lexemes not listed are rarer than ``rare``."""

    common: Mapping[str, float]
    rare: float

    @classmethod
    def from_stats(cls, lexemes: Sequence[str] | None, shares: Sequence[float] | None) -> Frequencies:
        """From ``pg_stats.most_common_elems``/``most_common_elem_freqs`` (for a tsvector, two more
        shares follow: the minimum and the maximum); no statistics: every lexeme equally rare."""
        if not lexemes or not shares or len(shares) < len(lexemes) + 2:
            return cls({}, 0.001)
        return cls(dict(zip(lexemes, shares, strict=False)), shares[len(lexemes)] / 2)

    def share(self, lexeme: str) -> float:
        return max(1e-6, self.common.get(lexeme, self.rare))

    def weight(self, lexeme: str) -> float:
        """Inverse document frequency: rare words say more about a passage than common ones."""
        return math.log(1 + 1 / self.share(lexeme))


def lexemes_by_config(terms: Sequence[Term]) -> dict[str, list[str]]:
    """Every lexeme of the question, grouped by the configuration that made it."""
    grouped: dict[str, set[str]] = {}
    for term in terms:
        for config, lexemes in term.by_config.items():
            grouped.setdefault(config, set()).update(lexemes)
    return {config: sorted(lexemes) for config, lexemes in grouped.items()}


def candidate_lexemes(terms: Sequence[Term], frequencies: Frequencies, chunks: int) -> list[str]:
    """Lexemes rare enough in a library of ``chunks`` chunks to fetch passages by (a common one would
    make the database rank thousands of chunks for almost no information; it still counts in
    ``lexical``)."""
    limit = WORD_MATCHES / max(1, chunks)
    return sorted({lex for term in terms for lex in term.lexemes if frequencies.share(lex) <= limit})


def lexical(candidate: Candidate, terms: Sequence[Term], frequencies: Frequencies) -> float | None:
    """Weighted share of the question's words the passage contains, in [0, 1], judged in the passage's
    own language (its stop words do not count); None when every word is a stop word there."""
    total = found = 0.0
    for term in terms:
        lexemes = term.by_config.get(candidate.config)
        if not lexemes:
            continue
        weights = {lex: frequencies.weight(lex) for lex in lexemes}
        total += max(weights.values())
        found += max((weights[lex] for lex in lexemes & candidate.present), default=0.0)
    return found / total if total else None


def fused(candidate: Candidate, terms: Sequence[Term], frequencies: Frequencies) -> float:
    words = lexical(candidate, terms, frequencies)
    if words is None:  # nothing but stop words: meaning is all there is
        return max(0.0, candidate.dense)
    return max(0.0, DENSE_WEIGHT * candidate.dense + (1 - DENSE_WEIGHT) * words)


def best(scores: Mapping[int, float], k: int) -> list[tuple[int, float]]:
    """The ``k`` best (chunk id, score) pairs that clear the floor and are not far below the top one."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    if not ranked:
        return []
    floor = max(MIN_SCORE, ranked[0][1] * RELATIVE_FLOOR)
    return [(chunk_id, score) for chunk_id, score in ranked[:k] if score >= floor]

"""Words: BM25 over whole chunks, and snippets with the matching words marked.

The vector index blurs names, codes and rare words, and all-MiniLM-L6-v2 is weak outside English;
exact (accent-folded, prefix-stemmed) word matches over the full 1200-token chunk make up for both.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

WORD = re.compile(r"\w+")
SENTENCE_BREAK = re.compile(r"(?<=[.!?;:])\s+|\n+")
STEM_CHARS = 5  # "launched"/"launch", "codici"/"codice" meet at five letters, in English and Italian
K1, B = 1.2, 0.75
PRIOR_CHUNKS = 20  # pseudo-chunks without the term: keeps idf meaningful for a tenant with one chunk
SNIPPET_CHARS = 320
# fmt: off
STOPWORDS = frozenset(
    [
        # English
        "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "from", "by", "with", "is", "are",
        "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "what", "which",
        "who", "whom", "whose", "how", "when", "where", "why", "do", "does", "did", "has", "have", "had",
        "not", "no", "as", "but", "if", "than", "then", "there", "so", "can", "will", "would", "should",
        "could", "about", "into", "over", "under", "i", "you", "he", "she", "we", "they", "me", "my", "our",
        "your", "their", "his", "her", "them", "us", "any", "all", "some", "one", "s", "t", "d", "ll", "re",
        "ve", "m",
        # Italian (accents folded)
        "il", "lo", "la", "l", "i", "gli", "le", "un", "una", "uno", "di", "del", "dello", "della", "dei",
        "degli", "delle", "da", "dal", "dallo", "dalla", "dai", "dagli", "dalle", "in", "nel", "nello",
        "nella", "nei", "negli", "nelle", "con", "su", "sul", "sullo", "sulla", "sui", "sugli", "sulle",
        "per", "tra", "fra", "e", "ed", "o", "a", "ad", "al", "allo", "alla", "ai", "agli", "alle", "che",
        "chi", "cui", "non", "sono", "era", "erano", "come", "quale", "quali", "quanto", "quanta", "quando",
        "dove", "perche", "cosa", "si", "ci", "mi", "ti", "vi", "ne", "anche", "ma", "se", "piu", "c", "qual",
    ]
)
# fmt: on


def fold(text: str) -> str:
    """Lower case without accents: "Città" and "citta" are the same word to a searcher."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """Crude but language-neutral: the first letters of a folded word; codes and numbers stay whole."""
    if len(word) <= STEM_CHARS or any(ch.isdigit() for ch in word):
        return word
    return word[:STEM_CHARS]


def terms(text: str) -> list[str]:
    """The searchable terms of ``text``, in order (stop words dropped)."""
    return [stem(word) for word in WORD.findall(fold(text)) if word not in STOPWORDS]


@dataclass(frozen=True)
class LexicalIndex:
    """One document's chunks as postings: term -> (chunk numbers, counts)."""

    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    lengths: np.ndarray

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        counts = [Counter(terms(text)) for text in texts]
        gathered: dict[str, tuple[list[int], list[int]]] = {}
        for chunk, counter in enumerate(counts):
            for term, tf in counter.items():
                chunks, tfs = gathered.setdefault(term, ([], []))
                chunks.append(chunk)
                tfs.append(tf)
        postings = {
            t: (np.array(c, dtype="int32"), np.array(f, dtype="float32")) for t, (c, f) in gathered.items()
        }
        return cls(postings, np.array([sum(c.values()) for c in counts], dtype="float32"))

    @property
    def nbytes(self) -> int:
        """Roughly what it costs in memory (for the cache's byte bound)."""
        return self.lengths.nbytes + sum(
            120 + len(t) + c.nbytes + f.nbytes for t, (c, f) in self.postings.items()
        )


def bm25(indexes: list[LexicalIndex], query_terms: list[str]) -> list[np.ndarray]:
    """Per index, each chunk's BM25 over the union of all chunks, scaled to [0, 1].

    The scale is the query's total idf (absent words count too), so 1 means every query word
    occurs at a typical rate and a chunk matching only common words stays near 0, whatever the
    query's length or the size of the tenant's library.
    """
    scores = [np.zeros(len(index.lengths), dtype="float32") for index in indexes]
    unique = sorted(set(query_terms))
    n_chunks = sum(len(index.lengths) for index in indexes)
    if not unique or not n_chunks:
        return scores
    avg_length = max(1.0, float(sum(index.lengths.sum() for index in indexes)) / n_chunks)
    total_idf = 0.0
    for term in unique:
        df = sum(len(index.postings[term][0]) for index in indexes if term in index.postings)
        idf = math.log(1 + (n_chunks + PRIOR_CHUNKS - df + 0.5) / (df + 0.5))
        total_idf += idf
        for index, score in zip(indexes, scores, strict=True):
            if term in index.postings:
                chunks, tf = index.postings[term]
                norm = K1 * (1 - B + B * index.lengths[chunks] / avg_length)
                score[chunks] += idf * tf * (K1 + 1) / (tf + norm)
    return [np.minimum(1.0, score / total_idf) for score in scores]


def matches(text: str, query_terms: list[str]) -> list[tuple[int, int]]:
    """[start, end) spans of the words of ``text`` that match a query term."""
    wanted = set(query_terms)
    return [(m.start(), m.end()) for m in WORD.finditer(text) if stem(fold(m.group())) in wanted]


def snippet(text: str, focus: tuple[int, int], query_terms: list[str]) -> str:
    """The sentence with the most query words (or the centre of ``focus``, the best-matching
    window), widened with its neighbours to about ``SNIPPET_CHARS`` characters."""
    sentences = _sentences(text)
    middle = (focus[0] + focus[1]) // 2
    wanted = set(query_terms)

    def rank(span: tuple[int, int]) -> tuple[int, bool, int]:
        found = {stem(fold(w)) for w in WORD.findall(text[span[0] : span[1]])} & wanted
        inside = focus[0] <= span[0] and span[1] <= focus[1]
        return len(found), inside, -abs((span[0] + span[1]) // 2 - middle)

    best = max(range(len(sentences)), key=lambda i: rank(sentences[i]))
    first = last = best
    while sentences[last][1] - sentences[first][0] < SNIPPET_CHARS * 0.6:
        if last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= SNIPPET_CHARS:
            last += 1
        elif first > 0 and sentences[last][1] - sentences[first - 1][0] <= SNIPPET_CHARS:
            first -= 1
        else:
            break
    start, end = sentences[first][0], sentences[last][1]
    if end - start > SNIPPET_CHARS:  # one very long "sentence" (text without punctuation): cut around a match
        hits = matches(text[start:end], query_terms)
        centre = start + (hits[0][0] if hits else (end - start) // 2)
        start = max(start, centre - SNIPPET_CHARS // 3)
        end = min(end, start + SNIPPET_CHARS)
        return _trim_words(text, start, end)
    return text[start:end].strip()


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for found in SENTENCE_BREAK.finditer(text):
        if found.start() > start:
            spans.append((start, found.start()))
        start = found.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def _trim_words(text: str, start: int, end: int) -> str:
    """``text[start:end]`` without half words at the cut ends, marked with an ellipsis."""
    piece = text[start:end]
    if start > 0 and " " in piece:
        piece = "…" + piece.split(" ", 1)[1]
    if end < len(text) and " " in piece:
        piece = piece.rsplit(" ", 1)[0] + "…"
    return piece.strip()

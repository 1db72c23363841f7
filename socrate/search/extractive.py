"""The answer without a model: the best passage's sentences that share the most words with the question.

Used when no LLM_BASE_URL is set (the product stays useful offline) and whenever the model fails. Words
are compared by their first five letters without accents, so "encoded" finds "encoding" and "città"
finds "citta"; a word counts for less the more sentences of the passage contain it.
"""

from __future__ import annotations

import math
import re
import unicodedata

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*\n")
WORD = re.compile(r"\w+")
MAX_SENTENCES = 3
MAX_CHARS = 600
STEM = 5


def stems(text: str) -> set[str]:
    """Words of three letters or more, lower case, unaccented, cut to their first five letters."""
    flat = unicodedata.normalize("NFKD", text.lower())
    flat = "".join(c for c in flat if not unicodedata.combining(c))
    return {word[:STEM] for word in WORD.findall(flat) if len(word) >= 3 and not word.isdigit()}


def sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in SENTENCE_END.split(text) if s.strip()]


def answer(question: str, passage: str) -> str | None:
    """Up to three of the passage's sentences that best match the question (each at least half as well
    as the best one), in their own order, at most ~600 characters; None when no sentence shares a word
    with the question."""
    wanted = stems(question)
    found = sentences(passage)
    words = [stems(s) & wanted for s in found]
    spread = {w: sum(w in ws for ws in words) for w in wanted}
    scores = [sum(1 / math.sqrt(spread[w]) for w in ws) for ws in words]
    best = max(scores, default=0.0)
    ranked = sorted(
        (i for i, s in enumerate(scores) if s > 0 and s >= best / 2), key=lambda i: (-scores[i], i)
    )
    chosen: list[int] = []
    length = 0
    for i in ranked[:MAX_SENTENCES]:
        if chosen and length + len(found[i]) > MAX_CHARS:
            break
        chosen.append(i)
        length += len(found[i]) + 1
    if not chosen:
        return None
    text = " ".join(found[i] for i in sorted(chosen))
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"

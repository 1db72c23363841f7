"""Snippets: a short stretch of the passage around what matched, with the matched words' spans.

With a word match the database marks every matched word (``ts_headline`` with the chunk's own
language configuration, so stems and accents match as they did in the index; the marks are two
private-use characters that extraction removes from every text) and the snippet is the stretch with
the most distinct matched words, centred on them. Without one, it is the middle of the chunk's
best-matching window. Either way it starts and ends on word boundaries, with an ellipsis where it
cuts the passage.
"""

from __future__ import annotations

import re

from socrate.processing.extract import HIGHLIGHT_MARKS

START, STOP = HIGHLIGHT_MARKS[0], HIGHLIGHT_MARKS[1]
SNIPPET_CHARS = 320
HEADLINE_OPTIONS = f'HighlightAll=true, StartSel="{START}", StopSel="{STOP}"'
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\S+")
_MARK = re.compile(f"[{START}{STOP}]")

Span = tuple[int, int]


def unmark(marked: str) -> tuple[str, list[Span]]:
    """The text without marks and the [start, end) spans that were marked."""
    clean: list[str] = []
    spans: list[Span] = []
    length, opened, at = 0, None, 0
    for mark in _MARK.finditer(marked):
        clean.append(marked[at : mark.start()])
        length += mark.start() - at
        at = mark.end()
        if mark.group() == START:
            opened = length
        elif opened is not None:
            spans.append((opened, length))
            opened = None
    clean.append(marked[at:])
    return "".join(clean), spans


def region(text: str, positions: list[int]) -> Span:
    """Where to mark words: about three snippets' worth of text around the densest cluster of the
    matched words' positions (word numbers, as in a tsvector; whitespace-separated words approximate
    them: a hyphenated word counts its parts too, hence the margin)."""
    first, _last = _densest(text, positions)
    return max(0, first - SNIPPET_CHARS), min(len(text), first + 2 * SNIPPET_CHARS)


def around_words(text: str, positions: list[int]) -> str:
    """The snippet centred on the densest cluster of the words at ``positions``, nothing marked."""
    return around(text, *_densest(text, positions))


def _densest(text: str, positions: list[int]) -> Span:
    """Character offsets of the first and last word of the densest SNIPPET_CHARS-long cluster."""
    starts = [m.start() for m in _WORD.finditer(text)] or [0]
    offsets = sorted(starts[min(max(p, 1), len(starts)) - 1] for p in positions)
    best = max(
        range(len(offsets)), key=lambda i: sum(offsets[i] <= o < offsets[i] + SNIPPET_CHARS for o in offsets)
    )
    inside = [o for o in offsets if offsets[best] <= o < offsets[best] + SNIPPET_CHARS]
    return inside[0], inside[-1]


def around_matches(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """The ``SNIPPET_CHARS`` stretch holding the most distinct matched words, centred on them."""
    if not spans:
        return around(text, 0, len(text)), []

    def words_in(first: int) -> tuple[int, int]:
        inside = [s for s in spans[first:] if s[1] <= spans[first][0] + SNIPPET_CHARS]
        return len({text[a:b].lower() for a, b in inside}), len(inside)

    first = max(range(len(spans)), key=lambda i: (words_in(i), -i))
    inside = [s for s in spans[first:] if s[1] <= spans[first][0] + SNIPPET_CHARS]
    lo, hi = _cut(text, (inside[0][0] + inside[-1][1]) // 2)
    snippet, offset = _with_ellipses(text, lo, hi)
    return snippet, [(a - lo + offset, b - lo + offset) for a, b in spans if lo <= a and b <= hi]


def around(text: str, start: int, end: int) -> str:
    """About ``SNIPPET_CHARS`` characters from the middle of text[start:end], cut at word boundaries."""
    lo, hi = _cut(text, (start + end) // 2)
    return _with_ellipses(text, lo, hi)[0]


def _cut(text: str, middle: int) -> Span:
    """[lo, hi) of about ``SNIPPET_CHARS`` around ``middle``, moved inward to word boundaries."""
    lo = max(0, min(middle - SNIPPET_CHARS // 2, len(text) - SNIPPET_CHARS))
    hi = min(len(text), lo + SNIPPET_CHARS)
    if lo > 0 and (space := _SPACE.search(text, lo, hi)):
        lo = space.end()
    if hi < len(text) and (breaks := [m.start() for m in _SPACE.finditer(text, lo, hi)]):
        hi = breaks[-1]
    return lo, hi


def _with_ellipses(text: str, lo: int, hi: int) -> tuple[str, int]:
    """text[lo:hi] with an ellipsis on each cut side, and how far the first character moved."""
    head = ELLIPSIS if text[:lo].strip() else ""
    tail = ELLIPSIS if text[hi:].strip() else ""
    piece = text[lo:hi]
    stripped = piece.lstrip()
    return head + stripped.rstrip() + tail, len(head) - (len(piece) - len(stripped))

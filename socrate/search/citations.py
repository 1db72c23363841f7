"""Citation markers in an answer, and how a passage's source is named.

A model cites passages as ``[1]``, ``[2]`` (or ``[1, 2]``); it may also invent ``[7]`` when it was
given five. ``clean`` drops markers that name no passage, and ``Filter`` does the same while the answer
streams: a marker split across two deltas is held back until it closes, so what was streamed and what
is returned at the end are the same text.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"(\s*)\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_HOLD = re.compile(r"\s*(\[[\d,;\s]{0,16})?$")  # trailing blanks and a marker that may still close


def clean(text: str, count: int) -> str:
    """``text`` without the markers (or the numbers in them) outside 1..``count``."""

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(2))]
        valid = [n for n in numbers if 1 <= n <= count]
        if not valid:
            return ""
        if len(valid) == len(numbers):
            return match.group(0)
        return match.group(1) + "".join(f"[{n}]" for n in valid)

    return MARKER.sub(keep, text)


def cited(text: str) -> list[int]:
    """The passage numbers ``text`` cites, in order of first use."""
    seen: dict[int, None] = {}
    for match in MARKER.finditer(text):
        for n in re.split(r"\s*[,;]\s*", match.group(2)):
            seen.setdefault(int(n), None)
    return list(seen)


class Filter:
    """``clean`` for a stream of text deltas: feed each delta, then flush at the end."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pending = ""

    def feed(self, delta: str) -> str:
        self.pending += delta
        hold = _HOLD.search(self.pending)
        cut = hold.start() if hold else len(self.pending)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return clean(ready, self.count)

    def flush(self) -> str:
        ready, self.pending = self.pending, ""
        return clean(ready, self.count)


def pages(page_start: int | None, page_end: int | None) -> str:
    """ "p. 12", "p. 12–13", or "" for files without pages."""
    if page_start is None:
        return ""
    if page_end is None or page_end == page_start:
        return f"p. {page_start}"
    return f"p. {page_start}–{page_end}"


def source(filename: str, page_start: int | None, page_end: int | None) -> str:
    """How people see where a passage comes from: "report.pdf · p. 12–13" (or just the file name)."""
    where = pages(page_start, page_end)
    return f"{filename} · {where}" if where else filename

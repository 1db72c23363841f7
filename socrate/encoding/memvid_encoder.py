"""The only module that imports memvid: encode chunks into a FAISS index + JSON metadata.

The model reads at most 256 word pieces, so memvid's one vector per chunk sees only its first ~250
tokens. Every chunk is also embedded as overlapping windows that cover all of it (the first window is
memvid's own vector, reused): the worker stores them in the database for search and, next to
memvid's files, as ``windows.npz`` so the document's portable memory holds them too.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any, cast

import memvid.config
import numpy as np
from memvid.index import IndexManager
from numpy.typing import NDArray
from sentence_transformers import SentenceTransformer

from socrate.encoding import (
    MEMVID_CHAR_LIMIT,
    Chunks,
    IndexHit,
    Memory,
    Progress,
    Windows,
    chunk_ranges,
    covering_spans,
    spread_windows,
)
from socrate.encoding.embedding import DIMENSIONS, Embedder, get_embedder

EMBED_BATCH = 8
STEM = "memory"
WINDOWS_FILE = "windows.npz"
WINDOW_OVERLAP = 48  # tokens shared by neighbouring windows: a sentence never falls between two


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
        self.batches: list[NDArray[np.float32]] = []

    def _generate_embeddings(self, chunks: list[str], show_progress: bool) -> NDArray[np.float32]:
        """memvid's own chunk vectors, kept: each is the first window of its chunk."""
        vectors: NDArray[np.float32] = super()._generate_embeddings(chunks, show_progress)
        self.batches.append(vectors)
        return vectors


class MemvidEncoder:
    name = "memvid"
    version = importlib.metadata.version("memvid")

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or get_embedder()
        memvid.config.EMBEDDING_MODEL = self.embedder.path  # memvid builds default configs from this global
        self.model: SentenceTransformer = self.embedder.model
        self.tokenizer = self.embedder.tokenizer

    def chunk(self, text: str, size: int, overlap: int) -> Chunks:
        """Chunks of ``size`` model tokens (the embedding model's own tokenizer) that memvid keeps whole
        (at most MEMVID_CHAR_LIMIT characters) and that together hold every visible character."""
        offsets = self._offsets(text)
        tokens = covering_spans(text, offsets, MEMVID_CHAR_LIMIT)
        spans = [
            (tokens[a][0], tokens[b - 1][1])
            for a, b in chunk_ranges(tokens, size, overlap, MEMVID_CHAR_LIMIT)
        ]
        return Chunks(texts=[text[a:b] for a, b in spans], spans=spans, total_tokens=len(offsets))

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
        windows = Windows(
            vectors=np.asarray(vectors, dtype="float32").reshape(-1, DIMENSIONS),
            chunk=np.asarray(owners, dtype="int32"),
            span=np.asarray(spans, dtype="int32").reshape(-1, 2),
        )
        with open(out_dir / WINDOWS_FILE, "wb") as handle:
            np.savez(handle, vectors=windows.vectors, chunk=windows.chunk, span=windows.span)
        return Memory(index_file=f"{STEM}.faiss", metadata_file=f"{STEM}.json", chunks=len(chunks),
                      windows=windows, windows_file=WINDOWS_FILE)  # fmt: skip

    def window_spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) character spans of the windows that cover ``text``, first one as memvid sees it."""
        tokens = covering_spans(text, self._offsets(text))
        if not tokens:
            return [(0, len(text))]
        return [
            (tokens[a][0], tokens[b - 1][1])
            for a, b in spread_windows(len(tokens), self.embedder.max_tokens, WINDOW_OVERLAP)
        ]

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return cast("list[tuple[int, int]]", encoded["offset_mapping"])

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        return self.embedder.embed(texts)

    def search(self, out_dir: Path, query: str, k: int) -> list[IndexHit]:
        """Plain memvid retrieval (bench.search_quality's baseline): nearest chunk vectors."""
        index = _SharedModelIndex(self.model)
        index.load(str(out_dir / STEM))
        query_vec = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        distances, ids = index.index.search(np.asarray(query_vec, dtype="float32"), k)
        return [
            IndexHit(chunk_index=int(i), score=float(1 - d / 2), text=index.metadata[i]["text"])
            for d, i in zip(distances[0], ids[0], strict=True)
            if i >= 0
        ]

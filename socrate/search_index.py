"""One document's search index, read from its encoder outputs, and the process-wide cache of them.

An index holds the chunk texts, one unit vector per window (``windows.npz``; documents encoded
before windows existed fall back to memvid's one vector per chunk) and the chunks' BM25 postings.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socrate.lexical import LexicalIndex
from socrate.storage import Storage


@dataclass(frozen=True)
class DocumentIndex:
    texts: list[str]
    vectors: np.ndarray  # (windows, dim) float32, unit length
    window_chunk: np.ndarray  # (windows,) chunk number of each window
    window_span: np.ndarray  # (windows, 2) [start, end) characters of each window in its chunk
    lexical: LexicalIndex

    @property
    def nbytes(self) -> int:
        """Approximate memory held, for the cache's byte bound."""
        arrays = self.vectors.nbytes + self.window_chunk.nbytes + self.window_span.nbytes
        return arrays + sum(49 + len(text) for text in self.texts) + self.lexical.nbytes


def local_file(storage: Storage, key: str) -> Path:
    """The single place index files are read from storage (S3: a local copy through its bounded cache)."""
    return storage.local_file(key)


def load(storage: Storage, outputs: dict[str, Any]) -> DocumentIndex:
    """Build a document's index from the output keys recorded on its row."""
    stored = json.loads(local_file(storage, outputs["metadata"]).read_text(encoding="utf-8"))["metadata"]
    texts = [item["text"] for item in sorted(stored, key=lambda item: item["id"])]
    if "windows" in outputs:
        with np.load(local_file(storage, outputs["windows"]), allow_pickle=False) as windows:
            vectors, chunk, span = windows["vectors"], windows["chunk"], windows["span"]
    else:
        vectors, chunk = _memvid_vectors(local_file(storage, outputs["index"]))
        span = np.array([(0, len(texts[i])) for i in chunk], dtype="int32").reshape(-1, 2)
    return DocumentIndex(texts, np.ascontiguousarray(vectors, dtype="float32"), chunk.astype("int32"),
                         span.astype("int32"), LexicalIndex.build(texts))  # fmt: skip


def _memvid_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """memvid's chunk vectors (each of a chunk's first ~250 tokens) and their chunk numbers."""
    import faiss

    index = faiss.read_index(str(path))
    flat = faiss.downcast_index(index.index)
    return flat.reconstruct_n(0, index.ntotal), faiss.vector_to_array(index.id_map)


@dataclass
class _Entry:
    tenant_id: str
    version: str
    index: DocumentIndex
    nbytes: int


class IndexCache:
    """Least-recently-used document indexes, bounded by bytes, shared by a process's threads.

    Entries are keyed by document id and checked against the run that produced the outputs, so a
    re-encoded document is reloaded; ``retain`` drops a tenant's documents that are gone or not ready.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(
        self, tenant_id: str, document_id: str, version: str, load: Callable[[], DocumentIndex]
    ) -> DocumentIndex:
        with self._lock:
            entry = self._entries.get(document_id)
            if entry is not None and entry.version == version and entry.tenant_id == tenant_id:
                self._entries.move_to_end(document_id)
                return entry.index
        index = load()  # outside the lock: other searches go on while a file is read
        with self._lock:
            self._drop(document_id)
            self._entries[document_id] = _Entry(tenant_id, version, index, index.nbytes)
            self._bytes += index.nbytes
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                self._drop(next(iter(self._entries)))
        return index

    def retain(self, tenant_id: str, live: set[str]) -> None:
        """Forget this tenant's cached documents that are no longer among ``live`` (deleted, re-queued)."""
        with self._lock:
            for document_id in [
                d for d, e in self._entries.items() if e.tenant_id == tenant_id and d not in live
            ]:
                self._drop(document_id)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, document_id: str) -> None:
        entry = self._entries.pop(document_id, None)
        if entry is not None:
            self._bytes -= entry.nbytes

"""Stand-ins for the expensive parts, for tests that exercise the code around them: an encoder that
writes memvid's two files and one window per chunk without loading a model, and a queue that keeps
what it was given instead of dispatching it."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from socrate.encoding import Chunks, Memory, Progress, Windows

CHUNK_CHARS = 100


class FakeEncoder:
    """Chunks of CHUNK_CHARS characters covering the whole text; progress reported per chunk."""

    name, version = "fake", "1"

    def chunk(self, text: str, size: int, overlap: int) -> Chunks:
        spans = [(start, min(start + CHUNK_CHARS, len(text))) for start in range(0, len(text), CHUNK_CHARS)]
        return Chunks(texts=[text[a:b] for a, b in spans], spans=spans, total_tokens=len(text.split()))

    def encode(self, chunks: list[str], out_dir: Path, progress: Progress) -> Memory:
        out_dir.mkdir(parents=True)
        (out_dir / "memory.faiss").write_bytes(uuid.uuid4().bytes)
        (out_dir / "memory.json").write_text("{}")
        for done in range(1, len(chunks) + 1):
            progress(done, len(chunks))
        vectors = np.zeros((len(chunks), 384), dtype="float32")
        vectors[:, 0] = 1.0
        spans = np.array([[0, len(text)] for text in chunks], dtype="int32")
        windows = Windows(vectors, np.arange(len(chunks), dtype="int32"), spans)
        return Memory(
            index_file="memory.faiss", metadata_file="memory.json", chunks=len(chunks), windows=windows
        )


class KeptQueue:
    """Records what would be sent so a test can run the worker's function itself."""

    def __init__(self) -> None:
        self.sent: list[tuple[object, ...]] = []

    def process_document(self, document_id: str, tenant_id: str, task_id: str) -> None:
        self.sent.append((document_id, tenant_id, task_id))

    def revoke(self, task_id: str, *, terminate: bool) -> None:
        self.sent.append(("revoke", task_id, terminate))

    def deliver_webhooks(self, tenant_id: str, delivery_ids: list[str]) -> None:
        self.sent.extend(("webhook", tenant_id, delivery_id) for delivery_id in delivery_ids)

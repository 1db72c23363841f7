"""Fill the search rows of documents encoded before search moved into the database.

Their outputs in storage already hold everything: memvid's JSON has the chunk texts and
``windows.npz`` the window vectors (documents older still have only memvid's one vector per chunk,
which becomes a single window covering the chunk). Each document is written in its own transaction,
so an interrupted run resumes where it stopped and a second run finds nothing left to do. Page
ranges are unknown for these documents; re-encoding one (``documents reprocess``) adds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from socrate.context import Context
from socrate.db import session_scope
from socrate.db.models import Chunk, Document
from socrate.documents.lifecycle import Status
from socrate.encoding import Windows
from socrate.search import store
from socrate.storage import Storage
from socrate.tenancy import get_owned


def pending(session: Session, tenant_id: str | None = None) -> list[tuple[str, str]]:
    """(tenant id, document id) of ready documents with stored outputs and no search rows, oldest first."""
    stmt = (
        select(Document.tenant_id, Document.id)
        .where(Document.status == Status.READY, Document.outputs.is_not(None))
        .where(~exists().where(Chunk.document_id == Document.id))
        .order_by(Document.created_at, Document.id)
    )
    if tenant_id is not None:
        stmt = stmt.where(Document.tenant_id == tenant_id)
    return [(row.tenant_id, row.id) for row in session.execute(stmt)]


def reindex_document(ctx: Context, tenant_id: str, document_id: str) -> int | None:
    """Write one document's rows from its outputs: the number of chunks, or None when it no longer needs
    it (deleted, re-queued, or indexed meanwhile). The row lock makes a concurrent re-encode wait."""
    with session_scope(ctx.sessions) as session:
        doc = get_owned(session, Document, document_id, tenant_id, for_update=True)
        indexed = session.scalar(select(exists().where(Chunk.document_id == doc.id)))
        if doc.status != Status.READY or not doc.outputs or indexed:
            return None
        texts, windows = load_outputs(ctx.storage, doc.outputs)
        passages = [store.Passage(passage) for passage in texts]
        store.replace_rows(session, tenant_id, doc.id, doc.language, passages, windows)
        return len(texts)


def load_outputs(storage: Storage, outputs: dict[str, Any]) -> tuple[list[str], Windows]:
    """Chunk texts and windows from a document's stored outputs (raises OSError/ValueError/KeyError when
    they are missing or unreadable)."""
    stored = json.loads(storage.local_file(outputs["metadata"]).read_text(encoding="utf-8"))["metadata"]
    texts = [item["text"] for item in sorted(stored, key=lambda item: item["id"])]
    if "windows" in outputs:
        with np.load(storage.local_file(outputs["windows"]), allow_pickle=False) as found:
            vectors, chunk, span = found["vectors"], found["chunk"], found["span"]
    else:
        vectors, chunk = _memvid_vectors(storage.local_file(outputs["index"]))
        span = np.array([(0, len(texts[i])) for i in chunk], dtype="int32").reshape(-1, 2)
    if len(chunk) and (chunk.min() < 0 or chunk.max() >= len(texts)):
        raise ValueError("the stored windows do not match the stored chunks")
    return texts, Windows(np.asarray(vectors, dtype="float32"), chunk.astype("int32"), span.astype("int32"))


def _memvid_vectors(path: Path) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """memvid's chunk vectors (each of a chunk's first ~250 tokens) and their chunk numbers."""
    import faiss

    index = cast(faiss.IndexIDMap, faiss.read_index(str(path)))  # memvid saves its index in an ID map
    flat = faiss.downcast_index(index.index)
    return flat.reconstruct_n(0, index.ntotal), faiss.vector_to_array(index.id_map)

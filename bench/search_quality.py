"""Recall of planted facts: Socrate's search over the real stack vs plain memvid retrieval, same documents.

36 generated documents (English and Italian, ~3500 tokens = 4 chunks each) with two needles each,
one near the end of a chunk and one anywhere; one reworded question per needle. A question is
answered at k if a passage containing its needle is among the first k results. Besides the
product's answers (HTTP, hybrid), it prints Socrate's window vectors alone and plain memvid.
Run: ``.venv/bin/python -m bench.search_quality``. Target: recall@5 >= 0.95.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import corpus
from bench.stack import running_stack
from socrate import encoding, search_index
from socrate.search_index import DocumentIndex
from socrate.storage import LocalStorage

DOCS = 36
TOKENS_PER_DOC = 3500
NEEDLES_PER_DOC = 2
SEED = 7
K = 5


def memvid_top(encoder: encoding.Encoder, out_dirs: list[Path], question: str) -> list[str]:
    """Plain memvid: each document's own index searched, merged by similarity (texts of the top K)."""
    hits = [hit for out_dir in out_dirs for hit in encoder.search(out_dir, question, K)]
    return [hit.text for hit in sorted(hits, key=lambda hit: -hit.score)[:K]]


def windows_top(encoder: encoding.Encoder, indexes: list[DocumentIndex], question: str) -> list[str]:
    """Socrate's window vectors alone (no BM25): each chunk scores its best window."""
    query = encoder.embed_query(question)
    scored = []
    for index in indexes:
        best = np.full(len(index.texts), -1.0)
        np.maximum.at(best, index.window_chunk, index.vectors @ query)
        scored += [(float(score), text) for score, text in zip(best, index.texts, strict=True)]
    return [text for _, text in sorted(scored, key=lambda pair: -pair[0])[:K]]


def recall(found: list[list[bool]], at: int) -> float:
    return sum(any(row[:at]) for row in found) / len(found) if found else float("nan")


def main() -> None:
    encoder = encoding.get_encoder()
    docs = corpus.build(
        DOCS, TOKENS_PER_DOC, NEEDLES_PER_DOC, SEED, lambda s: len(encoder.tokenizer.tokenize(s))
    )
    ours: dict[str, list[list[bool]]] = {}
    vectors: dict[str, list[list[bool]]] = {}
    plain: dict[str, list[list[bool]]] = {}
    with running_stack() as stack:
        ids = {stack.upload(doc.text.encode(), doc.filename)[0]: doc for doc in docs}
        chunks = sum(stack.wait(doc_id, poll=0.2)["total_chunks"] for doc_id in ids)
        storage = LocalStorage(stack.data_dir / "storage")
        files = [stack.details(doc_id)["files"] for doc_id in ids]
        out_dirs = [storage.path(f["index"]).parent for f in files]
        indexes = [search_index.load(storage, f) for f in files]
        for doc in docs:
            for needle in doc.needles:
                body = stack.http.get(
                    "/api/search", params={"q": needle.question, "k": K}, headers=stack.headers
                )
                body.raise_for_status()
                answers = [needle.text in hit["text"] for hit in body.json()["results"]]
                windows = [needle.text in text for text in windows_top(encoder, indexes, needle.question)]
                baseline = [needle.text in text for text in memvid_top(encoder, out_dirs, needle.question)]
                for group in ("all", doc.lang, "chunk end" if needle.at_chunk_end else "elsewhere"):
                    ours.setdefault(group, []).append(answers)
                    vectors.setdefault(group, []).append(windows)
                    plain.setdefault(group, []).append(baseline)
    needles = len(ours["all"])
    print(f"corpus: {len(docs)} documents (en + it), {chunks} chunks, {needles} needles "
          f"({len(ours['chunk end'])} near a chunk's end), one reworded question each, k={K}")  # fmt: skip
    columns = [
        ("socrate @1", 12),
        ("@5", 6),
        ("windows only @1", 18),
        ("@5", 6),
        ("plain memvid @1", 18),
        ("@5", 6),
    ]
    print(f"{'recall':<18}" + "".join(f"{name:>{width}}" for name, width in columns))
    for group in ("all", "en", "it", "chunk end", "elsewhere"):
        row = [recall(results[group], at) for results in (ours, vectors, plain) for at in (1, K)]
        cells = "".join(f"{value:>{width}.2f}" for value, (_, width) in zip(row, columns, strict=True))
        print(f"{group + f' ({len(ours[group])})':<18}{cells}")
    print(f"target: socrate recall@5 >= 0.95 (all questions): {recall(ours['all'], K):.2f}")


if __name__ == "__main__":
    main()

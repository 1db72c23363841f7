"""Recall of planted facts: Socrate's search vs its parts and plain memvid, on the same documents.

36 generated documents (English and Italian, ~3500 tokens = 4 chunks each) with two needles each,
one near the end of a chunk and one anywhere; one reworded question per needle. A question is
answered at k if a passage containing its needle is among the first k results. Besides the
product's answers (HTTP: nearest windows + word matches in PostgreSQL, fused), it ranks the same
candidates in-process by the windows alone, by the words alone and by reciprocal rank fusion of
the two, and asks plain memvid (each document's own FAISS index, one vector per chunk).
Run: ``.venv/bin/python -m bench.search_quality``. Targets: recall@5 >= 0.95, recall@1 >= 0.9.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from sqlalchemy import text

from bench import corpus
from bench.stack import running_stack
from socrate.context import Context
from socrate.encoding.factory import get_encoder
from socrate.search import fusion, service
from socrate.search.fusion import Candidate
from socrate.search.service import Retrieved
from socrate.storage import LocalStorage

if TYPE_CHECKING:
    from socrate.encoding.memvid_encoder import MemvidEncoder

DOCS = 36
TOKENS_PER_DOC = 3500
NEEDLES_PER_DOC = 2
SEED = 7
K = 5
RRF_K = 60
METHODS = ("socrate", "windows only", "words only", "rrf", "plain memvid")


def memvid_top(encoder: MemvidEncoder, out_dirs: list[Path], question: str) -> list[str]:
    """Plain memvid: each document's own index searched, merged by similarity (texts of the top K)."""
    hits = [hit for out_dir in out_dirs for hit in encoder.search(out_dir, question, K)]
    return [hit.text for hit in sorted(hits, key=lambda hit: -hit.score)[:K]]


def rankings(found: Retrieved) -> dict[str, list[int]]:
    """The same candidates ordered by each signal alone and by reciprocal rank fusion."""

    def by(score: Callable[[Candidate], float]) -> list[int]:
        return [c.chunk_id for c in sorted(found.candidates, key=score, reverse=True)]

    def words(c: Candidate) -> float:
        return fusion.lexical(c, found.terms, found.frequencies) or 0.0

    dense, lexical = by(lambda c: c.dense), by(words)
    rrf = {c: 1 / (RRF_K + dense.index(c) + 1) + 1 / (RRF_K + lexical.index(c) + 1) for c in dense}
    return {"windows only": dense, "words only": lexical, "rrf": sorted(rrf, key=lambda c: -rrf[c])}


def compared(ctx: Context, tenant_id: str, question: str) -> dict[str, list[str]]:
    """Texts of the top K passages of each in-process ranking."""
    with ctx.search_engine.connect() as conn:
        where, _ = service.scope(conn, tenant_id)
        assert where is not None
        found = service.retrieve(conn, where, question)
        ranked = rankings(found)
        ids = sorted({c for order in ranked.values() for c in order[:K]})
        texts: dict[int, str] = dict(
            conn.execute(text("SELECT id, text FROM chunks WHERE id = ANY(:ids)"), {"ids": ids})
            .tuples()
            .all()
        )
    return {method: [texts[c] for c in order[:K]] for method, order in ranked.items()}


def recall(found: list[list[bool]], at: int) -> float:
    return sum(any(row[:at]) for row in found) / len(found) if found else float("nan")


def main() -> None:
    encoder = cast("MemvidEncoder", get_encoder())  # the memvid encoder's tokenizer and search
    docs = corpus.build(DOCS, TOKENS_PER_DOC, NEEDLES_PER_DOC, SEED,
                        lambda s: len(encoder.tokenizer.tokenize(s)))  # fmt: skip
    results: dict[str, dict[str, list[list[bool]]]] = {method: {} for method in METHODS}
    with running_stack() as stack, stack.context() as ctx:
        ids = {stack.upload(doc.text.encode(), doc.filename)[0]: doc for doc in docs}
        chunks = sum(stack.wait(doc_id, poll=0.2)["total_chunks"] for doc_id in ids)
        storage = LocalStorage(stack.data_dir / "storage")
        files = [stack.details(doc_id)["files"] for doc_id in ids]
        out_dirs = [storage.path(f["index"]).parent for f in files]
        tenant_id = files[0]["index"].split("/")[1]
        for doc in docs:
            for needle in doc.needles:
                body = stack.http.get(
                    "/api/search", params={"q": needle.question, "k": K}, headers=stack.headers
                )
                body.raise_for_status()
                tops = {"socrate": [hit["text"] for hit in body.json()["results"]],
                        "plain memvid": memvid_top(encoder, out_dirs, needle.question),
                        **compared(ctx, tenant_id, needle.question)}  # fmt: skip
                for group in ("all", doc.lang, "chunk end" if needle.at_chunk_end else "elsewhere"):
                    for method, top in tops.items():
                        results[method].setdefault(group, []).append([needle.text in t for t in top])
    ours = results["socrate"]
    print(f"corpus: {len(docs)} documents (en + it), {chunks} chunks, {len(ours['all'])} needles "
          f"({len(ours['chunk end'])} near a chunk's end), one reworded question each, k={K}")  # fmt: skip
    print(f"{'recall @1 / @5':<18}" + "".join(f"{method:>16}" for method in METHODS))
    for group in ("all", "en", "it", "chunk end", "elsewhere"):
        cells = "".join(
            f"{recall(results[m][group], 1):>9.2f} / {recall(results[m][group], K):.2f}" for m in METHODS
        )
        print(f"{group + f' ({len(ours[group])})':<18}{cells}")
    print(f"targets: socrate recall@5 >= 0.95 ({recall(ours['all'], K):.2f}), "
          f"recall@1 >= 0.9 ({recall(ours['all'], 1):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()

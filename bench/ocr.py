"""A 20-page scanned PDF through the whole pipeline, clean and poor (tilted, faint), against the same
pages with a text layer in the same run; and how many of the source's words OCR gets back.

Run: ``.venv/bin/python -m bench.ocr``. Targets: word recall >= 0.95 on clean scans, >= 0.85 on poor ones.
Recall is measured on the worker's own reader (extract_text) run in this process on the same files.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.stack import running_stack
from socrate.config import Settings
from socrate.processing.extract import extract_text
from tests import docgen, scangen

PAGES = 20


def source_pages() -> list[list[str]]:
    """Two paragraphs a page, English and Italian pages in turn (accents included)."""
    return [docgen.paragraphs("en" if n % 2 else "it", 2, seed=n) for n in range(PAGES)]


def scans(pages: list[list[str]]) -> dict[str, bytes]:
    poor = [
        scangen.page(lines, skew=2.5 if n % 2 else -2.0, ink=110, paper=205) for n, lines in enumerate(pages)
    ]
    return {
        "clean": scangen.scanned_pdf([scangen.page(lines) for lines in pages]),
        "poor": scangen.scanned_pdf(poor),
    }


def recall(pdf: bytes, source: str) -> tuple[float, float]:
    """(word recall, seconds per page) of the worker's reader in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.pdf"
        path.write_bytes(pdf)
        start = time.perf_counter()
        text = extract_text(path, "pdf", Settings.from_env()).text
        return scangen.word_recall(source, text), (time.perf_counter() - start) / PAGES


def main() -> None:
    pages = source_pages()
    source = " ".join(" ".join(lines) for lines in pages)
    files = {"text layer": scangen.text_pdf(pages), **scans(pages)}
    timings: dict[str, float] = {}
    with running_stack() as stack:
        warm, _ = stack.upload(docgen.txt("en", count=5), "warmup.txt")
        stack.wait(warm)
        for name, pdf in files.items():
            start = time.perf_counter()
            doc_id, _ = stack.upload(pdf, f"{name}.pdf")
            stack.wait(doc_id, poll=0.1)
            timings[name] = time.perf_counter() - start
            pages_seen = stack.details(doc_id)["metadata"]["pages"]
            assert pages_seen == PAGES, f"{name}: {pages_seen} pages"
    measured = {name: recall(files[name], source) for name in ("clean", "poor")}
    base = timings["text layer"]
    print(f"document: {PAGES} pages, {len(source.split())} words, English and Italian pages in turn")
    print(f"text-layer PDF, upload -> ready: {base:.1f} s (the baseline: no OCR)")
    for name, (words, per_page) in measured.items():
        print(f"{name} scan, upload -> ready: {timings[name]:.1f} s = {timings[name] / PAGES:.2f} s/page, "
              f"{timings[name] / base:.1f}x the text layer; word recall {words:.3f}; "
              f"OCR alone in-process {per_page:.2f} s/page")  # fmt: skip
    print("targets: recall >= 0.95 clean, >= 0.85 poor")
    (clean, _), (poor, _) = measured["clean"], measured["poor"]
    print(f"ocr: pages={PAGES} clean_s_per_page={timings['clean'] / PAGES:.2f} "
          f"poor_s_per_page={timings['poor'] / PAGES:.2f} recall_clean={clean:.3f} recall_poor={poor:.3f} "
          f"scan_vs_text_layer={timings['clean'] / base:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

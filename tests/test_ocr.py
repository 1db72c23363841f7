"""Scans and photos read by Tesseract: scanned and mixed PDFs, images (EXIF, multi-page TIFF), bombs,
a server without OCR, and a scan through the real worker with one progress step per page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from socrate.config import Settings
from socrate.errors import ProcessingError
from socrate.processing import ocr
from socrate.processing.extract import extract_text
from tests import scangen
from tests.conftest import upload, wait_done

EN = [
    "The committee reviewed the annual budget and approved new funding for public libraries.",
    "Engineers tested the bridge under heavy load before opening it to traffic in the spring.",
]
IT = [
    "Il museo conserva una collezione di mappe che descrivono come il fiume è cambiato nei secoli.",
    "Perché la città è così bella? Università, caffè e più qualità nella piazza.",
]
SETTINGS = Settings()


def _read(tmp_path: Path, name: str, data: bytes, kind: str) -> tuple[str, int | None, list[tuple[int, int]]]:
    """(text, pages, progress calls) for a file read the way the worker reads it."""
    path = tmp_path / name
    path.write_bytes(data)
    calls: list[tuple[int, int]] = []
    extracted = extract_text(path, kind, SETTINGS, lambda done, total: calls.append((done, total)))
    return extracted.text, extracted.pages, calls


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as on a server where Tesseract is not installed."""
    monkeypatch.setenv("PATH", "/nonexistent")
    ocr.installed_languages.cache_clear()
    yield
    monkeypatch.undo()
    ocr.installed_languages.cache_clear()


def test_a_scanned_pdf_is_read_page_by_page_in_english_and_italian(tmp_path) -> None:
    pages = [scangen.page(EN), scangen.page(IT)]
    text, count, calls = _read(tmp_path, "scan.pdf", scangen.scanned_pdf(pages), "pdf")
    assert count == 2 and calls == [(1, 2), (2, 2)]
    assert scangen.word_recall(" ".join(EN + IT), text) >= 0.95, text
    assert "città è così" in text


def test_skewed_and_faint_scans_are_still_read(tmp_path) -> None:
    pages = [scangen.page(EN, skew=3), scangen.page(IT, ink=150, paper=205)]
    text, _count, _calls = _read(tmp_path, "poor.pdf", scangen.scanned_pdf(pages), "pdf")
    assert scangen.word_recall(" ".join(EN + IT), text) >= 0.85, text


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page(tmp_path) -> None:
    typed = [" ".join(EN) + " The reference code is QX-7781."]
    text, count, calls = _read(tmp_path, "mixed.pdf", scangen.mixed_pdf(typed, scangen.page(IT)), "pdf")
    assert count == 2 and calls == [(1, 1)]  # only page 2 went through OCR
    assert "QX-7781" in text  # the text layer, verbatim
    assert scangen.word_recall(" ".join(IT), text.split("QX-7781.")[1]) >= 0.95


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_phone_photo_is_read_upright_from_its_exif_orientation(tmp_path, fmt) -> None:
    data = scangen.photo(scangen.page(IT), fmt, exif_orientation=6)
    kind = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    text, count, calls = _read(tmp_path, f"photo.{kind}", data, kind)
    assert count == 1 and calls == [(1, 1)]
    assert scangen.word_recall(" ".join(IT), text) >= 0.95, text


def test_every_page_of_a_multi_page_tiff_is_read(tmp_path) -> None:
    text, count, calls = _read(
        tmp_path, "fax.tiff", scangen.tiff([scangen.page(EN), scangen.page(IT)]), "tiff"
    )
    assert count == 2 and calls == [(1, 2), (2, 2)]
    assert scangen.word_recall(" ".join(EN + IT), text) >= 0.95


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [(9_000, 9_000, "the limit is 60 megapixels"), (100_000, 100_000, "too large to read safely")],
)
def test_an_image_bomb_is_refused_before_it_is_decoded(tmp_path, width, height, reason) -> None:
    with pytest.raises(ProcessingError, match=reason):
        _read(tmp_path, "bomb.png", scangen.png_claiming(width, height), "png")


def test_a_truncated_photo_is_a_readable_failure(tmp_path) -> None:
    data = scangen.photo(scangen.page(EN))
    with pytest.raises(ProcessingError, match="corrupt or unreadable"):
        _read(tmp_path, "cut.jpg", data[: len(data) // 3], "jpg")


def test_without_tesseract_a_scan_fails_clearly_and_a_mixed_pdf_keeps_its_text(
    tmp_path, no_tesseract
) -> None:
    with pytest.raises(ProcessingError, match=r"needs OCR .* not installed on this server"):
        _read(tmp_path, "scan.pdf", scangen.scanned_pdf([scangen.page(EN)]), "pdf")
    with pytest.raises(ProcessingError, match="not installed"):
        _read(tmp_path, "photo.jpg", scangen.photo(scangen.page(EN)), "jpg")
    text, _count, calls = _read(tmp_path, "mixed.pdf", scangen.mixed_pdf(EN, scangen.page(IT)), "pdf")
    assert "annual budget" in text and calls == []
    assert ocr.status() == {
        "ok": False,
        "error": "Tesseract is not installed: scans and photos cannot be read",
    }


def test_readyz_lists_ocr_and_its_languages_without_requiring_it(client, no_tesseract) -> None:
    body = client.get("/readyz").get_json()
    assert body["optional"]["ocr"]["ok"] is False and "not installed" in body["optional"]["ocr"]["error"]
    assert "ocr" not in body["components"]
    ocr.installed_languages.cache_clear()


def test_readyz_names_the_installed_ocr_languages(client) -> None:
    ocr.installed_languages.cache_clear()
    assert {"eng", "ita"} <= set(client.get("/readyz").get_json()["optional"]["ocr"]["languages"])


def test_a_scan_through_the_worker_moves_its_bar_page_by_page_and_is_searchable(
    client, worker, tenant
) -> None:
    pages = [scangen.page([line, f"Page {n} mentions the lighthouse keeper Ottavio."]) for n, line in
             enumerate(EN + IT, start=1)]  # fmt: skip
    doc_id = upload(client, tenant, scangen.scanned_pdf(pages), "scan.pdf").get_json()["document_id"]
    final, seen = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready", final
    reading = [body for body in seen if body["message"].startswith("Reading scanned page")]
    assert [f"Reading scanned page {n} of 4" for n in range(1, 5)] == list(
        dict.fromkeys(body["message"] for body in reading)
    )
    steps = [body["progress"] for body in reading]
    assert steps == sorted(steps) and len(set(steps)) == 4, steps
    details = client.get(f"/api/documents/{doc_id}", headers=tenant.headers).get_json()
    assert details["metadata"]["pages"] == 4
    hits = client.get("/api/search", query_string={"q": "Ottavio lighthouse keeper"}, headers=tenant.headers)
    assert doc_id in {hit["document_id"] for hit in hits.get_json()["results"]}

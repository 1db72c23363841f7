"""File -> plain text for PDF (OCR for scanned pages), DOCX, PPTX, XLSX, EPUB, TXT, Markdown, CSV, HTML
and images (OCR), with readable failures."""

from __future__ import annotations

import bisect
import functools
import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from socrate import logs
from socrate.config import Settings
from socrate.errors import ProcessingError
from socrate.processing import ebooks, filetypes, formats, office, scans
from socrate.processing.budget import Budget, OverBudget

log = logging.getLogger(__name__)
NO_TEXT = "No text could be extracted from this document"
TOO_COMPLEX = "This PDF is too complex to read in reasonable time"
PDF_BASE_CPU_SECONDS = 10.0  # opening the file, plus slack for small documents


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: int | None
    # PDFs: (offset in ``text`` where a page's text starts, its 1-based number), for each page with text.
    page_starts: list[tuple[int, int]] = field(default_factory=list)

    def page_range(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The first and last page of the text in [start, end); (None, None) when pages are unknown."""
        if not self.page_starts:
            return None, None
        offsets = [offset for offset, _ in self.page_starts]

        def page_at(position: int) -> int:
            return self.page_starts[max(0, bisect.bisect_right(offsets, position) - 1)][1]

        return page_at(start), page_at(max(start, end - 1))


@dataclass(frozen=True)
class _Read:
    """What a reader found: one text, or the text of each page."""

    text: str = ""
    pages: list[str] | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile file from exhausting a worker's memory or time."""

    max_pages: int
    max_uncompressed: int
    max_chars: int
    pdf_page_cpu_seconds: float  # any one page
    pdf_cpu_seconds_per_page: float  # the whole PDF: PDF_BASE_CPU_SECONDS + this per page
    max_pixels: int  # an image's (or rendered page's) canvas
    ocr_languages: str  # Tesseract's -l when the text layer does not tell
    ocr_page_seconds: float


def _no_progress(done: int, total: int) -> None:
    """Progress is reported for pages read by OCR only: the rest takes moments."""


def extract_text(
    path: Path, kind: str, settings: Settings, progress: scans.Progress = _no_progress
) -> Extracted:
    """Extract and normalise text; raise ProcessingError with a human message on failure.

    ``progress(n, total)`` is called before each page that OCR reads.
    """
    limits = Limits(
        settings.max_pdf_pages, settings.max_docx_uncompressed_bytes, settings.max_text_chars,
        settings.pdf_page_cpu_seconds, settings.pdf_cpu_seconds_per_page, settings.max_image_pixels,
        settings.ocr_languages, settings.ocr_page_seconds,
    )  # fmt: skip
    readers: dict[str, Callable[[Path, Limits], _Read]] = {
        "pdf": functools.partial(_pdf, progress=progress), "docx": _docx, "txt": _plain, "md": _plain,
        "csv": _csv, "html": _html, "xlsx": _xlsx, "pptx": _pptx, "epub": _epub,
    }  # fmt: skip
    for image in filetypes.IMAGES:
        readers[image] = functools.partial(_image, progress=progress)
    try:
        result = readers[kind](path, limits)
    except RecursionError as exc:
        raise ProcessingError(f"The {kind.upper()} file is too deeply nested to read") from exc
    extracted = (
        _assemble(result.pages) if result.pages is not None else Extracted(normalise(result.text), None)
    )
    if len(extracted.text) > limits.max_chars:
        raise ProcessingError(f"The document has more than {limits.max_chars:,} characters of text")
    if not extracted.text.strip():
        raise ProcessingError(NO_TEXT)
    return extracted


def _assemble(pages: list[str]) -> Extracted:
    """Pages normalised one by one and joined by a blank line, remembering where each one starts."""
    parts: list[str] = []
    starts: list[tuple[int, int]] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        text = normalise(page)
        if not text:
            continue
        if parts:
            offset += 2  # the "\n\n" between pages
        starts.append((offset, number))
        parts.append(text)
        offset += len(text)
    return Extracted(text="\n\n".join(parts), pages=len(pages), page_starts=starts)


HIGHLIGHT_MARKS = "\ue000\ue001"  # search marks matched words with these (socrate/search/snippets.py)


def normalise(text: str) -> str:
    """Collapse runs of spaces and blank lines so chunks carry words, not layout; drop NULs and the two
    private-use characters search highlights with."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = text.translate({ord(mark): None for mark in HIGHLIGHT_MARKS})
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _pdf(path: Path, limits: Limits, progress: scans.Progress) -> _Read:
    """Pages of text, then OCR for the pages without a text layer."""
    pages = _pdf_text_layer(path, limits)
    return _Read(pages=scans.fill_pdf_pages(
        path, pages, max_pixels=limits.max_pixels, languages=limits.ocr_languages,
        timeout=limits.ocr_page_seconds, progress=progress,
    ))  # fmt: skip


def _image(path: Path, limits: Limits, progress: scans.Progress) -> _Read:
    return _Read(pages=scans.image_pages(
        path, max_pixels=limits.max_pixels, max_pages=limits.max_pages, languages=limits.ocr_languages,
        timeout=limits.ocr_page_seconds, progress=progress,
    ))  # fmt: skip


def _pdf_text_layer(path: Path, limits: Limits) -> list[str]:
    """Each page's text layer, within a CPU budget per page and per document (pypdf is pure Python: a
    small file whose pages share one huge content stream costs seconds a page)."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    budget = Budget(PDF_BASE_CPU_SECONDS)
    pages: list[str] = []
    try:
        with budget.step():
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ProcessingError("The PDF is password-protected; upload an unlocked copy")
            count = len(reader.pages)
        if count > limits.max_pages:
            raise ProcessingError(f"The PDF has {count:,} pages; the limit is {limits.max_pages:,}")
        budget.extend(limits.pdf_cpu_seconds_per_page * count)
        chars = 0
        for page in reader.pages:
            with budget.step(limits.pdf_page_cpu_seconds):
                pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > limits.max_chars:
                raise ProcessingError(f"The document has more than {limits.max_chars:,} characters of text")
    except ProcessingError:
        raise
    except OverBudget as exc:
        log.info("pdf over its cpu budget", extra=logs.fields(path=path, pages_read=len(pages)))
        raise ProcessingError(TOO_COMPLEX) from exc
    except LimitReachedError as exc:
        log.info("pdf over a pypdf limit", extra=logs.fields(path=path, error=repr(exc)))
        raise ProcessingError(
            "The PDF expands to more data than can be read safely (a compression bomb?)"
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, ArithmeticError,
            AssertionError, zlib.error, struct.error) as exc:  # fmt: skip
        log.info("pdf unreadable", extra=logs.fields(path=path, error=repr(exc)))
        raise ProcessingError("The PDF file is corrupt or unreadable") from exc
    return pages


def _docx(path: Path, limits: Limits) -> _Read:
    return _office(path, limits, "DOCX", lambda: _Read(text=office.docx_text(path)))


def _xlsx(path: Path, limits: Limits) -> _Read:
    return _office(path, limits, "XLSX", lambda: _Read(text=office.xlsx_text(path, limits.max_chars)))


def _pptx(path: Path, limits: Limits) -> _Read:
    return _office(path, limits, "PPTX", lambda: _Read(pages=office.pptx_pages(path)))


def _epub(path: Path, limits: Limits) -> _Read:
    return _office(path, limits, "EPUB", lambda: _Read(text=ebooks.epub_text(path)))


def _office(path: Path, limits: Limits, label: str, read: Callable[[], _Read]) -> _Read:
    """An Office (or EPUB) zip: bombs refused from the central directory first, then any XML part that
    declares entities, then the library's many exception types for a broken file become one readable
    reason (a too-deep document still says so)."""
    _check_zip_size(path, limits.max_uncompressed, label)
    _refuse_entities(path, label)
    try:
        return read()
    except (RecursionError, ProcessingError):
        raise
    except Exception as exc:
        log.info("office file unreadable", extra=logs.fields(path=path, kind=label, error=repr(exc)))
        raise ProcessingError(f"The {label} file is corrupt or unreadable") from exc


def _check_zip_size(path: Path, max_uncompressed: int, label: str) -> None:
    """Refuse zip bombs from the central directory, before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProcessingError(f"The {label} file is corrupt or unreadable") from exc
    if total > max_uncompressed:
        mb = 1024 * 1024
        raise ProcessingError(
            f"The {label} expands to {total // mb:,} MB; the limit is {max_uncompressed // mb} MB"
        )


XML_PARTS = (".xml", ".rels", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".svg", ".vml")
_ENTITY = b"<!ENTITY"
_BLOCK = 1024 * 1024


def _refuse_entities(path: Path, label: str) -> None:
    """No Office document or book needs a DOCTYPE entity, and expanding them is how an "entity bomb" or an
    external entity spends a worker's memory or reads its files: refused before any library parses the
    zip. Parts are read a block at a time (the size check above bounds the total)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.lower().endswith(XML_PARTS):
                continue
            with archive.open(info) as part:
                tail = b""
                while block := part.read(_BLOCK):
                    if _ENTITY in (tail + block).upper():
                        raise ProcessingError(
                            f"The {label} declares XML entities, which are refused for safety"
                        )
                    tail = block[-len(_ENTITY) :]


def _plain(path: Path, limits: Limits) -> _Read:
    if path.stat().st_size > limits.max_chars * 4:  # no encoding spends more than 4 bytes a character
        raise ProcessingError(f"The document has more than {limits.max_chars:,} characters of text")
    return _Read(text=decode_text(path.read_bytes()))


def _csv(path: Path, limits: Limits) -> _Read:
    return _Read(text=formats.csv_text(_plain(path, limits).text))


def _html(path: Path, limits: Limits) -> _Read:
    return _Read(text=formats.html_text(_plain(path, limits).text))


WESTERN = ("cp1252", "latin_1", "iso8859_15")
WESTERN_MAX_CHAOS = 0.1


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, then a legacy charset guess.

    charset-normalizer alone often picks cp1250/cp1257 for short Italian or French text (their
    accented letters sit on the same bytes), so a clean Western European reading is preferred.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    western = [m for m in matches if m.encoding in WESTERN and m.chaos <= WESTERN_MAX_CHAOS]
    best = western[0] if western else matches.best()
    if best is None:
        raise ProcessingError("The text file's encoding could not be recognised")
    return str(best)

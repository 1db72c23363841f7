"""File -> plain text for PDF, DOCX, TXT and Markdown, with readable failures."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from socrate.errors import ProcessingError

log = logging.getLogger(__name__)
NO_TEXT = "No text could be extracted from this document"


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: int | None


def extract_text(path: Path, kind: str) -> Extracted:
    """Extract and normalise text; raise ProcessingError with a human message on failure."""
    readers = {"pdf": _pdf, "docx": _docx, "txt": _plain, "md": _plain}
    result = readers[kind](path)
    text = normalise(result.text)
    if not text.strip():
        raise ProcessingError(NO_TEXT)
    return Extracted(text=text, pages=result.pages)


def normalise(text: str) -> str:
    """Collapse runs of spaces and blank lines so chunks carry words, not layout."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _pdf(path: Path) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ProcessingError("The PDF is password-protected; upload an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ProcessingError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        log.info("pdf unreadable path=%s error=%r", path, exc)
        raise ProcessingError("The PDF file is corrupt or unreadable") from exc
    return Extracted(text="\n\n".join(pages), pages=len(pages))


def _docx(path: Path) -> Extracted:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many unrelated types for broken files
        log.info("docx unreadable path=%s error=%r", path, exc)
        raise ProcessingError("The DOCX file is corrupt or unreadable") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return Extracted(text="\n".join(parts), pages=None)


def _plain(path: Path) -> Extracted:
    raw = path.read_bytes()
    return Extracted(text=decode_text(raw), pages=None)


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

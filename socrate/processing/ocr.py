"""Reading scans and photos with Tesseract (pytesseract runs the ``tesseract`` binary, one page at a time).

OCR is optional on a server: without the binary a document that needs it fails with NOT_INSTALLED and
/readyz says so. A page is greyscaled and its contrast stretched first (faint scans read far better);
Tesseract's own layout analysis copes with a few degrees of skew. Tesseract runs single-threaded: the
worker already runs one document per core, and OpenMP threads on top only fight over them.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from typing import Any

from PIL import Image, ImageOps

from socrate import encoding, logs
from socrate.errors import ProcessingError

log = logging.getLogger(__name__)
NOT_INSTALLED = "This document needs OCR (it is a scan or a photo), which is not installed on this server"
TOO_SLOW = "A scanned page took too long to read"
# langdetect's codes -> Tesseract's traineddata names, for the languages a text layer may reveal.
TESSERACT_CODES = {"en": "eng", "it": "ita", "de": "deu", "fr": "fra", "es": "spa", "pt": "por", "nl": "nld"}
MIN_LANGUAGE_SAMPLE = 200  # characters of text layer before its language is trusted


@functools.cache
def installed_languages() -> tuple[str, ...]:
    """The languages Tesseract can read here; empty when it is not installed."""
    if shutil.which("tesseract") is None:
        return ()
    import pytesseract

    try:
        return tuple(sorted(name for name in pytesseract.get_languages(config="") if name != "osd"))
    except (pytesseract.TesseractError, OSError) as exc:
        log.warning("tesseract unusable", extra=logs.fields(error=repr(exc)))
        return ()


def status() -> dict[str, Any]:
    """OCR's part of /readyz: informational, since documents with a text layer do not need it."""
    languages = installed_languages()
    if not languages:
        return {"ok": False, "error": "Tesseract is not installed: scans and photos cannot be read"}
    return {"ok": True, "languages": list(languages)}


def languages_for(sample: str, fallback: str) -> str:
    """Tesseract's ``-l`` for a document: the text layer's language first when there is enough of it,
    then ``fallback`` (e.g. ``eng+ita``: a scanned page may not share its neighbours' language), keeping
    only installed languages."""
    installed = installed_languages()
    if not installed:
        raise ProcessingError(NOT_INSTALLED)
    names = fallback.split("+")
    if len(sample) >= MIN_LANGUAGE_SAMPLE:
        names.insert(0, TESSERACT_CODES.get(encoding.detect_language(sample) or "", ""))
    chosen = [name for name in dict.fromkeys(names) if name in installed]
    return "+".join(chosen or installed[:1])


def read(image: Image.Image, languages: str, timeout: float) -> str:
    """The text Tesseract finds on one page."""
    import pytesseract

    page = ImageOps.autocontrast(ImageOps.grayscale(image))
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # read by the tesseract child process
    try:
        return str(pytesseract.image_to_string(page, lang=languages, timeout=timeout))
    except RuntimeError as exc:  # pytesseract's timeout
        raise ProcessingError(TOO_SLOW) from exc
    except (pytesseract.TesseractError, OSError) as exc:
        log.warning("tesseract failed", extra=logs.fields(error=repr(exc)))
        raise ProcessingError("A scanned page could not be read") from exc

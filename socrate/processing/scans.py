"""Pages that must be read as pictures: PDF pages without a text layer, and images (PNG, JPEG, WebP, TIFF).

A PDF page whose text layer holds fewer than MIN_TEXT_CHARS letters is rendered (pypdfium2) and read by
OCR; the pages that have text keep it as it is. Pillow opens images lazily, so a canvas's size is
checked before anything is decoded (a decompression bomb is a small file that claims a huge canvas),
and EXIF orientation is applied so a phone photo reads upright. Every picture page reports progress.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from socrate import logs
from socrate.errors import ProcessingError
from socrate.processing import ocr

log = logging.getLogger(__name__)
MIN_TEXT_CHARS = 20  # fewer letters than this on a PDF page (a page number, a stamp): read it by OCR
RENDER_DPI = 300  # Tesseract reads best at ~300 dpi
Progress = Callable[[int, int], None]  # (picture page about to be read, how many there are)


def needs_ocr(text: str) -> bool:
    return sum(char.isalnum() for char in text) < MIN_TEXT_CHARS


def fill_pdf_pages(
    path: Path, pages: list[str], *, max_pixels: int, languages: str, timeout: float, progress: Progress
) -> list[str]:
    """``pages`` with every page that has (almost) no text layer replaced by what OCR reads on it."""
    scanned = [index for index, text in enumerate(pages) if needs_ocr(text)]
    if not scanned:
        return pages
    if not ocr.installed_languages():
        if any(not needs_ocr(text) for text in pages):
            log.info("pdf pages without text and no ocr", extra=logs.fields(path=path, pages=len(scanned)))
            return pages  # a mixed PDF keeps the pages it can read, as before OCR existed
        raise ProcessingError(ocr.NOT_INSTALLED)
    import pypdfium2

    filled = list(pages)
    language = ocr.languages_for("\n".join(pages), languages)
    try:
        pdf = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        raise ProcessingError("The PDF file is corrupt or unreadable") from exc
    try:
        for done, index in enumerate(scanned, start=1):
            progress(done, len(scanned))
            image = _render(pdf[index], max_pixels)
            filled[index] = ocr.read(image, language, timeout)
    except pypdfium2.PdfiumError as exc:
        raise ProcessingError("A page of the PDF could not be rendered for OCR") from exc
    finally:
        pdf.close()
    return filled


def _render(page: Any, max_pixels: int) -> Image.Image:
    """The page as a greyscale picture at RENDER_DPI, or smaller when that would exceed ``max_pixels``."""
    width, height = page.get_size()  # points: 1/72 inch
    scale = min(RENDER_DPI / 72, math.sqrt(max_pixels / max(width * height, 1.0)))
    image: Image.Image = page.render(scale=scale, grayscale=True).to_pil()
    return image


def image_pages(
    path: Path, *, max_pixels: int, max_pages: int, languages: str, timeout: float, progress: Progress
) -> list[str]:
    """What OCR reads on each page (frame) of an image file."""
    if not ocr.installed_languages():
        raise ProcessingError(ocr.NOT_INSTALLED)
    language = ocr.languages_for("", languages)
    with _open(path) as image:
        count = getattr(image, "n_frames", 1)
        if count > max_pages:
            raise ProcessingError(f"The image has {count:,} pages; the limit is {max_pages:,}")
        texts = []
        for done, frame in enumerate(_frames(image, max_pixels), start=1):
            progress(done, count)
            texts.append(ocr.read(frame, language, timeout))
    return texts


def _open(source: Path | IO[bytes], label: str = "The image file") -> Image.Image:
    """Opened lazily: only the header is read, so _frames can check the canvas before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ProcessingError(f"{label} is too large to read safely") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ProcessingError(f"{label} is corrupt or unreadable") from exc


def _frames(image: Image.Image, max_pixels: int) -> Iterator[Image.Image]:
    """Each frame upright and decoded, after its canvas size was checked."""
    try:
        for frame in ImageSequence.Iterator(image):
            width, height = frame.size
            if width * height > max_pixels:
                megapixels = max_pixels // 1_000_000
                raise ProcessingError(
                    f"The image is {width:,} × {height:,} pixels; the limit is {megapixels} megapixels"
                )
            upright = ImageOps.exif_transpose(frame)
            upright.load()
            yield upright
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's decoders for truncated data
        raise ProcessingError("The image file is corrupt or unreadable") from exc


def album_pdf(photos: list[bytes], max_pixels: int) -> bytes:
    """Several photos as one PDF, a page each, in order (a Telegram album becomes one document)."""
    pages: list[Image.Image] = []
    for photo in photos:
        with _open(io.BytesIO(photo), "A photo of the album") as image:
            pages.extend(frame.convert("RGB") for frame in _frames(image, max_pixels))
    if not pages:
        raise ProcessingError("The album holds no picture")
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=RENDER_DPI)
    return out.getvalue()

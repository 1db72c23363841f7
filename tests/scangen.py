"""Generate scans and photos for the OCR tests and bench: text rendered with Pillow, then tilted, faded,
rotated by EXIF, or wrapped in an image-only (or mixed) PDF."""

from __future__ import annotations

import io
import struct
import textwrap
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PAGE = (1275, 1650)  # US letter at 150 dpi: what an office scanner's "text" preset gives
DPI = 150


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core (.ci/run)


def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans: it has the accented letters Italian needs (Pillow's built-in font draws boxes)."""
    return ImageFont.truetype(str(FONT), size)


def page(
    lines: list[str],
    *,
    size: tuple[int, int] = PAGE,
    font_size: int = 30,
    skew: float = 0.0,
    ink: int = 0,
    paper: int = 255,
    width_chars: int = 60,
) -> Image.Image:
    """A greyscale page with ``lines`` wrapped at ``width_chars``; ``skew`` degrees of tilt; ``ink`` and
    ``paper`` grey levels (a faint scan: ink 150 on paper 200)."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    font = _font(font_size)
    y = font_size * 3
    for line in lines:
        for wrapped in textwrap.wrap(line, width_chars) or [""]:
            draw.text((font_size * 3, y), wrapped, fill=ink, font=font)
            y += int(font_size * 1.6)
        y += font_size // 2
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=paper)
    return image


def scanned_pdf(pages: list[Image.Image]) -> bytes:
    """An image-only PDF: no text layer at all, as a scanner writes it."""
    out = io.BytesIO()
    rgb = [p.convert("RGB") for p in pages]
    rgb[0].save(out, format="PDF", save_all=True, append_images=rgb[1:], resolution=DPI)
    return out.getvalue()


def text_pdf(pages: list[list[str]]) -> bytes:
    """The same kind of pages with a text layer, as a word processor exports them."""
    return _typed(pages, None)


def mixed_pdf(text_lines: list[str], scan: Image.Image) -> bytes:
    """Page 1 has a text layer, page 2 is a scanned picture (a signed page put back into a report)."""
    return _typed([text_lines], scan)


def _typed(pages: list[list[str]], scan: Image.Image | None) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    for lines in pages:
        y = 740
        for line in lines:
            for wrapped in textwrap.wrap(line, 90):
                c.drawString(40, y, wrapped)
                y -= 14
            y -= 10
        c.showPage()
    if scan is not None:
        c.drawImage(ImageReader(scan), 0, 0, width=letter[0], height=letter[1])
        c.showPage()
    c.save()
    return out.getvalue()


def photo(image: Image.Image, fmt: str = "JPEG", *, exif_orientation: int | None = None) -> bytes:
    """``image`` saved as a photo file; with ``exif_orientation`` 6 the pixels are stored turned a
    quarter and the EXIF tag says so, as a phone held upright writes them."""
    out = io.BytesIO()
    rgb = image.convert("RGB")
    if exif_orientation == 6:
        rgb = rgb.transpose(Image.Transpose.ROTATE_90)  # stored sideways; orientation 6 turns it back
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    rgb.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def tiff(pages: list[Image.Image]) -> bytes:
    """A multi-page TIFF (fax-style scans)."""
    out = io.BytesIO()
    pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return out.getvalue()


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation, for word recall."""
    return ["".join(ch for ch in word if ch.isalnum()) for word in text.lower().split()]


def word_recall(source: str, read: str) -> float:
    """Share of the source's words that OCR found (each occurrence counted at most as often as read)."""
    from collections import Counter

    want, got = Counter(w for w in words(source) if w), Counter(w for w in words(read) if w)
    total = sum(want.values())
    return sum(min(count, got[word]) for word, count in want.items()) / total if total else 1.0


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a ``width`` × ``height`` canvas (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )

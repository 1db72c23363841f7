"""Which files we accept: an extension allowlist confirmed by sniffing the content."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path, PurePath, PurePosixPath

from socrate import textfields
from socrate.errors import UnsupportedType

KINDS = {
    ".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md", ".markdown": "md", ".csv": "csv",
    ".html": "html", ".htm": "html", ".xlsx": "xlsx", ".pptx": "pptx", ".epub": "epub",
    ".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff",
}  # fmt: skip
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "epub": "application/epub+zip",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "tiff": "image/tiff",
}
ALLOWED = "PDF, TXT, Markdown (.md), DOCX, PPTX, XLSX, CSV, HTML, EPUB or image (PNG, JPEG, WebP, TIFF)"
ZIP_MARKERS = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
    "epub": "META-INF/container.xml",
}
IMAGES = frozenset({"png", "jpg", "webp", "tiff"})
LINK = "link"  # a document from a link, until the worker has fetched it and knows its kind
# Media types servers send for our kinds besides CONTENT_TYPES' own; generic ones defer to the name.
MEDIA_TYPES = {
    **{media: kind for kind, media in CONTENT_TYPES.items()},
    "application/xhtml+xml": "html",
    "text/x-markdown": "md",
    "image/jpg": "jpg",
    "image/pjpeg": "jpg",
    "application/csv": "csv",
}
GENERIC_MEDIA_TYPES = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/download"}
)


MAX_FILENAME_CHARS = 200


def clean_filename(raw: str) -> str:
    """The name to show and store: no folders, no invisible characters (textfields.shown), bounded length."""
    name = PurePosixPath(raw.replace("\\", "/")).name
    name = textfields.shown(name).lstrip(".")
    if len(name) > MAX_FILENAME_CHARS:
        suffix = PurePath(name).suffix[:16]
        name = name[: MAX_FILENAME_CHARS - len(suffix)] + suffix
    return name


def kind_of_download(content_type: str, filename: str) -> tuple[str, str]:
    """(kind, file name with that kind's extension) for a fetched link: the content type decides,
    the name only when the server sent a generic one."""
    kind = MEDIA_TYPES.get(content_type)
    if kind is None and content_type in GENERIC_MEDIA_TYPES:
        kind = KINDS.get(PurePath(filename).suffix.lower())
    if kind is None:
        shown = content_type or "a file of unknown type"
        raise UnsupportedType(f"The link points to {shown}, which Socrate cannot read: only {ALLOWED} are")
    if KINDS.get(PurePath(filename).suffix.lower()) != kind:
        extension = next(suffix for suffix, known in KINDS.items() if known == kind)
        filename = f"{filename}{extension}"
    return kind, clean_filename(filename)


def kind_from_name(filename: str) -> str:
    """The kind promised by the extension, or UnsupportedType."""
    kind = KINDS.get(PurePath(filename).suffix.lower())
    if kind is None:
        raise UnsupportedType(f"Unsupported file type: only {ALLOWED} files are accepted")
    return kind


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with BOM: NULs are expected there
    return b"\x00" not in head and not head.startswith((b"%PDF-", b"PK\x03\x04"))


def confirm_kind(kind: str, head: bytes, local_path: Callable[[], Path]) -> None:
    """Check the bytes agree with the extension, so a renamed binary is refused up front.

    ``local_path`` is called only for the Office formats (a zip is read from its end), sparing remote
    storage a download.
    """
    if kind == "pdf":
        ok = b"%PDF-" in head[:1024]
    elif kind in IMAGES:
        ok = image_kind(head) == kind
    elif kind in ZIP_MARKERS:
        ok = head.startswith(b"PK\x03\x04") and _zip_holds(local_path(), ZIP_MARKERS[kind])
    else:
        ok = _looks_like_text(head)
    if not ok:
        raise UnsupportedType(f"The file content does not match its .{kind} extension")


def image_kind(head: bytes) -> str | None:
    """Which image format the first bytes announce (None: not one we read)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def _zip_holds(path: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return member in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False

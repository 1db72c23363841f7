"""Text out of EPUB books: ebooklib reads the package, each chapter's XHTML goes through formats.html_text.

Chapters come in reading (spine) order, after the book's title. The caller has already refused zip
bombs and XML entity declarations (extract._office).
"""

from __future__ import annotations

from pathlib import Path

from socrate.processing.formats import html_text


def epub_text(path: Path) -> str:
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    parts = [str(value) for value, _attributes in book.get_metadata("DC", "title")[:1]]
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            parts.append(html_text(item.get_content().decode("utf-8", "replace"), with_title=False))
    return "\n\n".join(part for part in parts if part.strip())

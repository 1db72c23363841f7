"""Text out of EPUB books: ebooklib reads the package, each chapter's XHTML goes through formats.html_text.

Chapters come in reading (spine) order, after the book's title. Before ebooklib parses anything, every
XML member is checked for DOCTYPE entity declarations and the book is refused if it has any: a book has
no use for them, and expanding them is how an "entity bomb" spends a worker's memory. The caller has
already refused zip bombs (extract._check_zip_size).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from socrate.errors import ProcessingError
from socrate.processing.formats import html_text

ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
XML_MEMBERS = (".xml", ".opf", ".ncx", ".xhtml", ".html", ".htm")


def epub_text(path: Path) -> str:
    refuse_entities(path)
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    parts = [str(value) for value, _attributes in book.get_metadata("DC", "title")[:1]]
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            parts.append(html_text(item.get_content().decode("utf-8", "replace"), with_title=False))
    return "\n\n".join(part for part in parts if part.strip())


def refuse_entities(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.lower().endswith(XML_MEMBERS) and ENTITY.search(archive.read(info)):
                raise ProcessingError("The EPUB declares XML entities, which are refused for safety")

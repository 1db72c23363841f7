"""Text out of Word documents (python-docx), Excel workbooks (openpyxl) and PowerPoint decks (python-pptx).

A document gives its paragraphs, then its tables' rows as ``cell | cell`` lines. A sheet's rows read
like CSV rows (``header: value`` pairs, socrate/processing/formats.py) under a ``Sheet: name`` line; a
deck gives one page per slide (its shapes' text, tables, then the speaker notes), so a citation names
the slide as its page. The caller has already refused zip bombs and any part that declares XML
entities (extract._office).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from socrate.processing.formats import is_header, row_text


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def xlsx_text(path: Path, max_chars: int) -> str:
    """Every sheet's rows, values as the workbook last computed them; stops past ``max_chars``."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    lines: list[str] = []
    size = 0
    try:
        for sheet in workbook.worksheets:
            lines.append(f"Sheet: {sheet.title}")
            header: list[str] | None = None
            for values in sheet.iter_rows(values_only=True):
                cells = ["" if value is None else str(value).strip() for value in values]
                if not any(cells):
                    continue
                if header is None:
                    header = cells if is_header(cells) else []
                    if header:
                        continue
                line = row_text(header, cells)
                lines.append(line)
                size += len(line) + 1
                if size > max_chars:
                    return "\n".join(lines)  # the caller refuses text over the limit, with its reason
    finally:
        workbook.close()
    return "\n".join(lines)


def pptx_pages(path: Path) -> list[str]:
    """One text per slide: title and body shapes, table cells, then the notes."""
    from pptx import Presentation

    pages = []
    for slide in Presentation(str(path)).slides:
        parts = [_shape_text(shape) for shape in slide.shapes]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            parts.append(slide.notes_slide.notes_text_frame.text)
        pages.append("\n".join(part for part in parts if part.strip()))
    return pages


def _shape_text(shape: Any) -> str:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return str(shape.text_frame.text)
    if getattr(shape, "has_table", False) and shape.has_table:
        return "\n".join(" | ".join(cell.text for cell in row.cells) for row in shape.table.rows)
    if shape.shape_type == 6:  # a group: its shapes in order
        return "\n".join(_shape_text(inner) for inner in shape.shapes)
    return ""

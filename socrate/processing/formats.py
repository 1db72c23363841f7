"""Text out of the plain-text formats beyond TXT and Markdown: CSV and HTML, with the standard library.

CSV rows become lines of ``header: value`` pairs, so a passage keeps what each value means. HTML gives
its title and the text of ``<main>`` or ``<article>`` when the page has one, else of its body, without
scripts, styles, navigation, headers, footers, asides and forms. Neither format can pull anything in:
the HTML parser expands no entities but the standard character references, and CSV has none at all.
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from socrate.errors import ProcessingError

CSV_SAMPLE_CHARS = 64_000
CSV_MAX_FIELD_CHARS = 1_000_000
SKIPPED = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "button",
        "iframe",
        "object",
        "select",
        "head",
    ]
)
MAIN = frozenset({"main", "article"})
BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "dt",
        "dd",
        "figcaption",
        "hr",
    ]
)


def csv_text(text: str) -> str:
    """Each row as ``header: value; header: value`` (values only when the file has no header row)."""
    sample = text[:CSV_SAMPLE_CHARS]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(CSV_MAX_FIELD_CHARS)
    rows = csv.reader(io.StringIO(text), dialect)
    lines: list[str] = []
    try:
        header = [cell.strip() for cell in next(rows, [])]
        if not is_header(header):
            lines.append(row_text([], header))
            header = []
        lines += [row_text(header, row) for row in rows]
    except csv.Error as exc:
        raise ProcessingError(f"The CSV file could not be read ({exc})") from exc
    return "\n".join(line for line in lines if line)


def is_header(cells: list[str]) -> bool:
    """Names, not data: every cell filled, none a number, no two alike (the csv module's own guess
    calls a table of words headerless)."""
    numeric = any(cell.replace(".", "", 1).replace(",", "", 1).lstrip("-").isdigit() for cell in cells)
    return bool(cells) and all(cells) and not numeric and len(set(cells)) == len(cells)


def row_text(header: list[str], row: list[str]) -> str:
    """``header: value; …`` for the row's filled cells (values alone where a column has no name)."""
    cells = []
    for i, value in enumerate(row):
        value = value.strip()
        if value:
            name = header[i] if i < len(header) and header[i] else ""
            cells.append(f"{name}: {value}" if name else value)
    return "; ".join(cells)


def html_text(markup: str, *, with_title: bool = True) -> str:
    """The page's title (unless not ``with_title``: a book's chapters repeat it) and main text, blocks
    on their own lines."""
    parser = _MainText()
    parser.feed(markup)
    parser.close()
    body = parser.main if "".join(parser.main).strip() else parser.everything
    title = " ".join("".join(parser.title).split()) if with_title else ""
    return "\n".join(part for part in (title, "".join(body)) if part.strip())


class _MainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = self.in_main = 0
        self.in_title = False
        self.title: list[str] = []
        self.main: list[str] = []
        self.everything: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in SKIPPED:
            self.skipping += 1
        elif tag in MAIN:
            self.in_main += 1
        if tag in BLOCKS:
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in MAIN:
            self.in_main = max(0, self.in_main - 1)
        if tag in BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self._add(data)

    def _add(self, text: str) -> None:
        self.everything.append(text)
        if self.in_main:
            self.main.append(text)

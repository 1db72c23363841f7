"""A corpus of broken and hostile files, generated here (nothing downloaded).

Each case says what a user must see: a 4xx at upload (``status``), or a final document status
from ``finals`` with ``reason`` in its message when it fails, and what search must find in it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from tests import docgen, scangen

MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    make: Callable[[], bytes]
    status: int = 202
    finals: frozenset[str] = field(default_factory=lambda: frozenset({"failed"}))
    reason: str = ""
    findable: tuple[str, ...] = ()  # once ready, a search for each of these finds this document


def _pdf_objects(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with a correct xref table for the given object bodies."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    )
    return out.getvalue()


def pdf_claiming_100k_pages() -> bytes:
    return _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 100000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def pdf_self_referencing() -> bytes:
    return _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )


def pdf_deeply_nested() -> bytes:
    depth = 50_000
    return _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def _pdf_text_page(parent: int, font: int, contents: int) -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (parent, font, contents))  # fmt: skip


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_shared_content(pages: int = 24, operators: int = 100_000) -> bytes:
    """A few KB whose pages all point at one compressed stream of ``operators`` text operators: pypdf
    parses it again for every page (~1.3 s of CPU a page at 100,000)."""
    content = zlib.compress(b"BT /F1 1 Tf " + b"(a) Tj " * operators + b"ET", 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    return _pdf_objects([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _stream(content, b"/Filter /FlateDecode "),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[_pdf_text_page(2, 4, 3) for _ in range(pages)],
    ])  # fmt: skip


def pdf_compression_bomb() -> bytes:
    """A page whose font's /ToUnicode map inflates 100 KB into 100 MB (pypdf stops at 75 MB)."""
    bomb = zlib.compress(b" " * (100 * MB), 9)
    return _pdf_objects([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _pdf_text_page(2, 5, 4),
        _stream(b"BT /F1 12 Tf 72 700 Td (Hello bomb) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        _stream(bomb, b"/Filter /FlateDecode "),
    ])  # fmt: skip


def _docx_with(document_xml: bytes | None, extra: dict[str, bytes] | None = None) -> bytes:
    """Take a real DOCX and replace (or drop) word/document.xml."""
    source = zipfile.ZipFile(io.BytesIO(docgen.docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                if document_xml is not None:
                    zf.writestr(item.filename, document_xml)
            else:
                zf.writestr(item, source.read(item))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def docx_xxe() -> bytes:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>Secret: &xxe; end of the quarterly report text.</w:t></w:r></w:p></w:body>"
        b"</w:document>"
    )
    return _docx_with(xml)


ENTITY_BOMB_XML = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    b"<worksheet><sheetData><row><c><v>&b;&b;&b;</v></c></row></sheetData></worksheet>"
)
XXE_XML = b'<?xml version="1.0"?><!DOCTYPE p:sld [<!ENTITY x SYSTEM "file:///etc/passwd">]><p:sld>&x;</p:sld>'


def docx_zip_bomb() -> bytes:
    """~300 MB of zeros in a part, deflated to a few hundred KB."""
    return zip_bomb(_docx_with(None), "word/document.xml")


def zip_bomb(base: bytes, member: str) -> bytes:
    """``base`` (an Office zip) with ``member`` replaced by ~300 MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            if item.filename != member:
                zf.writestr(item, src.read(item))
        with zf.open(member, "w", force_zip64=True) as part:
            block = b"\0" * MB
            for _ in range(300):
                part.write(block)
    return out.getvalue()


def _replace_member(base: bytes, member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            zf.writestr(item, data if item.filename == member else src.read(item))
    return out.getvalue()


def _halved(data: bytes) -> bytes:
    return data[: len(data) // 2]


def truncated_pdf() -> bytes:
    return _halved(docgen.pdf(pages=3))


def _sha512(i: int) -> str:
    return hashlib.sha512(str(i).encode()).hexdigest()


def hash_list() -> bytes:
    """600 SHA-512 hashes, one per line: every line an unbroken 128-character "word"."""
    return "\n".join(f"{i} {_sha512(i)}" for i in range(600)).encode()


LONG_WORD_OPENING = "Afterwards the zeppelin mechanic repaired the copper valves near Bergamo."


CASES = [
    Case("empty file", "empty.txt", lambda: b"", status=400),
    Case("one byte", "one.txt", lambda: b"a", finals=frozenset({"ready", "failed"})),
    Case("wrong extension", "payload.exe", lambda: b"MZ\x90\x00", status=415),
    Case("binary named .txt", "binary.txt", lambda: bytes(range(256)) * 10, status=415),
    Case(
        "Latin-1 text",
        "latin1.txt",
        lambda: docgen.txt("it").decode().encode("latin-1"),
        finals=frozenset({"ready"}),
    ),
    Case(
        "UTF-16 text",
        "utf16.txt",
        lambda: docgen.txt("en").decode().encode("utf-16"),
        finals=frozenset({"ready"}),
    ),
    Case("PDF without text layer", "scan.pdf", lambda: docgen.pdf(pages=2, blank=True), reason="No text"),
    Case("encrypted PDF", "locked.pdf", lambda: docgen.pdf(pages=1, encrypt="pw"), reason="password"),
    Case("truncated PDF", "truncated.pdf", truncated_pdf, finals=frozenset({"ready", "failed"})),
    Case("corrupt PDF", "corrupt.pdf", lambda: b"%PDF-1.4\n" + b"\x13garbage" * 500, reason="corrupt"),
    Case("PDF header only", "header.pdf", lambda: b"%PDF-1.7\n", reason="corrupt"),
    Case("self-referencing PDF", "loop.pdf", pdf_self_referencing, finals=frozenset({"failed"})),
    Case("deeply nested PDF", "deep.pdf", pdf_deeply_nested, finals=frozenset({"failed"})),
    Case("PDF claiming 100k pages", "huge.pdf", pdf_claiming_100k_pages, reason="No text"),
    Case("PDF compression bomb", "bomb.pdf", pdf_compression_bomb, reason="compression bomb"),
    Case(
        "PDF whose pages share one huge content stream",
        "shared.pdf",
        lambda: pdf_shared_content(operators=400_000),
        reason="too complex to read in reasonable time",
    ),
    Case("DOCX zip bomb", "bomb.docx", docx_zip_bomb, reason="expands to"),
    Case("DOCX with XML external entity", "xxe.docx", docx_xxe, reason="declares XML entities"),
    Case("DOCX that is not a zip", "plain.docx", lambda: b"just words, no zip", status=415),
    Case("zip without document.xml", "empty-zip.docx", lambda: _docx_with(None), status=415),
    Case(
        "DOCX with broken XML", "broken.docx", lambda: _docx_with(b"<w:document><unclosed"), reason="corrupt"
    ),
    Case("PNG named .docx", "image.docx", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 64, status=415),
    Case("zip named .pdf", "archive.pdf", lambda: _docx_with(None), status=415),
    Case("Markdown of 50 MB on one line", "long.md", lambda: b"a" * (50 * MB), reason="characters"),
    Case("over the per-file limit", "big.txt", lambda: b"word " * (10 * MB + 1), status=413),
    Case(
        "whitespace and control characters", "blank.txt", lambda: b" \t\n\x0b\x0c\r\n" * 200, reason="No text"
    ),
    Case(
        "invalid UTF-8 high bytes",
        "mojibake.txt",
        lambda: bytes(range(0x80, 0x100)) * 40,
        finals=frozenset({"ready", "failed"}),
    ),
    Case(
        "HTML named .md",
        "page.md",
        lambda: b"<html><body><h1>Hello</h1><p>" + docgen.txt() + b"</p></body></html>",
        finals=frozenset({"ready"}),
    ),
    Case("path traversal name", "../../etc/passwd.txt", lambda: docgen.txt(), finals=frozenset({"ready"})),
    Case("NUL byte in name", "evil\x00.txt", lambda: docgen.txt(), finals=frozenset({"ready"})),
    Case("500-character name", "n" * 500 + ".txt", lambda: docgen.txt(), finals=frozenset({"ready"})),
    Case("emoji name", "📄 notes 🚀.md", lambda: docgen.markdown(), finals=frozenset({"ready"})),
    Case("RTL override name", "\u202ecod.exe\u202c.txt", lambda: docgen.txt(), finals=frozenset({"ready"})),
    Case(
        "600 SHA-512 hashes",
        "hashes.txt",
        hash_list,
        finals=frozenset({"ready"}),
        findable=(_sha512(0), _sha512(300), _sha512(599)),
    ),
    Case(
        "opens with a 10,000-character word",
        "dump.txt",
        lambda: ("f" * 10_000 + " " + LONG_WORD_OPENING).encode(),
        finals=frozenset({"ready"}),
        findable=("zeppelin mechanic copper valves",),
    ),
    Case(
        "a 30,000-character line between two sentences",
        "sequence.txt",
        lambda: (docgen.txt().decode() + " " + "ACGT" * 7_500 + " " + LONG_WORD_OPENING).encode(),
        finals=frozenset({"ready"}),
        findable=("zeppelin mechanic copper valves",),
    ),
    Case("PDF named .csv", "table.csv", lambda: docgen.pdf(pages=1), status=415),
    Case("DOCX named .xlsx", "sheet.xlsx", docgen.docx, status=415),
    Case("XLSX named .pptx", "deck.pptx", lambda: docgen.xlsx([["a"], ["b"]]), status=415),
    Case(
        "XLSX zip bomb",
        "bomb.xlsx",
        lambda: zip_bomb(docgen.xlsx([["a"], ["b"]]), "xl/worksheets/sheet1.xml"),
        reason="expands to",
    ),
    Case(
        "PPTX with a broken slide",
        "broken.pptx",
        lambda: _replace_member(docgen.pptx([("T", "B", "N")]), "ppt/slides/slide1.xml", b"<p:sld"),
        reason="The PPTX file is corrupt or unreadable",
    ),
    Case(
        "XLSX with an entity declaration",
        "entity.xlsx",
        lambda: _replace_member(docgen.xlsx([["a"], ["b"]]), "xl/worksheets/sheet1.xml", ENTITY_BOMB_XML),
        reason="declares XML entities",
    ),
    Case(
        "PPTX with an external entity",
        "xxe.pptx",
        lambda: _replace_member(docgen.pptx([("T", "B", "N")]), "ppt/slides/slide1.xml", XXE_XML),
        reason="declares XML entities",
    ),
    Case(
        "PPTX zip bomb",
        "bomb.pptx",
        lambda: zip_bomb(docgen.pptx([("T", "B", "N")]), "ppt/slides/slide1.xml"),
        reason="expands to",
    ),
    Case("XLSX cut in half", "cut.xlsx", lambda: _halved(docgen.xlsx([["a"], ["b"]] * 200)), status=415),
    Case("PPTX cut in half", "cut.pptx", lambda: _halved(docgen.pptx([("T", "B", "N")] * 5)), status=415),
    Case("DOCX cut in half", "cut.docx", lambda: _halved(docgen.docx()), status=415),
    Case("ZIP named .html", "page.html", lambda: b"PK\x03\x04" + b"\x00" * 200, status=415),
    Case(
        "CSV with a 2 MB field",
        "wide.csv",
        lambda: b"name,notes\nalice," + b"x" * 2_000_000 + b"\n",
        reason="The CSV file could not be read",
    ),
    Case(
        "CSV cut mid-quote", "cut.csv", lambda: b'name,city\n"Alice,Bologna\nBob', finals=frozenset({"ready"})
    ),
    Case(
        "HTML that is only script and navigation",
        "app.html",
        lambda: (
            b"<html><head><title></title><script>alert(1)</script></head><body><nav>Home</nav></body></html>"
        ),
        reason="No text could be extracted",
    ),
    Case("JPEG named .png", "photo.png", lambda: scangen.photo(scangen.page(["x"])), status=415),
    Case("PDF named .jpg", "photo.jpg", lambda: docgen.pdf(pages=1), status=415),
    Case("DOCX named .epub", "book.epub", docgen.docx, status=415),
    Case(
        "PNG claiming 100,000 × 100,000 pixels",
        "bomb.png",
        lambda: scangen.png_claiming(100_000, 100_000),
        reason="too large to read safely",
    ),
    Case(
        "PNG claiming 9,000 × 9,000 pixels",
        "big.png",
        lambda: scangen.png_claiming(9_000, 9_000),
        reason="megapixels",
    ),
    Case(
        "JPEG cut to a third",
        "cut.jpg",
        lambda: scangen.photo(scangen.page(["Zeppelin"]))[:5_000],
        reason="The image file is corrupt or unreadable",
    ),
    Case(
        "a photo of a blank page",
        "blank.webp",
        lambda: scangen.photo(scangen.page([]), "WEBP"),
        reason="No text could be extracted",
    ),
    Case(
        "a scanned PDF of a blank page",
        "blank.pdf",
        lambda: scangen.scanned_pdf([scangen.page([])]),
        reason="No text could be extracted",
    ),
    Case(
        "EPUB with an entity declaration",
        "entity.epub",
        lambda: _replace_member(
            docgen.epub("Book", [("One", "Zeppelin")]),
            "EPUB/chapter1.xhtml",
            b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<html><body><p>&b;&b;&b;</p></body></html>",
        ),
        reason="declares XML entities",
    ),
    Case(
        "EPUB zip bomb",
        "bomb.epub",
        lambda: zip_bomb(docgen.epub("Book", [("One", "Zeppelin")]), "EPUB/chapter1.xhtml"),
        reason="expands to",
    ),
    Case(
        "EPUB cut in half",
        "cut.epub",
        lambda: _halved(docgen.epub("Book", [("One", "Zeppelin")])),
        status=415,
    ),
    Case(
        "EPUB with a broken package file",
        "broken.epub",
        lambda: _replace_member(docgen.epub("Book", [("One", "Zeppelin")]), "EPUB/content.opf", b"<package"),
        reason="The EPUB file is corrupt or unreadable",
    ),
    Case(
        "HTML with an entity declaration",
        "entity.html",
        lambda: (
            b'<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><html><body><p>'
            b"Zeppelin mechanic copper valves &xxe; &amp; gauges</p></body></html>"
        ),
        finals=frozenset({"ready"}),
        findable=("zeppelin mechanic copper valves",),
    ),
]


def part(name: bytes, data: bytes = b"hello", filename: bytes | None = None) -> bytes:
    """One multipart/form-data part, bytes as given (boundary ``X``)."""
    disposition = (
        b'form-data; name="' + name + b'"' + (b'; filename="' + filename + b'"' if filename else b"")
    )
    return b"--X\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + data + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--X--\r\n"


@dataclass(frozen=True)
class FormCase:
    """An upload request whose form itself is the problem: the answer's status and what it says."""

    name: str
    body: Callable[[], bytes]
    status: int
    message: str


def _with_file(*parts: bytes) -> bytes:
    return multipart(*parts, part(b"file", docgen.txt(), b"a.txt"))


FORMS = [
    FormCase("too many fields", lambda: _with_file(*[part(b"f%d" % i) for i in range(200)]), 413,
             "at most 100 fields"),
    FormCase("600 KB title", lambda: _with_file(part(b"title", b"t" * 600_000)), 413,
             "text fields up to 500 KB"),
    FormCase("Latin-1 file name", lambda: multipart(part(b"file", b"words", "résumé.txt".encode("latin-1"))),
             400, "not in UTF-8"),
    FormCase("no file field", lambda: multipart(part(b"other", b"no file here")), 400,
             "No file was uploaded"),
]  # fmt: skip

# What a client sends as filename="..." (raw bytes) -> the name shown.
FILE_NAMES = [
    (b"C:\\Users\\victim\\Documents\\report.txt", "report.txt"),
    (b"\\\\server\\share\\notes.md", "notes.md"),
    (b"../../etc/passwd.txt", "passwd.txt"),
    (b'quote\\"d.txt', 'quote"d.txt'),
]

"""Generate real test documents (PDF, DOCX, TXT, Markdown, XLSX, PPTX, EPUB) in English and Italian."""

from __future__ import annotations

import io
import random

EN = [
    "The committee reviewed the annual budget and approved new funding for public libraries.",
    "Engineers tested the bridge under heavy load before opening it to traffic in the spring.",
    "Most visitors arrive by train, although the harbour also welcomes ferries from the islands.",
    "The museum keeps a collection of maps that describe how the river changed over centuries.",
    "Farmers in the valley grow apples, pears and grapes on terraces built by their ancestors.",
    "A new study suggests that regular walking improves memory and reduces stress in adults.",
    "The software team released an update that fixes several bugs reported by customers.",
    "During the winter months the mountain village depends on tourism and local crafts.",
    "Researchers measured the temperature of the lake every morning for three consecutive years.",
    "The city council plans to plant thousands of trees along the main avenues next year.",
]
IT = [
    "Il comitato ha esaminato il bilancio annuale e ha approvato nuovi fondi per le biblioteche.",
    "Gli ingegneri hanno collaudato il ponte con carichi pesanti prima di aprirlo al traffico.",
    "La maggior parte dei visitatori arriva in treno, anche se il porto accoglie i traghetti.",
    "Il museo conserva una collezione di mappe che descrivono come il fiume è cambiato nei secoli.",
    "Gli agricoltori della valle coltivano mele, pere e uva su terrazze costruite dagli antenati.",
    "Un nuovo studio suggerisce che camminare regolarmente migliora la memoria e riduce lo stress.",
    "La squadra ha rilasciato un aggiornamento che corregge diversi errori segnalati dai clienti.",
    "Durante i mesi invernali il paese di montagna vive di turismo e di artigianato locale.",
    "I ricercatori hanno misurato la temperatura del lago ogni mattina per tre anni consecutivi.",
    "Il consiglio comunale prevede di piantare migliaia di alberi lungo i viali principali.",
]


def paragraphs(lang: str, count: int, seed: int = 0, needle: str | None = None) -> list[str]:
    """``count`` paragraphs of natural sentences; ``needle`` is planted in the last one."""
    rng = random.Random(seed)
    pool = EN if lang == "en" else IT
    paras = [" ".join(rng.choice(pool) for _ in range(6)) for _ in range(count)]
    if needle and paras:
        paras[-1] += " " + needle
    return paras


def txt(lang: str = "en", count: int = 20, needle: str | None = None) -> bytes:
    return "\n\n".join(paragraphs(lang, count, needle=needle)).encode()


def markdown(lang: str = "en", count: int = 12) -> bytes:
    body = [f"## Section {i + 1}\n\n{p}" for i, p in enumerate(paragraphs(lang, count, seed=1))]
    return ("# Field notes\n\n" + "\n\n".join(body) + "\n").encode()


def docx(lang: str = "en", count: int = 15) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading("Quarterly report", 0)
    for p in paragraphs(lang, count, seed=2):
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Region", "North"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf(
    pages: int = 3,
    lang: str = "en",
    encrypt: str | None = None,
    blank: bool = False,
    paragraphs_per_page: int = 4,
    needle: str | None = None,
    needle_page: int = 1,
) -> bytes:
    """A multi-page PDF with wrapped text on every page (or only shapes when ``blank``); ``needle`` is
    planted in the last paragraph of page ``needle_page`` (1-based)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, encrypt=encrypt)
    for page in range(pages):
        if blank:
            c.rect(100, 100, 200, 200)
        else:
            y = 800
            planted = needle if page + 1 == needle_page else None
            for para in paragraphs(lang, paragraphs_per_page, seed=page, needle=planted):
                words, line = para.split(), ""
                for word in words:
                    if len(line) + len(word) > 90:
                        c.drawString(40, y, line)
                        y, line = y - 14, ""
                    line = f"{line} {word}".strip()
                c.drawString(40, y, line)
                y -= 24
        c.showPage()
    c.save()
    return out.getvalue()


def xlsx(rows: list[list[object]], sheet: str = "Fleet") -> bytes:
    """A workbook with one sheet of ``rows`` (the first being the header)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pptx(slides: list[tuple[str, str, str]]) -> bytes:
    """A deck with one slide per (title, body, speaker notes)."""
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def epub(title: str, chapters: list[tuple[str, str]]) -> bytes:
    """A book with one chapter per (heading, paragraph), a table of contents and its navigation page."""
    from ebooklib import epub as ebook

    book = ebook.EpubBook()
    book.set_identifier(f"test-{title}")
    book.set_title(title)
    book.set_language("en")
    pages = []
    for number, (heading, text) in enumerate(chapters, start=1):
        page = ebook.EpubHtml(title=heading, file_name=f"chapter{number}.xhtml", lang="en")
        page.content = f"<html><body><h1>{heading}</h1><p>{text}</p></body></html>"
        book.add_item(page)
        pages.append(page)
    book.toc = pages
    book.add_item(ebook.EpubNcx())
    book.add_item(ebook.EpubNav())
    book.spine = ["nav", *pages]
    out = io.BytesIO()
    ebook.write_epub(out, book)
    return out.getvalue()

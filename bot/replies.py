"""Everything the bot says that is more than a line: progress bars, summaries, errors, passages."""

from __future__ import annotations

from socrate.documents.lifecycle import Status
from socrate.errors import NotFound, ServiceUnavailable, SocrateError
from socrate.processing.filetypes import ALLOWED
from socrate.search.ask import Citation, Done
from socrate.search.citations import cited as cited_numbers
from socrate.search.citations import pages
from socrate.telegram.chat_status import ChatStatus

TELEGRAM_TEXT_LIMIT = 4096
BAR_CELLS = 10
APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
HELP = (
    f"Send me a {ALLOWED} file, a photo, an album (one document, a page per photo) or a link, "
    "and I will turn it into a searchable memory; a caption becomes its title.\n\n"
    "/docs – your documents\n"
    "/status <id> – how a document is doing\n"
    "/delete <id> – delete a document\n"
    "/ask <question> – ask about your ready documents (or just type the question)\n"
    "/link <code> – connect this chat to your dashboard account\n"
    "/help – this message"
)
COMMANDS = [
    ("docs", "Your documents"),
    ("status", "How a document is doing: /status <id>"),
    ("delete", "Delete a document: /delete <id>"),
    ("ask", "Ask about your documents: /ask <question>"),
    ("link", "Connect to your dashboard account: /link <code>"),
    ("help", "What I can do"),
]
STATUS_ICONS: dict[str, str] = {
    Status.QUEUED: "⏳",
    Status.PROCESSING: "⚙️",
    Status.READY: "✅",
    Status.FAILED: "❌",
    Status.CANCELLED: "🚫",
}


def explain(exc: SocrateError) -> str:
    """The one mapping from domain errors to chat replies."""
    if isinstance(exc, NotFound):
        return "Not found: there is no such document in your space." if exc.message in (
            "document not found", "not found") else exc.message  # fmt: skip
    if isinstance(exc, ServiceUnavailable):
        return "Socrate is briefly unavailable. Please try again in a minute."
    return exc.message


def bar(progress: int) -> str:
    filled = max(0, min(BAR_CELLS, round(progress * BAR_CELLS / 100)))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def icon(status: str) -> str:
    return STATUS_ICONS.get(status, "•")


def facts(chunks: int | None, language: str | None, pages: int | None, tokens: int | None) -> str:
    """What encoding learnt about a document, the known parts only (``3 chunks · language en · …``)."""
    parts = [f"{chunks} chunks" if chunks else "", f"language {language}" if language else "",
             f"{pages} pages" if pages else "", f"{tokens} tokens" if tokens else ""]  # fmt: skip
    return " · ".join(part for part in parts if part)


def progress_text(doc: ChatStatus) -> str:
    """The status message while the document moves, and its final form."""
    icon_, short_id = icon(doc.status), f"id {doc.document_id[:8]}"  # what /status and /delete take
    if doc.status == Status.READY:
        rest = facts(None, doc.language, doc.pages, doc.total_tokens)
        summary = " · ".join(filter(None, [f"{doc.total_chunks or 0} chunks", rest]))
        return (f"{icon_} {doc.filename} is ready · {short_id}\n{bar(100)} 100% · Complete\n{summary}"
                "\n\nAsk me about it: /ask <question>")  # fmt: skip
    if doc.status == Status.FAILED:
        reason = doc.error_message or doc.message
        return f"{icon_} {doc.filename} could not be processed ({short_id}).\n{reason}"
    if doc.status == Status.CANCELLED:
        return f"{icon_} {doc.filename} was cancelled ({short_id})."
    return f"{icon_} {doc.filename} · {short_id}\n{bar(doc.progress)} {doc.progress}% · {doc.message}"


def trim_message(text: str) -> str:
    return fit(text, TELEGRAM_TEXT_LIMIT)


def already_in_library(filename: str, document_id: str) -> str:
    """A file the chat's tenant already has: nothing was stored again."""
    return f"📚 Already in your library: {filename} ({document_id[:8]}).\nAsk me about it: /ask <question>"


def answer_growing(text: str) -> str:
    """The answer while it streams in: what the model has written so far."""
    return trim_message("💬 " + text.strip())


def answer_final(done: Done, cited: list[Citation]) -> str:
    """The answer, a note if the model failed, and the sources its markers name, in Telegram's limit."""
    used = [c for c in cited if c.n in set(cited_numbers(done.answer))]
    sources = "\n".join(f"[{c.n}] {source(c)}" for c in used)
    note = "".join(f"\n\n{mark} {line}." for mark, line in (("ℹ️", done.message), ("⚠️", done.warning)) if line)
    tail = f"{note}\n\n📚 Sources:\n{sources}" if sources else note
    head = "💬 "
    return head + fit(done.answer, TELEGRAM_TEXT_LIMIT - utf16_len(head + tail)) + tail


def source(citation: Citation) -> str:
    """The citation as people read it: "report.pdf p. 12", or the file name alone without pages."""
    return " ".join(
        part for part in (citation.filename, pages(citation.page_start, citation.page_end)) if part
    )


def utf16_len(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units: an emoji is two."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text``, or its beginning cut at a word boundary with an ellipsis, within ``limit`` units."""
    if utf16_len(text) <= limit:
        return text
    head = text.encode("utf-16-le")[: 2 * (limit - 1)].decode("utf-16-le", errors="ignore")
    return (head.rsplit(" ", 1)[0] if " " in head else head) + "…"

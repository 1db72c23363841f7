"""Everything the bot says that is more than a line: progress bars, summaries, errors, passages."""

from __future__ import annotations

from socrate.documents.lifecycle import Status
from socrate.errors import NotFound, ServiceUnavailable, SocrateError
from socrate.search import SearchResponse
from socrate.telegram.chat_status import ChatStatus

TELEGRAM_TEXT_LIMIT = 4096
BAR_CELLS = 10
PASSAGE_CHARS = 900
APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
HELP = (
    "Send me a PDF, TXT, Markdown or DOCX file and I will turn it into a searchable memory.\n\n"
    "/docs – your documents\n"
    "/status <id> – how a document is doing\n"
    "/delete <id> – delete a document\n"
    "/ask <question> – search your ready documents (or just type the question)\n"
    "/link <code> – connect this chat to your dashboard account\n"
    "/help – this message"
)
COMMANDS = [
    ("docs", "Your documents"),
    ("status", "How a document is doing: /status <id>"),
    ("delete", "Delete a document: /delete <id>"),
    ("ask", "Search your documents: /ask <question>"),
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


def trim(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, so passages never break Telegram's message limit."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def answer_text(response: SearchResponse) -> str:
    """The best passages with their document names, or a plain "nothing found"."""
    if not response.results:
        reason = response.message or "Nothing found"
        return f"🔎 Nothing found for “{trim(response.query, 200)}”. ({reason}.)"
    parts = [f"🔎 Best passages for “{trim(response.query, 200)}”:"]
    for number, hit in enumerate(response.results, 1):
        passage = trim(hit.snippet, PASSAGE_CHARS)
        where = f"{hit.filename} · {pages(hit.page_start, hit.page_end)}" if hit.page_start else hit.filename
        parts.append(f"{number}. 📄 {where} (score {hit.score:.2f})\n{passage}")
    return trim_message("\n\n".join(parts))


def pages(start: int, end: int | None) -> str:
    """``p. 12`` or ``p. 12–13``."""
    return f"p. {start}" if end in (None, start) else f"p. {start}–{end}"


def trim_message(text: str) -> str:
    return text if len(text) <= TELEGRAM_TEXT_LIMIT else text[: TELEGRAM_TEXT_LIMIT - 1] + "…"

"""Command and message handlers: parse, take the gate's tenant, call one service, reply."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import answers, replies, services
from socrate import logs
from socrate.db import session_scope
from socrate.db.models import Document
from socrate.documents import service as documents
from socrate.documents.lifecycle import ACTIVE, Status
from socrate.errors import SocrateError
from socrate.processing import filetypes
from socrate.search import ask as ask_service
from socrate.telegram import users as telegram_users

log = logging.getLogger(__name__)
PAGE_SIZE = 5
ANSWER_PASSAGES = 3
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
T = TypeVar("T")


def replies_errors(handler: Handler) -> Handler:
    """Domain errors become a readable reply; anything else goes to the error handler's apology."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await handler(update, context)
        except SocrateError as exc:
            await _say(update, replies.explain(exc))

    return wrapper


async def _say(update: Update, text: str, **kwargs: Any) -> None:
    if update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.edit_message_text(text, **kwargs)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, **kwargs)


def _in_session(context: ContextTypes.DEFAULT_TYPE, work: Callable[..., T], *args: Any) -> Awaitable[T]:
    """Run ``work(session, tenant_id, *args)`` in a thread with a fresh session."""
    svc, tenant_id = services.of(context), services.tenant_of(context)

    def run() -> T:
        with session_scope(svc.ctx.sessions) as session:
            return work(session, tenant_id, *args)

    return asyncio.to_thread(run)


@replies_errors
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.args:
        await link(update, context)
        return
    new_user = services.user_data(context).get("new_user")
    greeting = "Welcome to Socrate! Your personal space is ready." if new_user else "Welcome back to Socrate."
    await _say(update, f"{greeting}\n\n{replies.HELP}")


async def help_command(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, replies.HELP)


@replies_errors
async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        await _say(update, "Send /link <code>, with the code from the dashboard's Telegram page.")
        return
    svc, telegram_id, code = services.of(context), update.effective_user.id, context.args[0]  # type: ignore[union-attr]

    def redeem() -> str:
        with session_scope(svc.ctx.sessions) as session:
            return telegram_users.redeem_code(session, telegram_id, code)

    services.user_data(context)["tenant_id"] = await asyncio.to_thread(redeem)
    await _say(update, "🔗 Linked! Documents you send here now appear in your dashboard, and you can "
                       "search the dashboard's documents here. Earlier chat documents stay in your "
                       "personal space.")  # fmt: skip


def _docs_page(session: Any, tenant_id: str, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    rows, total = documents.list_documents(session, tenant_id, limit=PAGE_SIZE, offset=offset)
    if not rows:
        return f"You have no documents yet. Send me a {filetypes.ALLOWED} file, a photo or a link.", None
    lines = [f"Your documents ({offset + 1}–{offset + len(rows)} of {total}, newest first):"]
    lines += [_doc_line(doc) for doc in rows]
    buttons = []
    if offset > 0:
        buttons.append(InlineKeyboardButton("◀ Newer", callback_data=f"docs:{max(0, offset - PAGE_SIZE)}"))
    if offset + PAGE_SIZE < total:
        buttons.append(InlineKeyboardButton("Older ▶", callback_data=f"docs:{offset + PAGE_SIZE}"))
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None


def _doc_line(doc: Document) -> str:
    state = f"{doc.status} {doc.progress}%" if doc.status in ACTIVE else doc.status
    return f"{replies.icon(doc.status)} {doc.filename} · {state} · id {doc.id[:8]}"


@replies_errors
async def docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    offset = 0
    if update.callback_query is not None:
        await update.callback_query.answer()
        offset = int((update.callback_query.data or "docs:0").split(":", 1)[1])
    text, markup = await _in_session(context, _docs_page, offset)
    await _say(update, text, reply_markup=markup)


def _details(doc: Document) -> str:
    lines = [f"{replies.icon(doc.status)} {doc.filename}", f"id {doc.id}",
             f"Status: {doc.status} · {doc.progress}%"]  # fmt: skip
    if doc.status == Status.FAILED:
        lines.append(f"Reason: {doc.error_message}")
    elif doc.message:
        lines.append(doc.message)
    if known := replies.facts(doc.total_chunks, doc.language, doc.pages, doc.total_tokens):
        lines.append(known)
    lines.append(f"Sent via {doc.source}, {doc.created_at:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


async def _named_document(
    update: Update, context: ContextTypes.DEFAULT_TYPE, command: str
) -> Document | None:
    """The document ``/command <id>`` names, or None after telling the user how to name one."""
    if not context.args:
        await _say(update, f"Send /{command} <id>; /docs lists your documents with their ids.")
        return None
    return await _in_session(context, documents.find, context.args[0])


@replies_errors
async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if doc := await _named_document(update, context, "status"):
        await _say(update, _details(doc))


@replies_errors
async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not (doc := await _named_document(update, context, "delete")):
        return
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("🗑 Delete", callback_data=f"del:{doc.id}"),
                                     InlineKeyboardButton("Keep", callback_data="keep")]])  # fmt: skip
    await _say(update, f"Delete {doc.filename} and its memory? This cannot be undone.", reply_markup=buttons)


@replies_errors
async def confirm_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()  # type: ignore[union-attr]
    if query.data == "keep":  # type: ignore[union-attr]
        await _say(update, "Kept. Nothing was deleted.")
        return
    document_id = query.data.split(":", 1)[1]  # type: ignore[union-attr]
    svc = services.of(context)

    def remove(session: Any, tenant_id: str) -> str:
        doc = documents.get(session, tenant_id, document_id)
        documents.delete(
            session,
            tenant_id,
            document_id,
            storage=svc.ctx.storage,
            queue=svc.queue,
            settings=svc.ctx.settings,
        )
        return doc.filename

    filename = await _in_session(context, remove)
    await _say(update, f"🗑 Deleted {filename}.")


@replies_errors
async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    question = " ".join(context.args) if context.args is not None else (message.text if message else "")
    if question is None or not question.strip():
        await _say(update, "Ask me something: /ask <question>, or just type your question.")
        return
    svc, tenant_id = services.of(context), services.tenant_of(context)
    asked = await asyncio.to_thread(ask_service.prepare, svc.ctx, tenant_id, question, k=ANSWER_PASSAGES)
    if message is None:
        return
    growing = await message.reply_text("💬 …")
    await answers.stream_into(growing, asked, svc.settings.telegram_edit_interval_seconds)


async def not_a_document(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, f"I can only read documents: send a {filetypes.ALLOWED} file as a file (📎 → File), "
                       "a photo, an album or a link, not a sticker, voice or video message.")  # fmt: skip


async def unknown_command(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, f"I don't know that command.\n\n{replies.HELP}")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with context, apologise to the user, keep the bot running for everyone else."""
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    tenant_id = context.user_data.get("tenant_id") if context.user_data else None
    log.error(
        "bot handler failed", extra=logs.fields(chat_id=chat_id, tenant_id=tenant_id), exc_info=context.error
    )
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(replies.APOLOGY)
        except Exception:  # the apology itself failed (network): already logged above
            log.warning("could not send apology", extra=logs.fields(chat_id=chat_id))

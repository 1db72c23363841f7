"""Documents sent in the chat (files, photos, links): check, download, hand to the document service,
start the status message that the progress follower then edits (bot/progress.py)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import IO, BinaryIO, cast

from telegram import Document, Message, PhotoSize, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import replies, services
from socrate import logs
from socrate.db import session_scope
from socrate.documents import links
from socrate.documents import service as documents
from socrate.errors import SocrateError
from socrate.processing import filetypes

log = logging.getLogger(__name__)
MB = 1024 * 1024
TELEGRAM_DOWNLOAD_LIMIT = 20 * MB  # the Bot API refuses getFile above this
SPOOL_BYTES = 1 * MB
LINK_ONLY = r"(?i)^\s*https?://\S+\s*$"  # the whole message is one address: anything more is a question
Chat = tuple[int, int]  # the status message: (chat id, message id)
Fill = Callable[[IO[bytes]], Awaitable[None]]  # writes a document's bytes into the buffer it is given


def _over_telegram_limit(size: int | None) -> str:
    this = f"This file is {size / MB:.1f} MB" if size else "This file is over 20 MB"
    return (f"{this}, but Telegram lets bots download files up to 20 MB. "
            "Upload it on the dashboard or through the API instead.")  # fmt: skip


def too_big(size: int | None, limit_bytes: int) -> str | None:
    if size is None:
        return None
    if size > TELEGRAM_DOWNLOAD_LIMIT:
        return _over_telegram_limit(size)
    if size > limit_bytes:
        return f"This file is {size / MB:.1f} MB; the limit is {limit_bytes // MB} MB per file."
    return None


def stamp(sent_at: datetime) -> str:
    """When a photo was sent, as its file name shows it (UTC): photos carry no name of their own."""
    return f"{sent_at.astimezone(UTC):%Y-%m-%d-%H%M}"


def title_from(caption: str | None) -> str | None:
    """A caption as the document's title, on one line: captions often have several, titles may not."""
    return " ".join((caption or "").split()) or None


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = cast(Message, update.effective_message)
    sent = cast(Document, message.document)
    await _receive(context, message, sent.file_name or "document", sent)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A single photo; an album's photos go to bot/albums.py."""
    message = cast(Message, update.effective_message)
    await _receive(context, message, f"photo-{stamp(message.date)}.jpg", message.photo[-1])  # the largest


async def _receive(
    context: ContextTypes.DEFAULT_TYPE, message: Message, name: str, sent: Document | PhotoSize
) -> None:
    refusal = too_big(sent.file_size, services.of(context).settings.max_upload_bytes)
    try:
        filetypes.kind_from_name(name)
    except SocrateError as exc:
        refusal = refusal or replies.explain(exc)
    if refusal:
        await message.reply_text(f"❌ {name}: {refusal}")
        return
    status = await message.reply_text(f"📥 {name}\nReceived, saving…")
    await save(context, status, name, title_from(message.caption), _download(sent))


def _download(sent: Document | PhotoSize) -> Fill:
    async def fill(buffer: IO[bytes]) -> None:
        remote = await sent.get_file()
        await remote.download_to_memory(cast(BinaryIO, buffer))  # a binary file, as PTB asks for

    return fill


async def save(
    context: ContextTypes.DEFAULT_TYPE, status: Message, name: str, title: str | None, fill: Fill
) -> None:
    """``fill`` a spooled buffer and create the document ``name`` (titled ``title``) that ``status``
    follows; files, photos and albums differ only in how they fill it."""
    svc, tenant_id = services.of(context), services.tenant_of(context)

    async def create(chat: Chat) -> documents.Created:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as buffer:
            await fill(buffer)
            buffer.seek(0)
            upload = documents.Upload(name, buffer, title)
            return await asyncio.to_thread(_in_session, svc, documents.create, tenant_id, upload, chat)

    await _follow(context, status, f"{name}: ", create)


async def on_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message that is only a link: the worker downloads it (the service checks the address first)."""
    message = cast(Message, update.effective_message)
    url = cast(str, message.text).strip()
    svc, tenant_id = services.of(context), services.tenant_of(context)
    status = await message.reply_text(f"🔗 {url}\nReceived, downloading…")

    def create(chat: Chat) -> Awaitable[documents.Created]:
        return asyncio.to_thread(_in_session, svc, links.create_from_link, tenant_id, url, chat)

    await _follow(context, status, "", create)


async def _follow(
    context: ContextTypes.DEFAULT_TYPE,
    status: Message,
    label: str,
    create: Callable[[Chat], Awaitable[documents.Created]],
) -> None:
    """Make the document ``status`` follows; a failure ends on ``status`` (after ``label``) as a readable
    reason, once, and a duplicate says where the file already is."""
    tenant_id, chat = services.tenant_of(context), (status.chat_id, status.message_id)
    try:
        created = await create(chat)
    except SocrateError as exc:
        await status.edit_text(f"❌ {label}{replies.explain(exc)}")
        return
    except Exception as exc:  # download or storage trouble: say so on the status message, once
        if isinstance(exc, BadRequest) and "too big" in exc.message.lower():
            # the update carried no file_size, and getFile refuses files over 20 MB
            await status.edit_text(f"❌ {label}{_over_telegram_limit(None)}")
            return
        log.exception("telegram upload failed", extra=logs.fields(tenant_id=tenant_id, chat_id=chat[0]))
        await status.edit_text(f"❌ {label}{replies.APOLOGY}")
        return
    doc = created.document
    if created.duplicate:  # nothing new: the status message just says where it already is
        await status.edit_text(replies.already_in_library(doc.filename, doc.id))
        return
    # From here the progress follower owns the status message (see bot/progress.py).
    log.info("telegram upload", extra=logs.fields(tenant_id=tenant_id, document_id=doc.id, chat_id=chat[0]))


def _in_session(
    svc: services.BotServices,
    make: Callable[..., documents.Created],
    tenant_id: str,
    what: documents.Upload | str,
    chat: Chat,
) -> documents.Created:
    """``documents.create`` or ``links.create_from_link`` for the chat's tenant, in a fresh session."""
    with session_scope(svc.ctx.sessions) as session:
        return make(session, tenant_id, what, source="telegram", storage=svc.ctx.storage,
                    queue=svc.queue, settings=svc.settings, chat=chat)  # fmt: skip

"""Documents sent in the chat: check, download, hand to the document service, start the status message."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from typing import IO, BinaryIO, cast

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import replies, services
from socrate import logs
from socrate.db import session_scope
from socrate.documents import service as documents
from socrate.errors import SocrateError
from socrate.processing import filetypes

log = logging.getLogger(__name__)
MB = 1024 * 1024
TELEGRAM_DOWNLOAD_LIMIT = 20 * MB  # the Bot API refuses getFile above this
SPOOL_BYTES = 1 * MB


def _over_telegram_limit(size: int | None) -> str:
    this = f"This file is {size / MB:.1f} MB" if size else "This file is over 20 MB"
    return (f"{this}, but Telegram lets bots download files up to 20 MB. "
            "Upload it on the dashboard or through the API instead.")  # fmt: skip


def _too_big(size: int | None, limit_bytes: int) -> str | None:
    if size is None:
        return None
    if size > TELEGRAM_DOWNLOAD_LIMIT:
        return _over_telegram_limit(size)
    if size > limit_bytes:
        return f"This file is {size / MB:.1f} MB; the limit is {limit_bytes // MB} MB per file."
    return None


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    sent = message.document  # type: ignore[union-attr]
    svc, tenant_id = services.of(context), services.tenant_of(context)
    name = sent.file_name or "document"  # type: ignore[union-attr]
    refusal = _too_big(sent.file_size, svc.settings.max_upload_bytes)  # type: ignore[union-attr]
    try:
        filetypes.kind_from_name(name)
    except SocrateError as exc:
        refusal = refusal or replies.explain(exc)
    if refusal:
        await message.reply_text(f"❌ {name}: {refusal}")  # type: ignore[union-attr]
        return
    status = await message.reply_text(f"📥 {name}\nReceived, saving…")  # type: ignore[union-attr]
    chat = (status.chat_id, status.message_id)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as buffer:
        try:
            remote = await sent.get_file()  # type: ignore[union-attr]
            await remote.download_to_memory(cast(BinaryIO, buffer))  # a binary file, as PTB asks for
            buffer.seek(0)
            doc_id, duplicate_of = await asyncio.to_thread(_create, svc, tenant_id, name, buffer, chat)
        except SocrateError as exc:
            await status.edit_text(f"❌ {name}: {replies.explain(exc)}")
            return
        except Exception as exc:  # download or storage trouble: say so on the status message, once
            if isinstance(exc, BadRequest) and "too big" in exc.message.lower():
                # the update carried no file_size, and getFile refuses files over 20 MB
                await status.edit_text(f"❌ {name}: {_over_telegram_limit(None)}")
                return
            log.exception("telegram upload failed", extra=logs.fields(tenant_id=tenant_id, chat_id=chat[0]))
            await status.edit_text(f"❌ {name}: {replies.APOLOGY}")
            return
    if duplicate_of is not None:  # nothing new: the status message just says where it already is
        await status.edit_text(replies.already_in_library(duplicate_of, doc_id))
        return
    # From here the progress follower owns the status message (see bot/progress.py).
    log.info("telegram upload", extra=logs.fields(tenant_id=tenant_id, document_id=doc_id, chat_id=chat[0]))


def _create(
    svc: services.BotServices, tenant_id: str, name: str, stream: IO[bytes], chat: tuple[int, int]
) -> tuple[str, str | None]:
    """(document id, None) for a new document; (existing id, its file name) for a duplicate."""
    upload = documents.Upload(name, stream)
    with session_scope(svc.ctx.sessions) as session:
        created = documents.create(session, tenant_id, upload, source="telegram", storage=svc.ctx.storage,
                                   queue=svc.queue, settings=svc.settings, chat=chat)  # fmt: skip
        return created.document.id, created.document.filename if created.duplicate else None

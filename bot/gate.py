"""The tenant gate: runs before every handler, rate-limits the user and resolves their tenant once."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import services
from socrate import logs
from socrate.db import session_scope
from socrate.errors import RateLimited
from socrate.ratelimit import Limit
from socrate.telegram import users as telegram_users

log = logging.getLogger(__name__)
GROUP = -1
WARNINGS = Limit(1, 60)  # slow-down replies per user


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    svc = services.of(context)
    limit = Limit(svc.settings.telegram_messages_per_minute, 60)
    try:
        await asyncio.to_thread(svc.limiter.hit, "telegram", str(user.id), limit)
    except RateLimited as exc:
        try:
            await _warn_once(update, svc, user.id, exc.retry_after)
        finally:  # stopped whatever happens while warning
            raise ApplicationHandlerStop from None

    def resolve() -> telegram_users.ChatUser:
        with session_scope(svc.ctx.sessions) as session:
            return telegram_users.resolve(session, user.id, user.full_name, svc.settings)

    who = await asyncio.to_thread(resolve)
    services.user_data(context)["tenant_id"] = who.tenant_id
    services.user_data(context)["new_user"] = who.created


async def _warn_once(update: Update, svc: services.BotServices, user_id: int, retry_after: int) -> None:
    """One "slow down" per user per minute, sent best-effort: the message is stopped either way, and a
    429 from Telegram on the warning itself is no reason to let it through."""
    if update.effective_message is None:
        return
    try:
        await asyncio.to_thread(svc.limiter.hit, "telegram-warned", str(user_id), WARNINGS)
    except RateLimited:
        return
    try:
        await update.effective_message.reply_text(
            f"You are sending messages faster than I can read them. Try again in {retry_after} s."
        )
    except TelegramError as exc:
        log.info("slow-down warning not sent", extra=logs.fields(user_id=user_id, error=repr(exc)))

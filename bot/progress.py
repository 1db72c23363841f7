"""Follows documents sent in chats and edits each one's status message as the worker reports progress.

State lives in the database (``socrate.telegram.chat_status``), so a restarted bot resumes every message
and the final edit is claimed atomically: each document gets exactly one final message. Edits are
throttled per chat, identical texts are skipped, and Telegram's flood control (RetryAfter) pauses
that chat for as long as Telegram asks.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot import replies
from bot.services import BotServices
from socrate import logs
from socrate.telegram import chat_status
from socrate.telegram.chat_status import ChatStatus

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
FINAL_ATTEMPTS = 5


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram's flood control asks us to wait (a number or a timedelta, by PTB version)."""
    after = exc.retry_after
    return float(after) if isinstance(after, int | float) else after.total_seconds()


class ProgressFollower:
    def __init__(self, bot: Bot, svc: BotServices) -> None:
        self.bot, self.svc = bot, svc
        self.interval = svc.settings.telegram_edit_interval_seconds
        self.shown: dict[str, str] = {}  # document id -> text last put on its message
        self.quiet_until: dict[int, float] = {}  # chat id -> monotonic time of its next allowed edit
        self.delivering: set[str] = set()

    async def run(self) -> None:
        """Poll until cancelled; one bad tick (database down, network) never stops the loop."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("progress follower tick failed")
            await asyncio.sleep(POLL_SECONDS)

    async def tick(self) -> None:
        rows = await asyncio.to_thread(self._pending)
        followed = {row.document_id for row in rows}
        self.shown = {doc_id: text for doc_id, text in self.shown.items() if doc_id in followed}
        for row in rows:
            if row.document_id in self.delivering or time.monotonic() < self.quiet_until.get(row.chat_id, 0):
                continue
            text = replies.progress_text(row)
            if row.final:
                if await asyncio.to_thread(self._claim, row):
                    self.delivering.add(row.document_id)
                    asyncio.get_running_loop().create_task(self._deliver_final(row, text))
            elif text != self.shown.get(row.document_id):
                try:
                    await self._edit(row, text)
                except (BadRequest, Forbidden, NetworkError) as exc:  # one chat's trouble never stalls others
                    log.warning(
                        "progress edit failed",
                        extra=logs.fields(document_id=row.document_id, chat_id=row.chat_id, error=repr(exc)),
                    )
                    self.shown[row.document_id] = text

    def _pending(self) -> list[ChatStatus]:
        with self.svc.ctx.read_engine.connect() as conn:
            return chat_status.pending(conn)

    def _claim(self, row: ChatStatus) -> bool:
        with self.svc.ctx.read_engine.connect() as conn:
            return chat_status.claim_final(conn, row.tenant_id, row.document_id)

    async def _edit(self, row: ChatStatus, text: str) -> bool:
        """One edit of the status message; False if it must be tried again later."""
        self.quiet_until[row.chat_id] = time.monotonic() + self.interval
        try:
            await self.bot.edit_message_text(text, chat_id=row.chat_id, message_id=row.message_id)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            self.quiet_until[row.chat_id] = time.monotonic() + wait
            log.info("flood control", extra=logs.fields(chat_id=row.chat_id, retry_after=wait))
            return False
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
        self.shown[row.document_id] = text
        return True

    async def _deliver_final(self, row: ChatStatus, text: str) -> None:
        """The claimed final message: edit the status message, or send a new one if it is gone."""
        try:
            for _attempt in range(FINAL_ATTEMPTS):
                await asyncio.sleep(max(0.0, self.quiet_until.get(row.chat_id, 0) - time.monotonic()))
                try:
                    if await self._edit(row, text):
                        return
                except BadRequest:  # deleted or too old to edit: a fresh message still tells the user
                    await self.bot.send_message(row.chat_id, text)
                    return
                except NetworkError:
                    self.quiet_until[row.chat_id] = time.monotonic() + self.interval
            log.error(
                "final message not delivered",
                extra=logs.fields(document_id=row.document_id, chat_id=row.chat_id),
            )
        except Forbidden:  # the user blocked the bot
            log.info("chat gone", extra=logs.fields(document_id=row.document_id, chat_id=row.chat_id))
        finally:
            self.delivering.discard(row.document_id)

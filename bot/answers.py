"""Streams an answer (socrate.search.ask) into one chat message: "typing…" while the model thinks,
the text growing in edits at most every TELEGRAM_EDIT_INTERVAL_SECONDS, and at the end the answer
with its sources ("[1] report.pdf p. 12"), within Telegram's 4,096 characters.

The answer is produced on a worker thread (it reads the database and waits on the model); events
cross to the event loop through a queue, so the loop never blocks and other chats keep being served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, RetryAfter

from bot import replies
from bot.progress import retry_seconds
from socrate import logs
from socrate.search import ask

log = logging.getLogger(__name__)

TYPING_EVERY = 4.0  # Telegram shows "typing…" for 5 s per action
WRITING = " ✍️"


async def stream_into(message: Message, asked: ask.Asked, interval: float) -> None:
    """Edit ``message`` as the answer grows; its last edit is the final answer with its sources."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[ask.Event | None] = asyncio.Queue()

    def produce() -> None:
        try:
            for event in asked.events():
                loop.call_soon_threadsafe(events.put_nowait, event)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, None)

    producer = asyncio.ensure_future(asyncio.to_thread(produce))
    typing = asyncio.ensure_future(_typing(message))
    cited: list[ask.Citation] = []
    text, shown, next_edit = "", message.text or "", time.monotonic() + interval
    final: ask.Done | None = None
    try:
        while (event := await events.get()) is not None:
            if isinstance(event, ask.Citations):
                cited = event.citations
            elif isinstance(event, ask.Token):
                typing.cancel()
                text += event.text
                if time.monotonic() >= next_edit:
                    shown = await _edit(message, shown, replies.answer_growing(text + WRITING))
                    next_edit = time.monotonic() + interval
            else:
                final = event
        await producer  # re-raises what went wrong on the thread
    finally:
        typing.cancel()
        producer.cancel()
    assert final is not None
    await _edit(message, shown, replies.answer_final(final, cited), final=True)


async def _typing(message: Message) -> None:
    with contextlib.suppress(Exception):  # a lost "typing…" is cosmetic
        while True:
            await message.chat.send_action(ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY)


async def _edit(message: Message, shown: str, text: str, final: bool = False) -> str:
    """Edit unless nothing changed; flood control skips an intermediate edit and waits for the last."""
    if text == shown:
        return shown
    for _attempt in range(3):
        try:
            await message.edit_text(text)
            return text
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            log.info("flood control", extra=logs.fields(chat_id=message.chat_id, retry_after=wait))
            if not final:
                return shown
            await asyncio.sleep(wait)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
            return text
    return shown

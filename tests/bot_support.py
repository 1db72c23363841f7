"""Helpers for bot tests: the bot's environment, and reading one document's status message."""

from __future__ import annotations

import re

from tests.fake_telegram import BotMessage, FakeTelegram

FINAL_MARKS = ("is ready", "could not be processed", "was cancelled")


def bot_env(services: dict[str, str], fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {**services, **fake.env, "TELEGRAM_EDIT_INTERVAL_SECONDS": "0.3", **extra}


def status_messages(fake: FakeTelegram, chat_id: int, filename: str) -> list[BotMessage]:
    """The bot's messages in this chat that follow ``filename`` (the first text names the file)."""
    return [m for m in fake.chat(chat_id) if m.texts[0].startswith(f"📥 {filename}")]


def final_status(fake: FakeTelegram, chat_id: int, filename: str, timeout: float = 240) -> BotMessage:
    """Wait until the one status message for ``filename`` shows a final state; return it."""

    def done() -> BotMessage | None:
        found = status_messages(fake, chat_id, filename)
        return found[0] if found and any(mark in found[0].text for mark in FINAL_MARKS) else None

    return fake.wait(done, timeout=timeout, what=f"the final status of {filename}")


def percentages(message: BotMessage) -> list[int]:
    return [int(m.group(1)) for text in message.texts if (m := re.search(r" (\d+)% · ", text))]


def reply_to(
    fake: FakeTelegram, chat_id: int, after: int, contains: str = "", timeout: float = 60
) -> BotMessage:
    """The first bot message in the chat after the first ``after`` ones (optionally containing a text)."""

    def found() -> BotMessage | None:
        fresh = [m for m in fake.chat(chat_id)[after:] if contains in m.text]
        return fresh[0] if fresh else None

    return fake.wait(found, timeout=timeout, what=f"a reply containing {contains!r} in chat {chat_id}")

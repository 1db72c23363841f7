"""Bot process lifecycle: a restart mid-encoding still ends in one final message; webhook secrets."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from socrate.ops.embedded_redis import free_port
from tests import docgen
from tests.bot_support import FINAL_MARKS, bot_env, final_status, percentages, reply_to, status_messages
from tests.fake_telegram import FakeTelegram
from tests.processes import BotProcess

SECRET = "s3cret-webhook-token"


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:
    return fake_telegram


def test_bot_killed_mid_encoding_sends_exactly_one_final_message(services, fake, worker, tmp_path) -> None:
    env, log = bot_env(services, fake), tmp_path / "bot.log"
    first = BotProcess(env, log).start(fake)
    fake.send_document(6001, "long.txt", docgen.txt("en", count=200))

    def encoding() -> bool:
        found = status_messages(fake, 6001, "long.txt")
        return bool(found) and any(0 < p < 100 for p in percentages(found[0]))

    fake.wait(encoding, timeout=240, what="the status message to show encoding progress")
    first.kill()  # kill -9 while the worker is still encoding

    second = BotProcess(env, log).start(fake)
    try:
        final = final_status(fake, 6001, "long.txt")
        assert "is ready" in final.text, final.texts
        before = len(fake.chat(6001))
        fake.send_text(6001, "/help")  # a full round trip later, still no second final message
        reply_to(fake, 6001, before, "/docs")
        finals = [t for m in fake.chat(6001) for t in m.texts if any(mark in t for mark in FINAL_MARKS)]
        assert len(finals) == 1 and len(status_messages(fake, 6001, "long.txt")) == 1, finals
    finally:
        assert second.stop() == 0, second.log()


def test_webhook_mode_accepts_only_telegrams_secret_header(services, fake, worker, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    env = bot_env(services, fake, TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET=SECRET,
                  TELEGRAM_WEBHOOK_LISTEN="127.0.0.1", TELEGRAM_WEBHOOK_PORT=str(port))  # fmt: skip
    bot = BotProcess(env, tmp_path / "bot.log").start(fake, ready_method="setWebhook")
    try:
        (registered,) = fake.called("setWebhook")
        assert registered["url"] == url and registered["secret_token"] == SECRET
        sender = {"id": 6002, "is_bot": False, "first_name": "W"}
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/help", "from": sender,
                  "chat": {"id": 6002, "type": "private"},
                  "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}  # fmt: skip
        body = json.dumps(update)
        headers = {"Content-Type": "application/json"}
        _wait_listening(port)  # python-telegram-bot registers the webhook before its server listens
        assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 403
        wrong = {**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert httpx.post(url, content=body, headers=wrong, timeout=10).status_code == 403
        assert fake.chat(6002) == []  # refused updates never reached a handler

        right = {**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert httpx.post(url, content=body, headers=right, timeout=10).status_code == 200
        assert "/docs" in reply_to(fake, 6002, 0).text
    finally:
        assert bot.stop() == 0, bot.log()


def _wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.05)

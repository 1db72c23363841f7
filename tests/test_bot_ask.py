"""The bot's answers with a model: streamed into one message, edited at most every interval, sources
by file and page at the end, a typing indicator while the model thinks."""

from __future__ import annotations

import re

from tests import docgen
from tests.bot_support import bot_env, final_status, reply_to
from tests.fake_llm import FakeLLM
from tests.fake_telegram import FakeTelegram
from tests.processes import BotProcess

NEEDLE = "The harbour master keeps a green parrot called Admiral Biscuit in the lighthouse office."
INTERVAL = 1.0


def test_the_answer_streams_into_one_message_edited_at_most_every_interval(
    services, worker, fake_telegram: FakeTelegram, fake_llm: FakeLLM, tmp_path
) -> None:
    env = bot_env(
        services, fake_telegram, LLM_BASE_URL=fake_llm.url, TELEGRAM_EDIT_INTERVAL_SECONDS=str(INTERVAL)
    )
    bot = BotProcess(env, tmp_path / "bot.log").start(fake_telegram)
    try:
        fake_telegram.send_document(7001, "harbour.pdf", docgen.pdf(pages=3, needle=NEEDLE, needle_page=2))
        assert "ready" in final_status(fake_telegram, 7001, "harbour.pdf").text
        words = "The parrot of the harbour master is called Admiral Biscuit [1]. " * 6
        fake_llm.reset(reply=words.strip(), first_token_delay=0.5, token_delay=0.05)  # ~3.5 s of tokens
        before = len(fake_telegram.chat(7001))
        fake_telegram.send_text(7001, "/ask What is the parrot called?")
        answer = reply_to(fake_telegram, 7001, before, "Sources", timeout=60)
    finally:
        assert bot.stop() == 0, bot.log()
    head, sources = answer.text.split("\n\n📚 Sources:\n")
    assert head == f"💬 {words.strip()}"
    cited = re.fullmatch(r"\[1\] harbour\.pdf p\. (\d+)(?:–(\d+))?", sources)
    assert cited and int(cited[1]) <= 2 <= int(cited[2] or cited[1]), sources
    growing = answer.texts[1:-1]
    assert growing and all(text.endswith(" ✍️") for text in growing), answer.texts
    gaps = [b - a for a, b in zip(answer.shown_at[1:-1], answer.shown_at[2:-1], strict=False)]
    assert all(gap >= INTERVAL * 0.9 for gap in gaps), gaps  # edits at most every interval
    assert len(growing) <= 3.5 / INTERVAL + 2
    actions = [params for method, params in fake_telegram.calls if method == "sendChatAction"]
    assert actions and actions[0]["action"] == "typing"
    assert "Admiral Biscuit" in fake_llm.user_message()

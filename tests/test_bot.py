"""The Telegram bot, run as ``python -m bot`` against a fake Bot API, with a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from socrate.db.models import Document, LinkCode, User, utcnow
from socrate.telegram import users as telegram_users
from tests import docgen
from tests.bot_support import final_status, percentages, reply_to, status_messages
from tests.fake_telegram import FakeTelegram

NEEDLE = "The harbour master keeps a green parrot called Admiral Biscuit in the lighthouse office."


def _say(fake: FakeTelegram, user_id: int, text: str, contains: str = "") -> str:
    """Send a text as ``user_id`` and return the bot's answer."""
    before = len(fake.chat(user_id))
    fake.send_text(user_id, text)
    return reply_to(fake, user_id, before, contains).text


def _tenant_of(ctx, telegram_id: int) -> str:
    with ctx.sessions() as session:
        return session.scalars(select(User.tenant_id).where(User.telegram_id == telegram_id)).one()


def _documents(ctx, tenant_id: str) -> list[Document]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Document).where(Document.tenant_id == tenant_id)))


def _upload(fake: FakeTelegram, user_id: int, filename: str, data: bytes) -> str:
    """Send a document and wait for its final status text."""
    fake.send_document(user_id, filename, data)
    return final_status(fake, user_id, filename).text


def test_first_contact_creates_a_personal_tenant_once(bot, fake, ctx) -> None:
    assert "Welcome to Socrate" in _say(fake, 5001, "/start")
    tenant_id = _tenant_of(ctx, 5001)
    assert "Welcome back" in _say(fake, 5001, "/start")
    assert _tenant_of(ctx, 5001) == tenant_id
    assert "docs" in fake.called("setMyCommands")[0]["commands"]


def test_txt_and_pdf_each_get_one_status_message_edited_up_to_ready(bot, fake, ctx) -> None:
    fake.send_document(5002, "notes.txt", docgen.txt("en", count=150))
    fake.send_document(5002, "report.pdf", docgen.pdf(pages=30))
    fake.flood_edits = 1  # Telegram's flood control answers one edit with RetryAfter: nothing is lost
    for name in ("notes.txt", "report.pdf"):
        final = final_status(fake, 5002, name)
        assert len(status_messages(fake, 5002, name)) == 1
        assert "is ready" in final.text and "chunks" in final.text, final.texts
        assert "language en" in final.text
        shown = percentages(final)
        assert shown == sorted(shown) and shown[-1] == 100, final.texts
        assert any(0 < p < 100 for p in shown), final.texts  # the bar moved while encoding
    docs = _documents(ctx, _tenant_of(ctx, 5002))
    assert sorted((d.filename, d.source, d.status) for d in docs) == [
        ("notes.txt", "telegram", "ready"), ("report.pdf", "telegram", "ready")]  # fmt: skip
    for doc in docs:  # the final message names the id that /status and /delete take
        assert f"is ready · id {doc.id[:8]}" in final_status(fake, 5002, doc.filename).text
    assert "30 pages" in final_status(fake, 5002, "report.pdf").text


def test_corrupt_pdf_ends_with_a_readable_reason(bot, fake) -> None:
    text = _upload(fake, 5003, "broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40)
    assert "could not be processed" in text
    reason = text.split("\n", 1)[1]
    assert "PDF" in reason and "Traceback" not in reason and "Error" not in reason


def test_oversize_unsupported_and_sticker_are_refused_and_nothing_is_saved(bot, fake, ctx) -> None:
    before = len(fake.chat(5004))
    fake.send_document(5004, "huge.pdf", b"%PDF-1.4 tiny", declared_size=25 * 1024 * 1024)
    assert "20 MB" in reply_to(fake, 5004, before).text
    fake.send_document(5004, "virus.exe", b"MZ\x90\x00")
    assert "Unsupported file type" in reply_to(fake, 5004, before + 1).text
    fake.send_sticker(5004)
    assert "as a file" in reply_to(fake, 5004, before + 2).text
    fake.send_document(5004, "sizeless.pdf", b"%PDF-1.4 tiny", sizeless_over_20_mb=True)
    explained = reply_to(fake, 5004, before + 3, "over 20 MB").text
    assert "sizeless.pdf" in explained and "dashboard" in explained
    assert _documents(ctx, _tenant_of(ctx, 5004)) == []
    assert "Traceback" not in bot.log()


def test_another_user_cannot_see_or_delete_my_document(bot, fake, ctx) -> None:
    _upload(fake, 5005, "mine.txt", docgen.txt("en", count=3))
    (doc,) = _documents(ctx, _tenant_of(ctx, 5005))
    assert "mine.txt" in _say(fake, 5005, "/docs") and doc.id in _say(fake, 5005, f"/status {doc.id[:8]}")

    assert "Not found" in _say(fake, 5006, f"/status {doc.id}")
    assert "no documents" in _say(fake, 5006, "/docs")
    assert "Not found" in _say(fake, 5006, f"/delete {doc.id}")
    bait = fake.chat(5006)[-1]
    fake.press(5006, bait, f"del:{doc.id}")
    fake.wait(lambda: "Not found" in bait.text, what="the refused delete")
    assert [d.id for d in _documents(ctx, _tenant_of(ctx, 5005))] == [doc.id]

    before = len(fake.chat(5005))
    fake.send_text(5005, f"/delete {doc.id}")
    confirm = reply_to(fake, 5005, before, "cannot be undone")
    assert [b["text"] for b in confirm.buttons()] == ["🗑 Delete", "Keep"]
    fake.press(5005, confirm, f"del:{doc.id}")
    fake.wait(lambda: "Deleted mine.txt" in confirm.text, what="the delete")
    assert _documents(ctx, _tenant_of(ctx, 5005)) == []


def test_docs_pages_through_with_buttons(bot, fake, ctx) -> None:
    names = {f"page{i}.txt" for i in range(6)}
    for name in sorted(names):
        fake.send_document(5007, name, docgen.txt("en", count=1, needle=f"This is {name}."))
    for name in names:
        final_status(fake, 5007, name)
    before = len(fake.chat(5007))
    fake.send_text(5007, "/docs")
    listing = reply_to(fake, 5007, before, "of 6")
    first_page = {name for name in names if name in listing.text}
    assert len(first_page) == 5 and [b["text"] for b in listing.buttons()] == ["Older ▶"]
    fake.press(5007, listing, listing.buttons()[-1]["callback_data"])
    fake.wait(lambda: "6–6 of 6" in listing.text, what="the older page")
    assert {name for name in names if name in listing.text} == names - first_page
    assert [b["text"] for b in listing.buttons()] == ["◀ Newer"]


def test_linking_with_valid_reused_expired_and_unknown_codes(
    bot, fake, ctx, make_tenant, settings, client
) -> None:
    team = make_tenant("team")
    with ctx.sessions() as session:
        stale = telegram_users.issue_code(session, team.id, settings)
        expired = utcnow() - timedelta(minutes=1)
        session.execute(update(LinkCode).where(LinkCode.tenant_id == team.id).values(expires_at=expired))
        session.commit()
        issued = telegram_users.issue_code(session, team.id, settings)
    assert "Linked" in _say(fake, 5008, f"/start {issued.code}")
    assert _tenant_of(ctx, 5008) == team.id
    _upload(fake, 5008, "shared.txt", docgen.txt("en", count=2))
    listed = client.get("/api/documents", headers=team.headers).get_json()["documents"]
    assert [(d["filename"], d["source"]) for d in listed] == [("shared.txt", "telegram")]

    assert "already used" in _say(fake, 5009, f"/link {issued.code}")
    assert "expired" in _say(fake, 5009, f"/link {stale.code}")
    assert "not valid" in _say(fake, 5009, "/link not-a-real-code")
    assert _tenant_of(ctx, 5009) != team.id


def test_ask_and_plain_text_answer_from_the_passages_with_sources_or_say_nothing_found(bot, fake) -> None:
    assert "I could not find this" in _say(fake, 5010, "/ask where is the parrot?", "could not find")
    _upload(fake, 5010, "harbour.txt", docgen.txt("en", count=8, needle=NEEDLE))
    answer = _say(fake, 5010, "/ask What is the name of the harbour master's parrot?", "Sources")
    assert answer.startswith("💬 ") and NEEDLE in answer and answer.endswith("📚 Sources:\n[1] harbour.txt")
    assert "Admiral Biscuit" in _say(fake, 5010, "which bird lives in the lighthouse office", "Sources")
    assert "could not find" in _say(fake, 5011, "which bird lives in the lighthouse office", "could not find")


def test_a_file_sent_twice_is_already_in_the_library(bot, fake) -> None:
    content = docgen.txt("en", count=2, needle="A file sent twice is stored once.")
    assert "ready" in _upload(fake, 5020, "twice.txt", content)
    fake.send_document(5020, "twice-again.txt", content)
    again = reply_to(fake, 5020, 0, "Already in your library")
    assert again.text.startswith("📚 Already in your library: twice.txt (")
    assert len(status_messages(fake, 5020, "twice.txt")) == 1


def test_unknown_commands_get_help(bot, fake) -> None:
    assert "/docs" in _say(fake, 5012, "/frobnicate")
    assert "/status <id>" in _say(fake, 5012, "/status")


def _early_in_a_minute() -> None:
    """Limits count in fixed one-minute windows: a flood must not straddle two of them."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def test_a_user_flooding_the_bot_is_told_to_slow_down(bot, fake) -> None:
    """TELEGRAM_MESSAGES_PER_MINUTE (30 here) per Telegram user, counted in Redis."""
    _early_in_a_minute()
    for _ in range(31):
        fake.send_text(5013, "/help")
    slow_down = reply_to(fake, 5013, 0, "faster than I can read")
    assert "Try again in" in slow_down.text
    assert "faster" not in _say(fake, 5014, "/help")  # another user is not affected


def test_flooding_gets_one_warning_per_window_and_nothing_through_even_if_the_warning_fails(
    bot, fake
) -> None:
    _early_in_a_minute()
    for _ in range(30):
        fake.send_text(5015, "/help")
    fake.wait(lambda: len(fake.chat(5015)) >= 30, what="30 answers to /help")
    for _ in range(10):
        fake.send_text(5015, "/help")
    reply_to(fake, 5015, 30, "faster than I can read")
    _say(fake, 5016, "/help")  # the bot has read past the flood
    time.sleep(1)
    assert len(fake.chat(5015)) == 31, "one warning, and no limited message was answered"

    fake.flood_sends_containing = "faster than I can read"  # Telegram now refuses the warning (429)
    try:
        for _ in range(40):
            fake.send_text(5017, "/help")
        _say(fake, 5016, "/docs")
        time.sleep(1)
    finally:
        fake.flood_sends_containing = ""
    answered = [m.text for m in fake.chat(5017)]
    assert len(answered) == 30 and not any("went wrong" in text for text in answered)

"""Photos, albums, captions and links sent to ``python -m bot`` (fake Bot API, real worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pypdfium2
import pytest
from PIL import Image
from sqlalchemy import select

from bot.albums import COLLECTING
from socrate.db.models import Chunk, Document, User
from tests import docgen, scangen
from tests.bot_support import FINAL_MARKS, final_status, reply_to
from tests.fake_site import Page, Site, serve
from tests.fake_telegram import BotMessage, FakeTelegram

HERONS = "The lighthouse keeper counts seventeen herons on the pier every morning."
PAGE_TEXTS = ["Page about copper kettles.", "Page about walnut cabinets.", "Page about silver spoons."]
PAGE_WIDTHS = [1275, 1200, 1100]  # each album page a different width, to read their order in the PDF
ARTICLE = "The quarry museum opens its basalt gallery on the first Sunday of every month."


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A web site for links (the test settings allow loopback links)."""
    with serve() as server:
        yield server


def _documents(ctx, telegram_id: int) -> list[Document]:
    with ctx.sessions() as session:
        tenant = select(User.tenant_id).where(User.telegram_id == telegram_id).scalar_subquery()
        return list(session.scalars(select(Document).where(Document.tenant_id == tenant)))


def _text_of(ctx, document_id: str) -> str:
    with ctx.read_engine.connect() as conn:
        query = select(Chunk.text).where(Chunk.document_id == document_id).order_by(Chunk.chunk_index)
        return " ".join(conn.execute(query).scalars())


def _finished(fake: FakeTelegram, chat_id: int, first_text: str, timeout: float = 240) -> BotMessage:
    """The one bot message whose first text starts with ``first_text``, once it shows a final state."""

    def done() -> BotMessage | None:
        found = [m for m in fake.chat(chat_id) if m.texts[0].startswith(first_text)]
        assert len(found) <= 1, [m.texts for m in found]
        return found[0] if found and any(mark in found[0].text for mark in FINAL_MARKS) else None

    return fake.wait(done, timeout=timeout, what=f"the final status of {first_text!r}")


def _blank(width: int) -> bytes:
    """A small size of a photo: different bytes, nothing to read."""
    return scangen.photo(Image.new("L", (width, width * 4 // 3), 255))


def _fetched(fake: FakeTelegram) -> set[str]:
    return {params["file_id"] for params in fake.called("getFile")}


def test_a_photo_is_read_from_its_largest_size_and_titled_by_its_caption(bot, fake, ctx) -> None:
    big = scangen.photo(scangen.page([HERONS]))
    sent = fake.send_photo(8001, [_blank(90), _blank(320), big], caption="Herons on the pier\nmorning count")
    name = f"photo-{datetime.fromtimestamp(sent['date'], UTC):%Y-%m-%d-%H%M}.jpg"
    final = _finished(fake, 8001, f"📥 {name}")
    assert "is ready" in final.text, final.texts
    (doc,) = _documents(ctx, 8001)
    assert (doc.filename, doc.title, doc.source) == (name, "Herons on the pier morning count", "telegram")
    sizes = [size["file_id"] for size in sent["photo"]]
    assert sizes[-1] in _fetched(fake) and not _fetched(fake) & set(sizes[:-1])
    assert "seventeen herons" in _text_of(ctx, doc.id)


def test_a_file_sent_with_a_caption_is_titled_by_it(bot, fake, ctx) -> None:
    fake.send_document(8002, "minutes.txt", docgen.txt("en", count=2), caption="Board minutes, March")
    assert "is ready" in final_status(fake, 8002, "minutes.txt").text
    assert [(d.filename, d.title) for d in _documents(ctx, 8002)] == [("minutes.txt", "Board minutes, March")]


def test_an_album_sent_as_concurrent_updates_is_one_document_with_a_page_per_photo(bot, fake, ctx) -> None:
    pages = [scangen.photo(scangen.page([text], size=(width, 1650))) for text, width in
             zip(PAGE_TEXTS, PAGE_WIDTHS, strict=True)]  # fmt: skip
    sent: dict[int, dict[str, Any]] = {}

    def send(index: int) -> None:
        caption = "Inventory of the attic" if index == 0 else None
        sent[index] = fake.send_photo(8003, [_blank(90), pages[index]], caption=caption, media_group_id="g1")

    threads = [threading.Thread(target=send, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = _finished(fake, 8003, COLLECTING)
    assert "is ready" in final.text and "3 pages" in final.text, final.texts
    assert len(fake.chat(8003)) == 1  # one status message for the whole album
    (doc,) = _documents(ctx, 8003)
    assert doc.filename.startswith("album-") and doc.filename.endswith(".pdf") and doc.pages == 3
    assert doc.title == "Inventory of the attic" and doc.filename in final.text
    assert {m["photo"][-1]["file_id"] for m in sent.values()} <= _fetched(fake)
    by_message_id = [index for index, _ in sorted(sent.items(), key=lambda item: item[1]["message_id"])]
    pdf = pypdfium2.PdfDocument(ctx.storage.local_file(doc.storage_key))
    widths = [round(pdf[page].get_width() * 300 / 72) for page in range(len(pdf))]  # 300 dpi
    assert widths == [PAGE_WIDTHS[index] for index in by_message_id]  # pages in the order sent
    read = _text_of(ctx, doc.id)
    assert all(word in read for word in ("kettles", "cabinets", "spoons")), read


def test_an_album_with_a_corrupt_photo_ends_with_a_readable_reason(bot, fake, ctx) -> None:
    good = scangen.photo(scangen.page(["A fine page."]))
    for data in (good, good[: len(good) // 3]):  # the second is cut short
        fake.send_photo(8004, [data], media_group_id="g2")
    failed = fake.wait(lambda: next((m for m in fake.chat(8004) if m.text.startswith("❌")), None),
                       what="the album's failure")  # fmt: skip
    assert failed.texts[0] == COLLECTING and "album-" in failed.text, failed.texts
    assert "corrupt" in failed.text and "Traceback" not in failed.text
    assert len(fake.chat(8004)) == 1 and _documents(ctx, 8004) == []
    assert "Traceback" not in bot.log()


def test_a_message_that_is_only_a_link_is_downloaded_into_a_document(bot, fake, ctx, site) -> None:
    site.pages["/page.html"] = Page(f"<html><body><p>{ARTICLE}</p></body></html>".encode())
    url = site.url("/page.html")
    fake.send_text(8005, f"  {url}\n")
    final = _finished(fake, 8005, f"🔗 {url}\nReceived, downloading…")
    assert "page.html is ready" in final.text, final.texts
    (doc,) = _documents(ctx, 8005)
    assert doc.source == "telegram" and doc.source_url == url
    assert "basalt gallery" in _text_of(ctx, doc.id) and site.requested == ["/page.html"]


def test_a_link_to_a_private_address_is_refused(bot, fake, ctx) -> None:
    fake.send_text(8006, "http://169.254.169.254/latest")
    refused = reply_to(fake, 8006, 0, "❌").text
    assert refused.startswith("❌ ") and "private or local address (169.254.169.254)" in refused
    assert _documents(ctx, 8006) == []


def test_text_with_a_link_inside_is_a_question_and_a_sticker_is_refused(bot, fake, ctx) -> None:
    fake.send_text(8007, "what is https://example.com about?")
    assert reply_to(fake, 8007, 0, "💬").text.startswith("💬")
    fake.send_sticker(8007)
    assert "as a file" in reply_to(fake, 8007, 1).text
    assert _documents(ctx, 8007) == [] and not any("🔗" in m.texts[0] for m in fake.chat(8007))

"""Albums: photos sharing a media_group_id arrive as separate updates and become ONE multi-page PDF.

Telegram has no "album complete" event, so the photos are collected per (chat, media group) in this
process's memory until none has joined for ALBUM_QUIET_SECONDS. The first photo's handler opens the
album, posts its one status message and starts the task that collects and saves it; later photos only
join. A bot stopped gracefully finishes its open albums; one killed mid-collection loses them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import IO, cast

from telegram import Message, Update
from telegram.ext import ContextTypes, filters

from bot import services, uploads
from socrate.processing import scans

log = logging.getLogger(__name__)
KEY = "albums"
ALBUM_QUIET_SECONDS = 1.5  # Telegram delivers an album's photos within a second or so
COLLECTING = "📥 Album received, collecting photos…"


class _InAlbum(filters.MessageFilter):
    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


IN_ALBUM = _InAlbum(name="in an album")


@dataclass
class Album:
    key: tuple[int, str]  # (chat id, media group id)
    photos: dict[int, Message] = field(default_factory=dict)  # by message id: the order they were sent
    last_joined: float = 0.0  # event-loop time

    def join(self, message: Message) -> None:
        self.photos[message.message_id] = message
        self.last_joined = asyncio.get_running_loop().time()

    async def quiet(self) -> None:
        """Return once no photo has joined for ALBUM_QUIET_SECONDS."""
        loop = asyncio.get_running_loop()
        while (left := self.last_joined + ALBUM_QUIET_SECONDS - loop.time()) > 0:
            await asyncio.sleep(left)

    def in_order(self) -> list[Message]:
        return [self.photos[message_id] for message_id in sorted(self.photos)]


class Albums:
    """The albums being collected, kept in ``application.bot_data[KEY]``. Handlers share one event loop,
    so joining (no await between looking up and adding) cannot race."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, str], Album] = {}

    def join(self, message: Message) -> Album | None:
        """Add the photo to its album; the album if this photo opened it (its caller then collects it)."""
        key = (message.chat_id, cast(str, message.media_group_id))
        album = self.open.get(key)
        opened = album is None
        if album is None:
            album = self.open[key] = Album(key)
        album.join(message)
        return album if opened else None

    def close(self, album: Album) -> None:
        """No more photos join: one arriving later starts an album of its own."""
        self.open.pop(album.key, None)


def of(context: ContextTypes.DEFAULT_TYPE) -> Albums:
    return cast(Albums, context.bot_data[KEY])


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Join the photo to its album; the first one starts the collection beside the update handlers, so
    a waiting album never holds one of the application's concurrent-update slots."""
    album = of(context).join(cast(Message, update.effective_message))
    if album is not None:
        context.application.create_task(_collect(context, album), update=update)


async def _collect(context: ContextTypes.DEFAULT_TYPE, album: Album) -> None:
    """One status message from the first photo on; the album is saved once its last photo is in."""
    first = next(iter(album.photos.values()))
    try:
        status = await first.reply_text(COLLECTING)
        await album.quiet()
    finally:
        of(context).close(album)
    photos = album.in_order()
    name = f"album-{uploads.stamp(photos[0].date)}.pdf"
    largest = [photo.photo[-1] for photo in photos]
    settings = services.of(context).settings
    refusals = (uploads.too_big(size.file_size, settings.max_upload_bytes) for size in largest)
    if refusal := next(filter(None, refusals), None):
        await status.edit_text(f"❌ {name}: {refusal}")
        return
    caption = next((photo.caption for photo in photos if photo.caption), None)  # Telegram puts it on one
    await status.edit_text(f"📥 {name}\n{len(photos)} photos received, saving…")

    async def fill(buffer: IO[bytes]) -> None:
        pictures = [bytes(await (await size.get_file()).download_as_bytearray()) for size in largest]
        buffer.write(await asyncio.to_thread(scans.album_pdf, pictures, settings.max_image_pixels))

    await uploads.save(context, status, name, uploads.title_from(caption), fill)

"""Wiring: the Application, its gate and handlers, the command list and the progress follower."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import albums, gate, handlers, replies, services, uploads
from bot.progress import ProgressFollower
from socrate import logs
from socrate.config import Settings
from socrate.encoding import embedding

log = logging.getLogger(__name__)
FOLLOWER = "progress-follower"
MODEL = "embedding-model"
DELETE_CHOICE = r"^(del:[0-9a-f-]{36}|keep)$"
# What ``Application.builder()`` builds: the default context types and a job queue.
BotApplication: TypeAlias = Application[
    ExtBot[None],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


def build(settings: Settings) -> BotApplication:
    if not settings.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set it")
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(8)
        .post_init(_started)
        .post_shutdown(_stopped)
        .build()
    )
    application.bot_data[services.KEY] = services.build(settings)
    application.bot_data[albums.KEY] = albums.Albums()
    application.add_handler(TypeHandler(Update, gate.gate), group=gate.GROUP)
    commands = {"start": handlers.start, "help": handlers.help_command, "docs": handlers.docs,
                "status": handlers.status, "delete": handlers.delete, "ask": handlers.ask,
                "link": handlers.link}  # fmt: skip
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(handlers.docs, pattern=r"^docs:\d+$"))
    application.add_handler(CallbackQueryHandler(handlers.confirm_delete, pattern=DELETE_CHOICE))
    application.add_handler(MessageHandler(filters.Document.ALL, uploads.on_document))
    application.add_handler(MessageHandler(filters.PHOTO & albums.IN_ALBUM, albums.on_photo))
    application.add_handler(MessageHandler(filters.PHOTO, uploads.on_photo))
    application.add_handler(MessageHandler(filters.Regex(uploads.LINK_ONLY), uploads.on_link))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_handler(MessageHandler(filters.TEXT, handlers.ask))
    application.add_handler(MessageHandler(filters.ALL, handlers.not_a_document))
    application.add_error_handler(handlers.on_error)
    return application


async def _started(application: BotApplication) -> None:
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in replies.COMMANDS])
    follower = ProgressFollower(application.bot, application.bot_data[services.KEY])
    loop = asyncio.get_running_loop()
    application.bot_data[FOLLOWER] = loop.create_task(follower.run())
    # The embedding model loads beside the running bot, so the first /ask does not wait for it.
    application.bot_data[MODEL] = loop.create_task(asyncio.to_thread(embedding.preload))
    log.info("bot started", extra=logs.fields(username=application.bot.username))


async def _stopped(application: BotApplication) -> None:
    for name in (FOLLOWER, MODEL):
        task = application.bot_data.pop(name, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    log.info("bot stopped")


def run(settings: Settings) -> None:
    """Long polling by default; a webhook (with Telegram's secret header checked) when configured."""
    application = build(settings)
    if not settings.telegram_webhook_url:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
        return
    if not settings.telegram_webhook_secret:
        raise SystemExit("TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_WEBHOOK_URL")
    application.run_webhook(
        listen=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
        webhook_url=settings.telegram_webhook_url,
        secret_token=settings.telegram_webhook_secret,
        allowed_updates=Update.ALL_TYPES,
    )

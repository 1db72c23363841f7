"""What every handler needs, built once per bot process and kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from celery_config import make_celery
from socrate import context
from socrate.config import Settings
from socrate.context import Context
from socrate.queue import TaskQueue
from socrate.ratelimit import RateLimiter

KEY = "socrate"


@dataclass(frozen=True)
class BotServices:
    ctx: Context
    queue: TaskQueue
    limiter: RateLimiter

    @property
    def settings(self) -> Settings:
        return self.ctx.settings


def build(settings: Settings) -> BotServices:
    queue = TaskQueue(make_celery(settings))
    return BotServices(context.build(settings), queue, RateLimiter(settings.redis_url))


def of(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.bot_data[KEY]


def tenant_of(context: ContextTypes.DEFAULT_TYPE) -> str:
    """The tenant the gate resolved for this update; handlers never look it up themselves."""
    return context.user_data["tenant_id"]  # type: ignore[index]

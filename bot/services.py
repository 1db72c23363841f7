"""What every handler needs, built once per bot process and kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import ContextTypes

from socrate import context
from socrate.config import Settings
from socrate.context import Context
from socrate.ratelimit import RateLimiter
from socrate.taskqueue import TaskQueue

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
    queue = TaskQueue.for_settings(settings)
    return BotServices(context.build(settings), queue, RateLimiter(settings.redis_url))


def of(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return cast(BotServices, context.bot_data[KEY])


def user_data(context: ContextTypes.DEFAULT_TYPE) -> dict[Any, Any]:
    """The user's data, never None past the gate: it stops every update that has no user."""
    return cast("dict[Any, Any]", context.user_data)


def tenant_of(context: ContextTypes.DEFAULT_TYPE) -> str:
    """The tenant the gate resolved for this update; handlers never look it up themselves."""
    return cast(str, user_data(context)["tenant_id"])

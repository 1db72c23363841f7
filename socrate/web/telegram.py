"""JSON API behind the dashboard's Telegram page: link codes for the bot, and how many chats are linked."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify

from socrate.db.models import iso
from socrate.telegram import users as telegram_users
from socrate.web.deps import ctx, require_owner_login, require_tenant, require_user, session

bp = Blueprint("telegram", __name__, url_prefix="/api/telegram")


@bp.get("")
@require_tenant
def overview() -> Response:
    """Whether a bot is configured (the web service knows its @name, or runs with its token), and who
    is linked."""
    settings = ctx().settings
    username = settings.telegram_bot_username or None
    accounts = [{"id": user.id, "telegram_id": user.telegram_id, "since": iso(user.created_at)}
                for user in telegram_users.linked(session(), g.tenant_id)]  # fmt: skip
    return jsonify(
        bot_configured=bool(username or settings.telegram_bot_token), bot_username=username,
        bot_link=f"https://t.me/{quote(username)}" if username else None, linked_accounts=len(accounts),
        accounts=accounts,
    )  # fmt: skip


@bp.delete("/accounts/<user_id>")
@require_owner_login
def unlink(user_id: str) -> Response:
    telegram_users.unlink(session(), g.tenant_id, user_id)
    return jsonify(success=True, id=user_id, message="Telegram account unlinked")


@bp.post("/link-codes")
@require_user
def create_code() -> tuple[Response, int]:
    """A one-time code; only logged-in people may attach a chat to the tenant (like creating a key)."""
    issued = telegram_users.issue_code(session(), g.tenant_id, ctx().settings)
    username = ctx().settings.telegram_bot_username
    deep_link = f"https://t.me/{quote(username)}?start={issued.code}" if username else None
    return jsonify(code=issued.code, command=f"/link {issued.code}", deep_link=deep_link,
                   expires_at=iso(issued.expires_at)), 201  # fmt: skip

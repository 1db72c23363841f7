"""JSON API behind the dashboard's Telegram page: link codes for the bot, and how many chats are linked."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify

from socrate.db.models import iso
from socrate.telegram import users as telegram_users
from socrate.web.deps import ctx, require_tenant, require_user, session

bp = Blueprint("telegram", __name__, url_prefix="/api/telegram")


@bp.get("")
@require_tenant
def overview() -> Response:
    linked = telegram_users.linked_count(session(), g.tenant_id)
    return jsonify(bot_username=ctx().settings.telegram_bot_username or None, linked_accounts=linked)


@bp.post("/link-codes")
@require_user
def create_code() -> tuple[Response, int]:
    """A one-time code; only logged-in people may attach a chat to the tenant (like creating a key)."""
    issued = telegram_users.issue_code(session(), g.tenant_id, ctx().settings)
    username = ctx().settings.telegram_bot_username
    deep_link = f"https://t.me/{quote(username)}?start={issued.code}" if username else None
    return jsonify(code=issued.code, command=f"/link {issued.code}", deep_link=deep_link,
                   expires_at=iso(issued.expires_at)), 201  # fmt: skip

"""The dashboard's Telegram API: one-time link codes for logged-in users, linked-chat counts per tenant."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socrate.db.models import LinkCode
from socrate.errors import Conflict
from socrate.telegram import users as telegram_users
from tests.web_session import sign_up


def test_a_logged_in_user_gets_a_one_time_code_that_links_a_chat_to_their_tenant(app, ctx) -> None:
    user = sign_up(app, "tg")
    assert user.client.get("/api/telegram").get_json() == {"bot_username": None, "linked_accounts": 0}
    created = user.client.post("/api/telegram/link-codes", headers=user.headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["command"] == f"/link {body['code']}" and body["deep_link"] is None and body["expires_at"]
    with ctx.sessions() as session:
        assert session.scalar(select(LinkCode.code).where(LinkCode.code == body["code"])) is None  # hashed
        telegram_users.redeem_code(session, 987001, body["code"])
        with pytest.raises(Conflict):
            telegram_users.redeem_code(session, 987002, body["code"])
    assert user.client.get("/api/telegram").get_json()["linked_accounts"] == 1
    assert sign_up(app, "other").client.get("/api/telegram").get_json()["linked_accounts"] == 0


def test_deep_link_uses_the_configured_bot_username(settings, celery_app) -> None:
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    app = create_app(settings.with_(telegram_bot_username="socrate_bot"), queue=TaskQueue(celery_app))
    user = sign_up(app, "deeplink")
    body = user.client.post("/api/telegram/link-codes", headers=user.headers).get_json()
    assert body["deep_link"] == f"https://t.me/socrate_bot?start={body['code']}"


def test_an_api_key_cannot_create_link_codes(client, tenant) -> None:
    """A leaked key must not be able to attach a stranger's chat to the tenant."""
    response = client.post("/api/telegram/link-codes", headers=tenant.headers)
    assert response.status_code == 403 and "dashboard" in response.get_json()["error"]
    assert client.get("/api/telegram", headers=tenant.headers).status_code == 200


def test_without_csrf_token_no_code_is_made(app) -> None:
    user = sign_up(app, "nocsrf")
    assert user.client.post("/api/telegram/link-codes").status_code in (400, 403)

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
    assert user.client.get("/api/telegram").get_json() == {
        "bot_configured": False,
        "bot_username": None,
        "bot_link": None,
        "linked_accounts": 0,
        "accounts": [],
    }
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


def test_linked_accounts_are_listed_and_can_be_unlinked_by_their_workspace_only(app, ctx) -> None:
    user, other = sign_up(app, "tg-list"), sign_up(app, "tg-list-other")
    code = user.client.post("/api/telegram/link-codes", headers=user.headers).get_json()["code"]
    with ctx.sessions() as session:
        telegram_users.redeem_code(session, 987101, code)
    overview = user.client.get("/api/telegram").get_json()
    (account,) = overview["accounts"]
    assert account["telegram_id"] == 987101 and overview["linked_accounts"] == 1 and account["since"]
    path = f"/api/telegram/accounts/{account['id']}"
    assert other.client.delete(path, headers=other.headers).status_code == 404
    assert user.client.delete(path).status_code in (400, 403)  # no CSRF token
    assert user.client.delete(path, headers=user.headers).status_code == 200
    assert user.client.get("/api/telegram").get_json()["accounts"] == []
    with ctx.sessions() as session:  # its next message makes it a workspace of its own
        again = telegram_users.resolve(session, 987101, "Ada", ctx.settings)
        assert again.created


def test_the_page_says_which_bot_and_links_to_it(settings, celery_app) -> None:
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    app = create_app(settings.with_(telegram_bot_username="socrate_bot"), queue=TaskQueue(celery_app))
    body = sign_up(app, "botname").client.get("/api/telegram").get_json()
    assert body["bot_configured"] is True and body["bot_link"] == "https://t.me/socrate_bot"

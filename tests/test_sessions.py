"""Dashboard sessions live server-side: log-out, "log out everywhere" and a password change end them,
and a copied cookie stops working with them."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from socrate.context import Context
from socrate.db.models import LoginSession, User, utcnow
from socrate.ops import maintenance
from tests.web_session import PASSWORD, WebUser, csrf_from, post_form, sign_up

NEW_PASSWORD = "a brand new passphrase 77"


def _copy_cookie(app, user: WebUser) -> FlaskClient:
    """What an attacker holding a copy of the cookie (a stolen laptop backup, a proxy log) can do."""
    cookie = user.client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _second_login(app, user: WebUser, password: str = PASSWORD) -> FlaskClient:
    other = app.test_client()
    response = post_form(other, "/login", email=user.email, password=password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return other


def _post(client: FlaskClient, path: str, **fields: str):
    token = csrf_from(client.get("/account").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def test_a_replayed_cookie_is_refused_after_log_out(app) -> None:
    user = sign_up(app, "replay")
    thief = _copy_cookie(app, user)
    assert thief.get("/api/documents").status_code == 200  # the copy works while the session lives

    assert user.client.post("/logout", data={"csrf_token": user.csrf}).status_code == 302
    assert thief.get("/api/documents").status_code == 401
    assert thief.get("/").headers["Location"] == "/login"
    minted = thief.post("/api/keys", json={"name": "stolen"}, headers=user.headers)
    assert minted.status_code == 401


def test_log_out_everywhere_ends_every_session_of_the_account(app) -> None:
    user = sign_up(app, "everywhere")
    laptop = _second_login(app, user)
    stranger = sign_up(app, "bystander")

    response = _post(user.client, "/logout/everywhere")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    for client in (user.client, laptop):
        assert client.get("/api/documents").status_code == 401
    assert stranger.client.get("/api/documents").status_code == 200  # other accounts are untouched


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app) -> None:
    user = sign_up(app, "change")
    laptop = _second_login(app, user)
    copy_of_this_browser = _copy_cookie(app, user)

    response = _post(user.client, "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert response.status_code == 302
    page = user.client.get("/account").get_data(as_text=True)
    assert "Password changed. 1 other session(s) logged out." in page
    assert user.client.get("/api/documents").status_code == 200
    assert laptop.get("/api/documents").status_code == 401
    assert copy_of_this_browser.get("/api/documents").status_code == 401  # this browser got a new token

    refused = post_form(app.test_client(), "/login", email=user.email, password=PASSWORD)
    assert refused.status_code == 401
    _second_login(app, user, NEW_PASSWORD)


def test_a_wrong_current_password_or_weak_new_one_changes_nothing(app, ctx: Context) -> None:
    user = sign_up(app, "wrongcurrent")
    laptop = _second_login(app, user)
    with ctx.sessions() as session:
        before = session.scalars(select(User.password_hash).where(User.email == user.email)).one()

    wrong = _post(
        user.client, "/account/password", current_password="not it at all", new_password=NEW_PASSWORD
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    weak = _post(user.client, "/account/password", current_password=PASSWORD, new_password="short")
    assert weak.status_code == 400 and "at least 10 characters" in weak.get_data(as_text=True)
    forged = user.client.post(
        "/account/password",
        data={"csrf_token": "forged", "current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert forged.status_code == 403

    with ctx.sessions() as session:
        assert session.scalars(select(User.password_hash).where(User.email == user.email)).one() == before
    assert laptop.get("/api/documents").status_code == 200


def test_the_account_page_lists_sessions_and_ends_one(app, ctx: Context) -> None:
    user = sign_up(app, "listing")
    phone = app.test_client()
    phone.get("/login", headers={"User-Agent": "PhoneBrowser/1.0"})
    token = csrf_from(phone.get("/login").get_data(as_text=True))
    phone.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": PASSWORD},
        headers={"User-Agent": "PhoneBrowser/1.0"},
    )  # fmt: skip
    page = user.client.get("/account").get_data(as_text=True)
    assert "PhoneBrowser/1.0" in page and "(this session)" in page

    with ctx.sessions() as session:
        phone_session = session.scalars(
            select(LoginSession.id).where(LoginSession.user_agent == "PhoneBrowser/1.0")
        ).one()
    assert _post(user.client, f"/account/sessions/{phone_session}/end").status_code == 302
    assert phone.get("/api/documents").status_code == 401
    assert user.client.get("/api/documents").status_code == 200

    stranger = sign_up(app, "not-yours")
    assert _post(stranger.client, f"/account/sessions/{phone_session}/end").status_code == 404


def test_expired_sessions_log_out_and_cleanup_removes_them(app, ctx: Context) -> None:
    user = sign_up(app, "expiry")
    with ctx.sessions() as session:
        owner = session.scalars(select(User.id).where(User.email == user.email)).one()
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == owner)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert user.client.get("/api/documents").status_code == 401
    assert user.client.get("/").headers["Location"] == "/login"

    removed = maintenance.sweep(ctx, dry_run=True)
    assert removed is not None and len(removed["login_sessions_removed"]) >= 1
    maintenance.cleanup(ctx)
    with ctx.sessions() as session:
        assert session.scalars(select(LoginSession).where(LoginSession.user_id == owner)).first() is None


def test_the_cookie_holds_no_account_data_and_the_database_no_usable_token(app, ctx: Context) -> None:
    user = sign_up(app, "opaque")
    cookie = user.client.get_cookie("session")
    assert cookie is not None
    payload = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert set(payload) - {"_permanent"} == {
        "sid",
        "csrf",
    }  # a random token and the CSRF token: no tenant, user or email
    with ctx.sessions() as session:
        stored = session.scalars(select(LoginSession.token_hash)).all()
    assert all(len(value) == 64 for value in stored)  # sha256 hex of the token, never the token


def test_logging_out_of_a_session_already_ended_elsewhere_just_logs_out(app) -> None:
    user = sign_up(app, "stale-tab")
    laptop = _second_login(app, user)
    assert _post(laptop, "/logout/everywhere").status_code == 302
    assert user.client.get("/api/documents").status_code == 401  # the open tab's next poll
    response = user.client.post("/logout", data={"csrf_token": user.csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login"

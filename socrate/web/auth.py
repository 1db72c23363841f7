"""Sign-up, log-in and log-out pages: thin views over socrate.accounts.passwords, cookie session + CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue

from socrate.accounts import logins, passwords, workspaces
from socrate.db.models import User
from socrate.errors import SocrateError
from socrate.web import csrf
from socrate.web.deps import SESSION_TOKEN, ctx, current_login, session
from socrate.web.errors import headers_for, status_for

bp = Blueprint("auth", __name__)
_INVITATION_PATH = re.compile(r"/invite/[A-Za-z0-9_-]{16,64}")

PAGES = {
    "signup": {
        "title": "Create your account",
        "button": "Sign up",
        "other": "login",
        "other_label": "Log in",
    },
    "login": {"title": "Log in", "button": "Log in", "other": "signup", "other_label": "Create an account"},
}


def log_in(user: User) -> None:
    """A fresh session (and CSRF token) for this user: nothing from before log-in survives."""
    settings = ctx().settings
    token = logins.start(
        session(), user, workspaces.home(session(), user, settings), timedelta(days=settings.session_days),
        user_agent=request.user_agent.string, address=request.remote_addr or "",
    )  # fmt: skip
    cookie_session.clear()
    cookie_session.permanent = True
    cookie_session[SESSION_TOKEN] = token


def _invitation(value: str | None) -> str | None:
    """``value`` if it is an invitation link's path, else None (never elsewhere: an open redirect would
    lend our name to phishing)."""
    return value if value and _INVITATION_PATH.fullmatch(value) else None


def after_login(value: str | None) -> str:
    """Where to go once logged in: back to an invitation link, else the documents."""
    return _invitation(value) or url_for("dashboard.documents")


def _account_form(page: str, action: Callable[[str, str], User]) -> ResponseReturnValue:
    """GET shows the form; POST checks CSRF, runs ``action`` and logs in, or re-renders the message."""
    next_url = request.values.get("next")
    if current_login() is not None:
        return redirect(after_login(next_url))
    shown = {
        "page": page,
        "next_url": _invitation(next_url),
    }
    if request.method == "GET":
        return render_template("account.html", **shown, **PAGES[page])
    csrf.check()
    email = request.form.get("email", "")
    try:
        user = action(email, request.form.get("password", ""))
    except SocrateError as exc:
        html = render_template("account.html", error=exc.message, email=email, **shown, **PAGES[page])
        return html, status_for(exc), headers_for(exc)
    log_in(user)
    return redirect(after_login(next_url))


def gate() -> passwords.Gate | None:
    """Attempts counted per client address (the proxy's X-Forwarded-For with TRUSTED_PROXY_HOPS)."""
    limiter = current_app.extensions["socrate.ratelimit"]
    return (
        passwords.Gate.of(limiter, request.remote_addr or "-", ctx().settings)
        if limiter is not None
        else None
    )


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    return _account_form(
        "signup", lambda email, pw: passwords.signup(session(), email, pw, ctx().settings, gate())
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    return _account_form("login", lambda email, pw: passwords.authenticate(session(), email, pw, gate()))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends this session server-side too: a copy of the cookie is worthless afterwards."""
    csrf.check()
    token = cookie_session.get(SESSION_TOKEN)
    if isinstance(token, str):
        logins.end(session(), token)
    cookie_session.clear()
    return redirect(url_for("auth.login"))

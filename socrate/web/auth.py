"""Sign-up, log-in and log-out pages: thin views over socrate.accounts, cookie session + CSRF."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue

from socrate import accounts
from socrate.errors import RateLimited, SocrateError
from socrate.models import User
from socrate.web import csrf
from socrate.web.deps import SESSION_TENANT, ctx, session
from socrate.web.errors import status_for

bp = Blueprint("auth", __name__)

PAGES = {
    "signup": {
        "title": "Create your account",
        "button": "Sign up",
        "other": "login",
        "other_label": "Log in",
    },
    "login": {"title": "Log in", "button": "Log in", "other": "signup", "other_label": "Create an account"},
}


def _log_in(user: User) -> None:
    """A fresh session (and CSRF token) for this user: nothing from before log-in survives."""
    cookie_session.clear()
    cookie_session[SESSION_TENANT] = user.tenant_id
    cookie_session["user_id"] = user.id
    cookie_session["email"] = user.email


def _account_form(page: str, action: Callable[[str, str], User]) -> ResponseReturnValue:
    """GET shows the form; POST checks CSRF, runs ``action`` and logs in, or re-renders the message."""
    if cookie_session.get(SESSION_TENANT):
        return redirect(url_for("dashboard.documents"))
    if request.method == "GET":
        return render_template("account.html", page=page, **PAGES[page])
    csrf.check()
    email = request.form.get("email", "")
    try:
        user = action(email, request.form.get("password", ""))
    except SocrateError as exc:
        html = render_template("account.html", page=page, error=exc.message, email=email, **PAGES[page])
        wait = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}
        return html, status_for(exc), wait
    _log_in(user)
    return redirect(url_for("dashboard.documents"))


def _gate() -> accounts.Gate | None:
    """Attempts counted per client address (the proxy's X-Forwarded-For with TRUSTED_PROXY_HOPS)."""
    limiter = current_app.extensions["socrate.ratelimit"]
    return (
        accounts.Gate.of(limiter, request.remote_addr or "-", ctx().settings) if limiter is not None else None
    )


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    return _account_form(
        "signup", lambda email, pw: accounts.signup(session(), email, pw, ctx().settings, _gate())
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    return _account_form("login", lambda email, pw: accounts.authenticate(session(), email, pw, _gate()))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    csrf.check()
    cookie_session.clear()
    return redirect(url_for("auth.login"))

"""The account page: change the password, see where you are logged in, end sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue

from socrate.accounts import logins, passwords, workspaces
from socrate.db.models import User
from socrate.errors import SocrateError
from socrate.web import csrf
from socrate.web.auth import gate, log_in
from socrate.web.dashboard import login_required
from socrate.web.deps import ctx, current_login, session
from socrate.web.errors import headers_for, status_for

bp = Blueprint("account", __name__)


def _you() -> logins.Login:
    login = current_login()
    assert login is not None  # login_required ran first
    return login


def _page(refused: SocrateError | None = None) -> ResponseReturnValue:
    you = _you()
    sessions = logins.listed(session(), you.user_id)
    html = render_template("settings.html", you=you, sessions=sessions, error=refused and refused.message)
    return (html, status_for(refused), headers_for(refused)) if refused else html


@bp.get("/account")
@login_required
def page() -> ResponseReturnValue:
    return _page()


@bp.post("/account/password")
@login_required
def change_password() -> ResponseReturnValue:
    """A new password ends every session, then this browser logs in again under a new token: whoever
    knew the old password, or holds a copy of any cookie, is logged out."""
    csrf.check()
    you = _you()
    try:
        ended = passwords.change_password(
            session(), you.user_id, request.form.get("current_password", ""),
            request.form.get("new_password", ""), gate(),
        )  # fmt: skip
    except SocrateError as exc:
        return _page(exc)
    # This browser continues under a new token: a copy of its old cookie is as dead as the others.
    user = session().get(User, you.user_id)
    assert user is not None
    log_in(user)
    flash(f"Password changed. {ended - 1} other session(s) logged out.")
    return redirect(url_for("account.page"))


@bp.post("/account/sessions/<session_id>/end")
@login_required
def end_session(session_id: str) -> ResponseReturnValue:
    """End one session; ending this one is a log-out."""
    csrf.check()
    you = _you()
    if logins.end_one(session(), you.user_id, session_id) == you.session_id:
        cookie_session.clear()
        return redirect(url_for("auth.login"))
    flash("That session is logged out.")
    return redirect(url_for("account.page"))


@bp.post("/account/delete")
@login_required
def delete_account() -> ResponseReturnValue:
    """Erase this person (and the workspaces only they are in), after their password."""
    csrf.check()
    try:
        workspaces.delete_account(session(), _you().user_id, request.form.get("password", ""),
                                  storage=ctx().storage)  # fmt: skip
    except SocrateError as exc:
        return _page(exc)
    cookie_session.clear()
    flash("Your account was deleted, with every workspace only you were in.")
    return redirect(url_for("auth.signup"))


@bp.post("/logout/everywhere")
@login_required
def log_out_everywhere() -> ResponseReturnValue:
    """Every session of this account ends, this one too (a lost laptop, a shared computer)."""
    csrf.check()
    logins.end_all(session(), _you().user_id)
    cookie_session.clear()
    return redirect(url_for("auth.login"))

"""Pages for working together: the members page, the invitation link people open, and the workspace
switcher in the top bar (a form, so it works without JavaScript)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from socrate.accounts import workspaces
from socrate.errors import NotFound
from socrate.web import csrf
from socrate.web.dashboard import login_required
from socrate.web.deps import current_login, session

bp = Blueprint("team", __name__)


@bp.get("/members")
@login_required
def members_page() -> str:
    return render_template("members.html")


@bp.post("/workspaces/switch")
@login_required
def switch() -> ResponseReturnValue:
    csrf.check()
    login = current_login()
    assert login is not None
    moved = workspaces.switch(
        session(), login.user_id, login.session_id, request.form.get("workspace_id", "")
    )
    flash(f"You are now in {moved.name}.")
    return redirect(url_for("dashboard.documents"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token: str) -> ResponseReturnValue:
    """Anyone with the link sees which workspace it is for; a logged-in person joins with one click
    (others log in or sign up first and come back here)."""
    try:
        invite, tenant = workspaces.invitation_for(session(), token)
    except NotFound as exc:
        return render_template("invitation.html", error=exc.message), 404
    login = current_login()
    if request.method == "GET" or login is None:
        return render_template("invitation.html", workspace=tenant.name, role=invite.role, login=login,
                               next_url=url_for("team.invitation", token=token))  # fmt: skip
    csrf.check()
    joined = workspaces.accept(session(), token, login.user_id)
    workspaces.switch(session(), login.user_id, login.session_id, joined.id)
    flash(f"Welcome to {joined.name}.")
    return redirect(url_for("dashboard.documents"))

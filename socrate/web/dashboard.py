"""Dashboard pages: HTML shells; the JavaScript does everything else through the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, redirect, render_template, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from socrate.accounts import workspaces
from socrate.documents.service import KIND_FILTERS
from socrate.integrations import webhooks
from socrate.processing.filetypes import ALLOWED, KINDS
from socrate.web.deps import ctx, current_login, session

bp = Blueprint("dashboard", __name__)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages send visitors without a session to the log-in form."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_login() is None:
            return redirect(url_for("auth.login"))
        return view(*args, **kwargs)

    return wrapper


def owner_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages for owners only (keys, webhooks): a member gets a page saying so, not a broken one."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = current_login()
        workspaces.require_owner(login.role if login else None)
        return view(*args, **kwargs)

    return login_required(wrapper)


def top_bar() -> dict[str, Any]:
    """What every page's top bar shows: the workspaces to switch between (pages of logged-in people)."""
    login = g.get("login")
    return {"my_workspaces": workspaces.of_user(session(), login.user_id) if login else []}


@bp.get("/")
@login_required
def documents() -> str:
    """The client-side checks mirror the server's limits, which are rendered into the page."""
    return render_template(
        "documents.html",
        max_upload_bytes=ctx().settings.max_upload_bytes,
        accept=",".join(KINDS),
        allowed=ALLOWED,
        kinds=KIND_FILTERS,
    )


@bp.get("/documents/<document_id:document_id>")
@login_required
def document_page(document_id: str) -> str:
    """One document: the page's script reads it (another workspace's shows "not found")."""
    return render_template("document.html", document_id=document_id)


@bp.get("/favicon.ico")
def favicon() -> WerkzeugResponse:
    """For clients that ask before reading the page's icon link."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/keys")
@owner_required
def keys() -> str:
    return render_template("keys.html")


@bp.get("/webhooks")
@owner_required
def webhooks_page() -> str:
    return render_template("webhooks.html", events=webhooks.EVENTS)


@bp.get("/telegram")
@login_required
def telegram() -> str:
    return render_template("telegram.html")

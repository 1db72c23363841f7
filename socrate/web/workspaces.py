"""JSON API for workspaces and their members (dashboard sessions only: an API key belongs to one
workspace and cannot change who is in it): list, create and switch workspaces; members, roles and
single-use invitations; deleting the workspace."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from socrate.accounts import workspaces
from socrate.db.models import Invitation, Role, iso
from socrate.errors import BadRequest
from socrate.web.auth import log_in
from socrate.web.deps import ctx, current_login, require_owner_login, require_user, session

bp = Blueprint("workspaces", __name__, url_prefix="/api")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object")
    return body


def _you() -> Any:
    login = current_login()
    assert login is not None  # require_user ran first
    return login


def _view(workspace: workspaces.Workspace) -> dict[str, Any]:
    return {"id": workspace.id, "name": workspace.name, "role": workspace.role}


@bp.get("/workspaces")
@require_user
def list_workspaces() -> Response:
    you = _you()
    return jsonify(
        current=you.tenant_id, workspaces=[_view(w) for w in workspaces.of_user(session(), you.user_id)]
    )


@bp.post("/workspaces")
@require_user
def create() -> tuple[Response, int]:
    """A new workspace of yours, and this session moves into it."""
    you = _you()
    tenant = workspaces.create(session(), you.user_id, str(_body().get("name") or ""), ctx().settings)
    session().commit()
    moved = workspaces.switch(session(), you.user_id, you.session_id, tenant.id)
    return jsonify(_view(moved)), 201


@bp.post("/workspaces/switch")
@require_user
def switch() -> Response:
    you = _you()
    moved = workspaces.switch(session(), you.user_id, you.session_id, str(_body().get("workspace_id") or ""))
    return jsonify(_view(moved))


@bp.post("/workspaces/delete")
@require_owner_login
def delete() -> Response:
    """Erase the current workspace once its name is typed; this browser continues in another one."""
    you, c = _you(), ctx()
    name = workspaces.delete_workspace(session(), g.tenant_id, _body().get("name"), storage=c.storage,
                                       settings=c.settings)  # fmt: skip
    log_in(workspaces.person(session(), you.user_id))  # the deleted workspace's sessions went with it
    return jsonify(success=True, deleted=name, message=f"{name} and everything in it were deleted")


def _invitation_view(row: Invitation, token: str | None = None) -> dict[str, Any]:
    view = {
        "id": row.id,
        "role": row.role,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
    }
    if token is not None:
        view["url"] = url_for("team.invitation", token=token, _external=True)
    return view


@bp.get("/members")
@require_user
def members() -> Response:
    """Everyone in the workspace; owners also see the open invitations."""
    you = _you()
    people = [
        {"user_id": user.id, "email": user.email, "role": m.role, "joined_at": iso(m.created_at),
         "you": user.id == you.user_id}
        for user, m in workspaces.members(session(), g.tenant_id)
    ]  # fmt: skip
    invitations = workspaces.pending_invitations(session(), g.tenant_id) if you.role == Role.OWNER else []
    return jsonify(members=people, invitations=[_invitation_view(row) for row in invitations], you=you.role)


@bp.post("/members/invitations")
@require_owner_login
def invite() -> tuple[Response, int]:
    body = request.get_json(silent=True) or {}
    role = body.get("role", Role.MEMBER) if isinstance(body, dict) else None
    row, token = workspaces.invite(session(), g.tenant_id, _you().user_id, role)
    return jsonify(_invitation_view(row, token)), 201


@bp.delete("/members/invitations/<invitation_id>")
@require_owner_login
def revoke_invitation(invitation_id: str) -> Response:
    workspaces.revoke_invitation(session(), g.tenant_id, invitation_id)
    return jsonify(success=True, id=invitation_id, message="Invitation revoked")


@bp.patch("/members/<user_id>")
@require_owner_login
def change_role(user_id: str) -> Response:
    membership = workspaces.set_role(session(), g.tenant_id, user_id, _body().get("role"))
    return jsonify(success=True, user_id=membership.user_id, role=membership.role)


@bp.delete("/members/<user_id>")
@require_user
def remove(user_id: str) -> Response:
    """An owner removes anyone; a member may only leave."""
    you = _you()
    leaving = user_id == you.user_id
    if not leaving:
        workspaces.require_owner(you.role)
    workspaces.remove(session(), g.tenant_id, user_id, ctx().settings)
    if leaving:  # this session was in the workspace: continue in another one
        log_in(workspaces.person(session(), you.user_id))
    return jsonify(success=True, user_id=user_id, message="Left the workspace" if leaving else "Removed")

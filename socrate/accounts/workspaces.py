"""Workspaces with members: a tenant is shared by the people in its ``memberships``.

Owners manage keys, webhooks, members and the workspace itself; members use documents, search and
Telegram. Owners invite with a single-use link valid for INVITE_DAYS. A person may belong to several
workspaces: their log-in session names the one they are in, and switching changes it. Removing a member
ends their access at once: logins.resolve finds no membership behind their session and logs them out.
A workspace always keeps an owner.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from socrate import logs, textfields
from socrate.accounts import passwords, tenants
from socrate.config import Settings
from socrate.db.models import Invitation, LoginSession, Membership, Role, Tenant, User, utcnow
from socrate.errors import BadRequest, Conflict, Forbidden, NotFound
from socrate.storage import Storage
from socrate.tenancy import canonical_id, get_owned, select_owned

log = logging.getLogger(__name__)
INVITE_DAYS = 7
OWNERS_ONLY = "Only the workspace's owners can do this"
LAST_OWNER = "A workspace needs an owner: make someone else an owner first"


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    role: Role


def _role(value: object) -> Role:
    if value not in set(Role):
        raise BadRequest(f'"role" must be one of: {", ".join(Role)}')
    return Role(str(value))


def person(session: Session, user_id: str) -> User:
    """A person by id (they are looking at their own account), or NotFound."""
    user = session.get(User, canonical_id(User, user_id))
    if user is None:
        raise NotFound("account not found")
    return user


def role_of(session: Session, tenant_id: str, user_id: str) -> Role | None:
    found = session.scalar(
        select(Membership.role).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )
    return None if found is None else Role(found)


def require_owner(role: Role | None) -> None:
    if role != Role.OWNER:
        raise Forbidden(OWNERS_ONLY)


def of_user(session: Session, user_id: str) -> list[Workspace]:
    """The person's workspaces, by name."""
    rows = session.execute(
        select(Tenant.id, Tenant.name, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id)
        .order_by(func.lower(Tenant.name), Tenant.id)
    ).all()
    return [Workspace(row.id, row.name, Role(row.role)) for row in rows]


def create(session: Session, user_id: str, name: str, settings: Settings) -> Tenant:
    """A new workspace owned by this person (flushed; the caller commits)."""
    name = textfields.shown(textfields.refuse_controls(name or "", "Workspace name"))
    if not name:
        raise BadRequest("Give the workspace a name")
    tenant = tenants.add(session, name[:200], settings)
    session.add(Membership(tenant_id=tenant.id, user_id=user_id, role=Role.OWNER))
    session.flush()
    log.info("workspace created", extra=logs.fields(tenant_id=tenant.id, user_id=user_id))
    return tenant


def home(session: Session, user: User, settings: Settings) -> str:
    """The workspace a person logs in to: the last one used if they are still in it, else another of
    theirs, else a new one of their own (everyone they shared with removed them)."""
    if role_of(session, user.tenant_id, user.id) is not None:
        return user.tenant_id
    others = of_user(session, user.id)
    tenant_id = (
        others[0].id if others else create(session, user.id, user.email or "My workspace", settings).id
    )
    user.tenant_id = tenant_id
    session.commit()
    return tenant_id


def switch(session: Session, user_id: str, login_session_id: str, tenant_id: str) -> Workspace:
    """Move this log-in to another of the person's workspaces (remembered for their next log-in)."""
    chosen = next((w for w in of_user(session, user_id) if w.id == tenant_id), None)
    if chosen is None:
        raise NotFound("workspace not found")
    session.execute(
        update(LoginSession).where(LoginSession.id == login_session_id).values(tenant_id=chosen.id)
    )
    session.execute(update(User).where(User.id == user_id).values(tenant_id=chosen.id))
    session.commit()
    return chosen


# --- members -------------------------------------------------------------------------------------


def members(session: Session, tenant_id: str) -> list[tuple[User, Membership]]:
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(Membership.created_at, User.email)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _owners(session: Session, tenant_id: str) -> int:
    stmt = select(func.count()).where(Membership.tenant_id == tenant_id, Membership.role == Role.OWNER)
    return session.scalar(stmt) or 0


def _membership(session: Session, tenant_id: str, user_id: str) -> Membership:
    """The person's membership of this workspace, locked; NotFound for anyone else's or a malformed id."""
    stmt = select_owned(Membership, tenant_id).where(Membership.user_id == canonical_id(User, user_id))
    found = session.scalars(stmt.with_for_update()).first()
    if found is None:
        raise NotFound("member not found")
    return found


def set_role(session: Session, tenant_id: str, user_id: str, role: object) -> Membership:
    new_role = _role(role)
    session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())  # one change at a time
    membership = _membership(session, tenant_id, user_id)
    if membership.role == Role.OWNER and new_role != Role.OWNER and _owners(session, tenant_id) == 1:
        raise Conflict(LAST_OWNER)
    membership.role = new_role
    session.commit()
    return membership


def remove(session: Session, tenant_id: str, user_id: str, settings: Settings) -> None:
    """Take a person out of the workspace (or let them leave): their sessions in it end at once."""
    session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    membership = _membership(session, tenant_id, user_id)
    if membership.role == Role.OWNER and _owners(session, tenant_id) == 1:
        raise Conflict(LAST_OWNER)
    session.delete(membership)
    session.execute(
        delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.tenant_id == tenant_id)
    )
    session.flush()
    user = session.get(User, user_id)
    if user is not None and user.tenant_id == tenant_id:
        home(session, user, settings)  # commits
    session.commit()
    log.info("member removed", extra=logs.fields(tenant_id=tenant_id, user_id=user_id))


# --- invitations ---------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    session: Session, tenant_id: str, invited_by: str, role: object = Role.MEMBER
) -> tuple[Invitation, str]:
    """A single-use invitation; returns it and its token (shown once, as a link; only a hash is kept)."""
    token = secrets.token_urlsafe(24)
    now = utcnow()
    row = Invitation(
        tenant_id=tenant_id, token_hash=_hash(token), role=_role(role), invited_by=invited_by, created_at=now,
        expires_at=now + timedelta(days=INVITE_DAYS),
    )  # fmt: skip
    session.add(row)
    session.commit()
    return row, token


def pending_invitations(session: Session, tenant_id: str) -> list[Invitation]:
    stmt = select_owned(Invitation, tenant_id).where(
        Invitation.used_at.is_(None), Invitation.expires_at > utcnow()
    )
    return list(session.scalars(stmt.order_by(Invitation.created_at)))


def revoke_invitation(session: Session, tenant_id: str, invitation_id: str) -> None:
    row = get_owned(session, Invitation, invitation_id, tenant_id)
    if row.used_at is not None:
        raise NotFound("invitation not found")
    session.delete(row)
    session.commit()


def invitation_for(session: Session, token: str) -> tuple[Invitation, Tenant]:
    """The open invitation behind a link, with its workspace; NotFound if used, expired or unknown."""
    row = session.execute(
        select(Invitation, Tenant).join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Invitation.token_hash == _hash(token))
    ).first()  # fmt: skip
    if row is None or row[0].used_at is not None or row[0].expires_at <= utcnow():
        raise NotFound("This invitation link was already used, has expired or does not exist")
    return row[0], row[1]


def accept(session: Session, token: str, user_id: str) -> Tenant:
    """Join the invitation's workspace (once: the link is then spent); already a member keeps their role."""
    invitation, tenant = invitation_for(session, token)
    locked = session.scalars(select(Invitation).where(Invitation.id == invitation.id).with_for_update()).one()
    if locked.used_at is not None:
        raise NotFound("This invitation link was already used, has expired or does not exist")
    locked.used_at, locked.used_by = utcnow(), user_id
    if role_of(session, tenant.id, user_id) is None:
        session.add(Membership(tenant_id=tenant.id, user_id=user_id, role=locked.role))
    session.commit()
    log.info("invitation accepted", extra=logs.fields(tenant_id=tenant.id, user_id=user_id))
    return tenant


# --- deleting ------------------------------------------------------------------------------------


def delete_workspace(
    session: Session, tenant_id: str, confirm_name: object, *, storage: Storage, settings: Settings
) -> str:
    """Erase the workspace, every document, file and row, once its name is typed exactly."""
    tenant = tenants.get(session, tenant_id)
    if not isinstance(confirm_name, str) or confirm_name.strip() != tenant.name:
        raise BadRequest("Type the workspace's name exactly to delete it")
    name = tenant.name
    for user, _ in members(session, tenant_id):  # nobody's account goes with it: each keeps a workspace
        others = [w for w in of_user(session, user.id) if w.id != tenant_id]
        user.tenant_id = others[0].id if others else create(session, user.id, user.email or name, settings).id
    session.flush()
    tenants.delete(session, tenant_id, storage=storage)
    return name


def delete_account(session: Session, user_id: str, password: str, *, storage: Storage) -> None:
    """Erase a person: the workspaces only they are in go with them; one they own with others in it
    must get another owner first (Conflict says which)."""
    user = session.get(User, user_id)
    if user is None or not user.password_hash or not passwords.verify_password(user.password_hash, password):
        raise BadRequest("The password is wrong")
    alone: list[str] = []
    for workspace in of_user(session, user_id):
        people = len(members(session, workspace.id))
        if people == 1:
            alone.append(workspace.id)
        elif workspace.role == Role.OWNER and _owners(session, workspace.id) == 1:
            raise Conflict(f"You are the only owner of {workspace.name!r}: make another member an owner, "
                           "or delete the workspace, first")  # fmt: skip
    for tenant_id in alone:
        tenants.delete(session, tenant_id, storage=storage)
    session.execute(delete(User).where(User.id == user_id))
    session.commit()
    log.info("account deleted", extra=logs.fields(user_id=user_id, workspaces_deleted=len(alone)))

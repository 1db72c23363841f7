"""Dashboard log-in sessions kept in the database: the cookie carries a random token, the row decides.

A signed cookie alone cannot be taken back; with a row per log-in, log-out, "log out everywhere" and
a password change end sessions at once, and a copied cookie stops working with them. A session is in
one workspace, and only while its person is a member of it: a removed member is logged out at their
next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from socrate.db.models import LoginSession, Membership, Role, Tenant, User, utcnow
from socrate.errors import NotFound
from socrate.tenancy import canonical_id

SESSION_NOT_FOUND = "Session not found"
SEEN_EVERY = timedelta(minutes=5)  # last_seen_at is refreshed at most this often: reads stay reads


@dataclass(frozen=True)
class Login:
    """Who a valid session cookie belongs to."""

    session_id: str
    user_id: str
    tenant_id: str
    email: str
    role: Role
    workspace: str  # the workspace's name


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    user: User,
    tenant_id: str,
    lifetime: timedelta,
    *,
    user_agent: str = "",
    address: str = "",
) -> str:
    """A new session for ``user`` in workspace ``tenant_id``; returns the token for the cookie (only its
    hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(LoginSession(
        user_id=user.id, tenant_id=tenant_id, token_hash=_hash(token), user_agent=user_agent[:200],
        address=address[:64], created_at=now, last_seen_at=now, expires_at=now + lifetime,
    ))  # fmt: skip
    session.commit()
    return token


def resolve(session: Session, token: str, now: datetime | None = None) -> Login | None:
    """The log-in behind ``token``, or None if it was ended, expired or never existed."""
    now = now or utcnow()
    row = session.execute(
        select(LoginSession.id, LoginSession.user_id, LoginSession.tenant_id, LoginSession.last_seen_at,
               User.email, Membership.role, Tenant.name)
        .join(User, User.id == LoginSession.user_id)
        .join(Membership, (Membership.user_id == LoginSession.user_id)
              & (Membership.tenant_id == LoginSession.tenant_id))
        .join(Tenant, Tenant.id == LoginSession.tenant_id)
        .where(LoginSession.token_hash == _hash(token), LoginSession.expires_at > now)
    ).first()  # fmt: skip
    if row is None:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        session.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        session.commit()
    return Login(row.id, row.user_id, row.tenant_id, row.email or "", Role(row.role), row.name)


def end(session: Session, token: str) -> None:
    """Log-out: this session stops working, wherever its cookie has been copied."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))
    session.commit()


def end_one(session: Session, user_id: str, session_id: str) -> str:
    """End one of this user's sessions (from the account page); its id, or NotFound if it is not theirs."""
    try:
        session_id = canonical_id(LoginSession, session_id)
    except NotFound:
        raise NotFound(SESSION_NOT_FOUND) from None
    stmt = delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user_id)
    result = cast("CursorResult[Any]", session.execute(stmt))
    session.commit()
    if not result.rowcount:
        raise NotFound(SESSION_NOT_FOUND)
    return session_id


def end_all(session: Session, user_id: str) -> int:
    """End every session of this user (committing whatever the session holds with it); how many."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user_id)
    result = cast("CursorResult[Any]", session.execute(stmt))
    session.commit()
    return int(result.rowcount)


def listed(session: Session, user_id: str, now: datetime | None = None) -> list[LoginSession]:
    """This user's live sessions, most recently used first (the account page lists them)."""
    return list(session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.expires_at > (now or utcnow()))
        .order_by(LoginSession.last_seen_at.desc())
    ))  # fmt: skip

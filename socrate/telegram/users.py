"""Who a Telegram user is: a personal tenant on first contact, or a dashboard tenant via a link code."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socrate import logs
from socrate.accounts import tenants
from socrate.config import Settings
from socrate.db.models import LinkCode, User, utcnow
from socrate.errors import BadRequest, Conflict, NotFound
from socrate.tenancy import get_owned, select_owned

log = logging.getLogger(__name__)
UNKNOWN_CODE = "That link code is not valid. Create a new one on the dashboard's Telegram page."
USED_CODE = "That link code was already used. Create a new one on the dashboard's Telegram page."
EXPIRED_CODE = "That link code has expired. Create a new one on the dashboard's Telegram page."


@dataclass(frozen=True)
class ChatUser:
    """The resolved identity a bot handler works with."""

    user_id: str
    tenant_id: str
    created: bool


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


def _digest(code: str) -> str:
    """Codes are stored hashed: a database dump cannot be used to hijack a link."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def resolve(session: Session, telegram_id: int, display_name: str, settings: Settings) -> ChatUser:
    """The user behind ``telegram_id``, creating a personal tenant for them on first contact."""
    user = session.scalars(select(User).where(User.telegram_id == telegram_id)).first()
    if user is not None:
        return ChatUser(user.id, user.tenant_id, created=False)
    tenant = tenants.add(session, display_name.strip() or f"telegram-{telegram_id}", settings)
    user = User(tenant_id=tenant.id, telegram_id=telegram_id)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # two first messages raced; the other one created the user
        session.rollback()
        return resolve(session, telegram_id, display_name, settings)
    log.info("telegram user created", extra=logs.fields(tenant_id=tenant.id, user_id=user.id))
    return ChatUser(user.id, tenant.id, created=True)


def issue_code(session: Session, tenant_id: str, settings: Settings) -> IssuedCode:
    """A one-time code that attaches whoever redeems it in the bot to ``tenant_id``."""
    code = secrets.token_urlsafe(12)
    expires_at = utcnow() + timedelta(minutes=settings.telegram_link_code_minutes)
    session.add(LinkCode(tenant_id=tenant_id, code=_digest(code), expires_at=expires_at))
    session.commit()
    return IssuedCode(code, expires_at)


def redeem_code(session: Session, telegram_id: int, code: str) -> str:
    """Attach the Telegram user to the code's tenant and return that tenant id.

    Documents sent before linking stay with the user's personal tenant.
    """
    row = session.scalars(select(LinkCode).where(LinkCode.code == _digest(code)).with_for_update()).first()
    if row is None:
        raise NotFound(UNKNOWN_CODE)
    if row.used_at is not None:
        raise Conflict(USED_CODE)
    if row.expires_at <= utcnow():
        raise BadRequest(EXPIRED_CODE)
    row.used_at = utcnow()
    user = session.scalars(select(User).where(User.telegram_id == telegram_id)).first()
    if user is None:
        session.add(User(tenant_id=row.tenant_id, telegram_id=telegram_id))
    else:
        user.tenant_id = row.tenant_id
    session.commit()
    log.info("telegram user linked", extra=logs.fields(tenant_id=row.tenant_id, telegram_id=telegram_id))
    return row.tenant_id


def linked(session: Session, tenant_id: str) -> list[User]:
    """The Telegram accounts that post into this tenant, first linked first."""
    stmt = select_owned(User, tenant_id).where(User.telegram_id.is_not(None), User.email.is_(None))
    return list(session.scalars(stmt.order_by(User.created_at, User.id)))


def unlink(session: Session, tenant_id: str, user_id: str) -> None:
    """Detach a Telegram account from the tenant: its next message starts a workspace of its own."""
    user = get_owned(session, User, user_id, tenant_id)
    if user.telegram_id is None or user.email is not None:
        raise NotFound("user not found")
    session.delete(user)
    session.commit()
    log.info("telegram user unlinked", extra=logs.fields(tenant_id=tenant_id, telegram_id=user.telegram_id))

"""Dashboard accounts: sign-up (a tenant and its owner), scrypt password hashes, log-in by password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socrate import logs, textfields
from socrate.accounts import logins, tenants
from socrate.config import Settings
from socrate.db.models import Membership, Role, User
from socrate.errors import BadRequest, Conflict, Unauthorized
from socrate.ratelimit import Limit, RateLimiter

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # werkzeug's defaults: ~32 MiB and tens of ms per hash
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WRONG_CREDENTIALS = "Wrong email or password"


@dataclass(frozen=True)
class Gate:
    """Where attempts are counted (the shared rate limiter), who makes them (the client address), and
    how many are allowed."""

    limiter: RateLimiter
    address: str
    login_failures: Limit  # per account and per address
    signups: Limit  # per address

    @classmethod
    def of(cls, limiter: RateLimiter, address: str, settings: Settings) -> Gate:
        return cls(limiter, address, Limit(settings.login_failures_per_15_minutes, 15 * 60),
                   Limit(settings.signups_per_hour_per_address, 3600))  # fmt: skip

    def check_login(self, email: str) -> None:
        for scope, identity in self._login_keys(email):
            self.limiter.check(scope, identity, self.login_failures)

    def count_failed_login(self, email: str) -> None:
        for scope, identity in self._login_keys(email):
            self.limiter.add(scope, identity, self.login_failures)

    def _login_keys(self, email: str) -> tuple[tuple[str, str], ...]:
        account = hashlib.sha256(email.encode()).hexdigest()[:32]  # no e-mail addresses in Redis keys
        return ("login-account", account), ("login-address", self.address)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash``: parameters travel with the hash so they can be raised later."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    """Constant-time comparison against a hash made by ``hash_password``."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str, email: str) -> None:
    """Refuse passwords that are short, overlong, one repeated character, or the email itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"Password is too weak: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"Password is too long (at most {MAX_PASSWORD_LENGTH} characters)")
    if len(set(password)) < 4 or password.lower() in email:
        raise BadRequest("Password is too weak: avoid repeated characters and your email address")


def signup(session: Session, email: str, password: str, settings: Settings, gate: Gate | None = None) -> User:
    """A new tenant named after the email, with its owner user; Conflict if the email is taken.

    With a ``gate``, its address may only try so many times an hour."""
    if gate is not None:
        gate.limiter.hit("signup", gate.address, gate.signups)
    email = normalise_email(textfields.refuse_controls(email, "Email"))
    textfields.refuse_controls(password, "Password")
    if not _EMAIL.match(email) or len(email) > 320:
        raise BadRequest("Enter a valid email address")
    check_password_strength(password, email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict("An account with this email already exists; log in instead")
    tenant = tenants.add(session, email, settings)
    user = User(tenant_id=tenant.id, email=email, password_hash=hash_password(password))
    try:
        session.add(user)
        session.flush()
        session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=Role.OWNER))
        session.commit()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        session.rollback()
        raise Conflict("An account with this email already exists; log in instead") from exc
    log.info("account created", extra=logs.fields(tenant_id=tenant.id, user_id=user.id))
    return user


def authenticate(session: Session, email: str, password: str, gate: Gate | None = None) -> User:
    """The user for these credentials; one message for unknown email and wrong password alike.

    With a ``gate``, an account and an address may each fail so many times per window; past
    that every attempt is refused (429) until the window ends, the right password too: guessing
    stops, and the owner waits at most one window."""
    email = normalise_email(textfields.refuse_controls(email, "Email"))
    if gate is not None:
        gate.check_login(email)
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None or not user.password_hash:
        verify_password(_DUMMY_HASH, password)  # same work either way: no timing oracle for emails
        user = None
    elif not verify_password(user.password_hash, password):
        user = None
    if user is None:
        if gate is not None:
            gate.count_failed_login(email)
        raise Unauthorized(WRONG_CREDENTIALS)
    return user


def change_password(session: Session, user_id: str, current: str, new: str, gate: Gate | None = None) -> int:
    """Set a new password after checking the current one (throttled like log-in) and end every session
    of this user in the same transaction: whoever held the old password or a copied cookie is out (the
    caller logs the person who changed it in again). Returns how many sessions ended."""
    user = session.get(User, user_id)
    if user is None or not user.email:
        raise Unauthorized("Log in again")
    textfields.refuse_controls(new, "New password")
    if gate is not None:
        gate.check_login(user.email)
    if not user.password_hash or not verify_password(user.password_hash, current):
        if gate is not None:
            gate.count_failed_login(user.email)
        raise BadRequest("The current password is wrong")
    check_password_strength(new, user.email)
    if new == current:
        raise BadRequest("The new password is the same as the current one")
    user.password_hash = hash_password(new)
    ended = logins.end_all(session, user.id)  # commits the new hash in the same transaction
    log.info("password changed", extra=logs.fields(user_id=user.id, sessions_ended=ended))
    return ended

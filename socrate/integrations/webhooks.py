"""Webhook endpoints a tenant manages, and the events recorded for them.

An event is recorded (``record``) in the same transaction as the change it announces: one delivery
row per subscribed endpoint, the outbox that socrate/integrations/deliveries.py sends from. The
caller hands the returned ids to the queue after its commit; a message lost on the way is sent again
by the sweep, so an event is delivered at least once, with the same ``webhook-id`` every time.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from socrate import logs, textfields
from socrate.config import Settings
from socrate.db.models import Document, WebhookAttempt, WebhookDelivery, WebhookEndpoint, iso, new_id, utcnow
from socrate.documents import lifecycle
from socrate.errors import BadRequest, Conflict
from socrate.integrations import fetch
from socrate.tenancy import get_owned, select_owned

log = logging.getLogger(__name__)

READY, FAILED, DELETED = "document.ready", "document.failed", "document.deleted"
EVENTS = (READY, FAILED, DELETED)
TEST = "webhook.test"  # sent on request, once, whatever the endpoint subscribes to
LOG_SIZE = 100  # attempts kept per endpoint
PREVIOUS_SECRET_HOURS = 24  # after a rotation the old secret signs too, so receivers can switch over
SECRET_BYTES = 24
MAX_DESCRIPTION = 200


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # an attempt holds it until claimed_until
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: a final answer, the retry window over, or the endpoint disabled


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _url(value: object, settings: Settings) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest('Send the receiver\'s address as "url" (https://...)')
    try:
        return fetch.check_url(value, allow_loopback=settings.allow_loopback_urls)
    except BadRequest as exc:
        raise BadRequest(f"The webhook URL is refused: {exc.message}") from None


def _events(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
        raise BadRequest(f'"events" must be a non-empty list of: {", ".join(EVENTS)}')
    unknown = sorted(set(value) - set(EVENTS))
    if unknown:
        raise BadRequest(f"Unknown event {unknown[0]!r}: choose from {', '.join(EVENTS)}")
    return [event for event in EVENTS if event in value]


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest('"description" must be a string')
    if len(value) > MAX_DESCRIPTION:
        raise BadRequest(f'"description" is at most {MAX_DESCRIPTION} characters')
    return textfields.shown(textfields.refuse_controls(value, "Description"))


def create(
    session: Session,
    tenant_id: str,
    url: object,
    *,
    events: object = None,
    description: object = "",
    settings: Settings,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint (every event unless ``events`` says which) and its secret, shown only now."""
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=_url(url, settings),
        events=list(EVENTS) if events is None else _events(events),
        description=_description(description),
        secret=new_secret(),
        enabled=True,
    )
    count = select(func.count()).select_from(select_owned(WebhookEndpoint, tenant_id).subquery())
    if (session.scalar(count) or 0) >= settings.webhook_max_endpoints:
        raise Conflict(f"A workspace has at most {settings.webhook_max_endpoints} webhook endpoints")
    session.add(endpoint)
    session.commit()
    log.info("webhook endpoint created", extra=logs.fields(tenant_id=tenant_id, endpoint_id=endpoint.id))
    return endpoint, endpoint.secret


def list_endpoints(session: Session, tenant_id: str) -> list[WebhookEndpoint]:
    stmt = select_owned(WebhookEndpoint, tenant_id).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return list(session.scalars(stmt))


def get(session: Session, tenant_id: str, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    return get_owned(session, WebhookEndpoint, endpoint_id, tenant_id, for_update=for_update)


def update(
    session: Session, tenant_id: str, endpoint_id: str, changes: dict[str, Any], *, settings: Settings
) -> WebhookEndpoint:
    """Change the URL, events or description, or enable/disable; re-enabling clears the reason."""
    unknown = sorted(set(changes) - {"url", "events", "description", "enabled"})
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r}: send url, events, description or enabled")
    endpoint = get(session, tenant_id, endpoint_id, for_update=True)
    if "url" in changes:
        endpoint.url = _url(changes["url"], settings)
    if "events" in changes:
        endpoint.events = _events(changes["events"])
    if "description" in changes:
        endpoint.description = _description(changes["description"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise BadRequest('"enabled" must be true or false')
        if changes["enabled"] != endpoint.enabled:
            set_enabled(
                session, endpoint, changes["enabled"], None if changes["enabled"] else "Disabled by a user"
            )
    endpoint.updated_at = utcnow()
    session.commit()
    return endpoint


def set_enabled(
    session: Session, endpoint: WebhookEndpoint, enabled: bool, reason: str | None = None
) -> None:
    """Enable, or disable with the reason shown. Disabling ends the endpoint's pending deliveries unsent,
    so an endpoint enabled again gets new events only (never a day-old backlog that fails at once)."""
    now = utcnow()
    endpoint.enabled, endpoint.disabled_reason = enabled, reason
    endpoint.disabled_at = None if enabled else now
    endpoint.updated_at = now
    if not enabled:
        pending = (WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.state == DeliveryState.PENDING,
                   WebhookDelivery.event != TEST)  # fmt: skip
        session.execute(update_rows(WebhookDelivery).where(*pending).values(
            state=DeliveryState.FAILED, finished_at=now, dispatched_at=None,
            last_error="Not sent: the endpoint was disabled",
        ))  # fmt: skip


def delete(session: Session, tenant_id: str, endpoint_id: str) -> str:
    """The endpoint, its pending deliveries and its log; nothing more is sent to it."""
    endpoint = get(session, tenant_id, endpoint_id)
    session.delete(endpoint)
    session.commit()
    log.info("webhook endpoint deleted", extra=logs.fields(tenant_id=tenant_id, endpoint_id=endpoint.id))
    return endpoint.id


def rotate_secret(session: Session, tenant_id: str, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown only now; the old one keeps signing for PREVIOUS_SECRET_HOURS alongside it."""
    endpoint = get(session, tenant_id, endpoint_id, for_update=True)
    now = utcnow()
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_expires_at = now + timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.updated_at = now
    session.commit()
    return endpoint, endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one while it lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def send_test(session: Session, tenant_id: str, endpoint_id: str) -> str:
    """Queue a ``webhook.test`` event for one endpoint: one attempt, whose answer shows in its log."""
    endpoint = get(session, tenant_id, endpoint_id)
    data = {"endpoint_id": endpoint.id, "message": "A test event from Socrate"}
    delivery = _delivery(endpoint, TEST, data, utcnow(), retry_seconds=0)
    session.add(delivery)
    session.commit()
    return delivery.id


def record(
    session: Session, tenant_id: str, event: str, data: dict[str, Any], *, settings: Settings
) -> list[str]:
    """One delivery per enabled endpoint that subscribes to ``event``, in the caller's transaction; the
    ids to hand to the queue once it commits (marked as dispatched: if the queue is down, the sweep
    sends them once REDISPATCH_SECONDS have passed)."""
    stmt = select_owned(WebhookEndpoint, tenant_id).where(WebhookEndpoint.enabled.is_(True))
    now = utcnow()
    window = settings.webhook_retry_window_seconds
    rows = [_delivery(e, event, data, now, window) for e in session.scalars(stmt) if event in e.events]
    session.add_all(rows)
    if rows:
        log.info(
            "webhook event recorded", extra=logs.fields(tenant_id=tenant_id, event=event, endpoints=len(rows))
        )
    return [row.id for row in rows]


def record_document(session: Session, doc: Document, event: str, *, settings: Settings) -> list[str]:
    """``record`` with the document's status view as the event's data."""
    return record(session, doc.tenant_id, event, lifecycle.status_view(doc), settings=settings)


def _delivery(
    endpoint: WebhookEndpoint, event: str, data: dict[str, Any], now: datetime, retry_seconds: float
) -> WebhookDelivery:
    body = json.dumps({"type": event, "timestamp": iso(now), "data": data}, separators=(",", ":"))
    return WebhookDelivery(
        id=new_id(), tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id, event=event, body=body,
        state=DeliveryState.PENDING, attempts=0, retry_until=now + timedelta(seconds=retry_seconds),
        next_attempt_at=now, dispatched_at=now, created_at=now,
    )  # fmt: skip


def attempts(
    session: Session, tenant_id: str, endpoint_id: str, limit: int = LOG_SIZE
) -> list[WebhookAttempt]:
    """The endpoint's delivery log, newest first."""
    endpoint = get(session, tenant_id, endpoint_id)
    stmt = (
        select_owned(WebhookAttempt, tenant_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def endpoint_view(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    """What a tenant sees of an endpoint; the secret only when just made (create, rotate)."""
    view: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": iso(endpoint.disabled_at),
        "secret_hint": endpoint.secret[:10] + "…",
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
    }
    if secret is not None:
        view["secret"] = secret
    return view


def attempt_view(row: WebhookAttempt) -> dict[str, Any]:
    return {"delivery_id": row.delivery_id, "event": row.event, "attempt": row.attempt, "at": iso(row.at),
            "status_code": row.status_code, "latency_ms": row.latency_ms, "error": row.error,
            "ok": row.status_code is not None and 200 <= row.status_code < 300}  # fmt: skip

"""Sending webhook deliveries: claim one, sign it, POST it, log the answer, schedule what comes next.

Attempts run on the ``webhooks`` queue, served by a worker of their own (threads), never beside
document processing. At most WEBHOOK_ENDPOINT_CONCURRENCY attempts per endpoint are in flight, so a
slow or failing receiver holds that many threads and no more: other endpoints' deliveries go on. When
an attempt ends, the same endpoint's next due deliveries are sent at once.

An attempt holds a lease (``claimed_until``); a worker killed mid-attempt leaves it to run out, and
the sweep (Beat, every WEBHOOK_SWEEP_SECONDS) sends the delivery again with the same ``webhook-id``:
at least once. The sweep also sends retries when they are due, and any delivery whose queue message
was lost. A delivery is retried on timeouts, connection errors, 408, 429 and 5xx, waiting twice as
long each time, until its retry window (WEBHOOK_RETRY_WINDOW_SECONDS) ends; then the endpoint is
disabled, with the reason shown to its tenant.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpcore
from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from socrate import logs
from socrate.config import Settings
from socrate.db import session_scope
from socrate.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from socrate.errors import BadRequest, NotFound
from socrate.integrations import fetch, webhooks
from socrate.integrations.guarded import GuardedBackend, PrivateAddress, Refused, connection_reason
from socrate.tenancy import get_owned

log = logging.getLogger(__name__)

USER_AGENT = "Socrate-Webhooks/1"
LEASE_MARGIN_SECONDS = 5.0  # an attempt's lease: the timeout plus this
REDISPATCH_SECONDS = 60.0  # a due delivery whose message has not been taken this long is sent again
SWEEP_BATCH = 500
MAX_ANSWER_BYTES = 64 * 1024  # read of a receiver's answer body, then the connection is dropped
RETRYABLE_STATUS = frozenset({408, 429})

State = webhooks.DeliveryState
PENDING, SENDING, DELIVERED, FAILED = State.PENDING, State.SENDING, State.DELIVERED, State.FAILED
Due = tuple[str, str]  # (tenant id, delivery id): what the queue is handed


@dataclass(frozen=True)
class Claimed:
    """An attempt this worker owns until its lease ends."""

    tenant_id: str
    delivery_id: str
    endpoint_id: str
    url: str
    body: str
    secrets: list[str]
    attempt: int


@dataclass(frozen=True)
class Answer:
    """What the receiver did: its status (None if it never answered), how long it took, and why not."""

    status: int | None
    latency_ms: int
    error: str | None = None
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver(
    factory: sessionmaker[Session], tenant_id: str, delivery_id: str, settings: Settings
) -> tuple[str, list[Due]]:
    """One attempt of one delivery: the outcome, and the endpoint's deliveries to send next."""
    claimed = _claim(factory, tenant_id, delivery_id, settings)
    if isinstance(claimed, str):
        return claimed, []
    answer = send(claimed, settings)
    return _finish(factory, claimed, answer, settings)


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """The wait after the ``attempts``-th failed attempt: the base, doubled each time, capped."""
    wait: float = settings.webhook_retry_base_seconds * 2 ** (attempts - 1)
    return min(wait, settings.webhook_retry_max_seconds)


def _claim(
    factory: sessionmaker[Session], tenant_id: str, delivery_id: str, settings: Settings
) -> Claimed | str:
    """Take the delivery for one attempt, or say why not (already delivered, not due, endpoint busy...)."""
    now = utcnow()
    with session_scope(factory) as session:
        try:
            endpoint_id = get_owned(session, WebhookDelivery, delivery_id, tenant_id).endpoint_id
            # The endpoint's row lock serialises claims and ends of attempts on it: the in-flight count holds.
            endpoint = get_owned(session, WebhookEndpoint, endpoint_id, tenant_id, for_update=True)
            delivery = get_owned(session, WebhookDelivery, delivery_id, tenant_id, for_update=True)
        except NotFound:
            return "deleted"
        if delivery.state in (DELIVERED, FAILED):
            return delivery.state
        if delivery.state == SENDING and delivery.claimed_until is not None and delivery.claimed_until > now:
            return "in flight"
        if delivery.next_attempt_at > now:
            return "not due"
        if not endpoint.enabled and delivery.event != webhooks.TEST:
            _end(delivery, FAILED, now, error="Not sent: the endpoint is disabled")
            return FAILED
        if _in_flight(session, endpoint.id, now) >= settings.webhook_endpoint_concurrency:
            delivery.dispatched_at = None  # no message is out for it now: the next attempt to end sends it
            return "endpoint busy"
        delivery.state, delivery.attempts = SENDING, delivery.attempts + 1
        delivery.claimed_until = now + timedelta(
            seconds=settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        )
        return Claimed(tenant_id, delivery.id, endpoint.id, endpoint.url, delivery.body,
                       webhooks.signing_secrets(endpoint, now), delivery.attempts)  # fmt: skip


def _in_flight(session: Session, endpoint_id: str, now: datetime) -> int:
    stmt = select(func.count()).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.state == SENDING,
        WebhookDelivery.claimed_until > now,
    )
    return session.scalar(stmt) or 0


def signature(secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def send(claimed: Claimed, settings: Settings) -> Answer:
    """POST the signed body to the endpoint (public addresses only, no redirects followed)."""
    started = time.monotonic()

    def answer(status: int | None, error: str | None = None, retryable: bool = False) -> Answer:
        return Answer(status, round((time.monotonic() - started) * 1000), error, retryable)

    try:
        link = fetch.parse_url(claimed.url, allow_loopback=settings.allow_loopback_urls)
    except BadRequest as exc:
        return answer(None, f"The URL is refused: {exc.message}")
    now = utcnow()
    headers = [
        ("Host", link.host_header()),
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/json"),
        ("webhook-id", claimed.delivery_id),
        ("webhook-timestamp", str(int(now.timestamp()))),
        ("webhook-signature", signature(claimed.secrets, claimed.delivery_id, now, claimed.body)),
    ]
    timeout = settings.webhook_timeout_seconds
    backend = GuardedBackend(started + timeout, allow_loopback=settings.allow_loopback_urls)
    extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)}
    try:
        with (
            httpcore.ConnectionPool(network_backend=backend) as pool,
            pool.stream(
                "POST",
                link.request_url(),
                headers=headers,
                content=claimed.body.encode(),
                extensions=extensions,
            ) as response,
        ):
            read = 0
            for chunk in response.iter_stream():
                read += len(chunk)
                if read >= MAX_ANSWER_BYTES:
                    break
            status = response.status
    except PrivateAddress as exc:
        return answer(None, exc.message)
    except Refused as exc:  # the host name could not be found: DNS may come back
        return answer(None, exc.message, retryable=True)
    except httpcore.TimeoutException:
        return answer(None, f"No answer within {timeout:g} s", retryable=True)
    except httpcore.ConnectError as exc:
        return answer(None, f"Could not connect: {connection_reason(exc)}", retryable=True)
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        return answer(None, f"The connection broke off: {connection_reason(exc)}", retryable=True)
    if 200 <= status < 300:
        return answer(status)
    if 300 <= status < 400:
        return answer(status, f"HTTP {status}: redirects are not followed; give the final URL")
    return answer(status, f"HTTP {status}", retryable=status >= 500 or status in RETRYABLE_STATUS)


def _finish(
    factory: sessionmaker[Session], claimed: Claimed, answer: Answer, settings: Settings
) -> tuple[str, list[Due]]:
    """Log the attempt; delivered, retried later, or failed (disabling the endpoint once its retry
    window is over); then the endpoint's next due deliveries."""
    now = utcnow()
    with session_scope(factory) as session:
        try:
            endpoint = get_owned(
                session, WebhookEndpoint, claimed.endpoint_id, claimed.tenant_id, for_update=True
            )
            delivery = get_owned(
                session, WebhookDelivery, claimed.delivery_id, claimed.tenant_id, for_update=True
            )
        except NotFound:
            return "deleted", []
        session.add(WebhookAttempt(
            tenant_id=claimed.tenant_id, endpoint_id=endpoint.id, delivery_id=delivery.id,
            event=delivery.event, attempt=claimed.attempt, at=now, status_code=answer.status,
            latency_ms=answer.latency_ms, error=answer.error,
        ))  # fmt: skip
        session.flush()
        _trim_log(session, endpoint.id)
        delivery.last_status, delivery.last_error = answer.status, answer.error
        if answer.ok:
            _end(delivery, DELIVERED, now, error=None)
        elif answer.retryable and now < delivery.retry_until:
            delivery.state, delivery.claimed_until, delivery.dispatched_at = PENDING, None, None
            wait = timedelta(seconds=backoff_seconds(claimed.attempt, settings))
            delivery.next_attempt_at = min(now + wait, delivery.retry_until)
        else:
            _end(delivery, FAILED, now, error=answer.error)
            if answer.retryable and delivery.event != webhooks.TEST:
                _disable(session, endpoint, answer, settings)
        outcome = delivery.state
        due = _next_for_endpoint(session, endpoint, now, settings)
    level = logging.INFO if answer.ok else logging.WARNING
    log.log(level, "webhook attempt", extra=logs.fields(
        tenant_id=claimed.tenant_id, endpoint_id=claimed.endpoint_id, delivery_id=claimed.delivery_id,
        attempt=claimed.attempt, status=answer.status, latency_ms=answer.latency_ms, outcome=outcome,
        error=answer.error,
    ))  # fmt: skip
    return outcome, due


def _end(delivery: WebhookDelivery, state: str, now: datetime, *, error: str | None) -> None:
    delivery.state, delivery.finished_at, delivery.claimed_until, delivery.dispatched_at = (
        state,
        now,
        None,
        None,
    )
    if error is not None:
        delivery.last_error = error


def _disable(session: Session, endpoint: WebhookEndpoint, answer: Answer, settings: Settings) -> None:
    """The retry window ran out: stop sending to this endpoint until someone enables it again."""
    hours = settings.webhook_retry_window_seconds / 3600
    window = f"{hours:g} h" if hours >= 1 else f"{settings.webhook_retry_window_seconds:g} s"
    reason = f"Disabled after deliveries kept failing for {window} (last: {answer.error})"
    webhooks.set_enabled(session, endpoint, False, reason)
    log.warning(
        "webhook endpoint disabled",
        extra=logs.fields(tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id, reason=reason),
    )


def _trim_log(session: Session, endpoint_id: str) -> None:
    """Keep the newest LOG_SIZE attempts of the endpoint."""
    oldest_kept = (
        select(WebhookAttempt.id)
        .where(WebhookAttempt.endpoint_id == endpoint_id)
        .order_by(WebhookAttempt.id.desc())
        .offset(webhooks.LOG_SIZE - 1)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        delete(WebhookAttempt).where(
            WebhookAttempt.endpoint_id == endpoint_id, WebhookAttempt.id < oldest_kept
        )
    )


def _due(now: datetime) -> Select[tuple[str, str, str]]:
    """Deliveries to send now: due and without a message out (or with one out too long), or whose
    attempt's lease ran out (its worker died)."""
    stale = now - timedelta(seconds=REDISPATCH_SECONDS)
    waiting = and_(
        WebhookDelivery.state == PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.dispatched_at.is_(None), WebhookDelivery.dispatched_at < stale),
    )
    abandoned = and_(WebhookDelivery.state == SENDING, WebhookDelivery.claimed_until < now)
    return (
        select(WebhookDelivery.tenant_id, WebhookDelivery.id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(or_(waiting, abandoned))
        .where(or_(WebhookEndpoint.enabled.is_(True), WebhookDelivery.event == webhooks.TEST))
        .order_by(WebhookDelivery.next_attempt_at)
    )


def _next_for_endpoint(
    session: Session, endpoint: WebhookEndpoint, now: datetime, settings: Settings
) -> list[Due]:
    """The endpoint's due deliveries that fit in its free slots, marked as dispatched."""
    free = settings.webhook_endpoint_concurrency - _in_flight(session, endpoint.id, now)
    if free <= 0:
        return []
    rows = session.execute(_due(now).where(WebhookDelivery.endpoint_id == endpoint.id).limit(free)).all()
    return _mark_dispatched(session, [(row.tenant_id, row.id) for row in rows], now)


def sweep(factory: sessionmaker[Session], settings: Settings) -> list[Due]:
    """Every endpoint's due deliveries (within its free slots), marked as dispatched: for the queue."""
    now = utcnow()
    with session_scope(factory) as session:
        rows = session.execute(_due(now).limit(SWEEP_BATCH)).all()
        if not rows:
            return []
        endpoints = {row.endpoint_id for row in rows}
        busy = dict(session.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(WebhookDelivery.endpoint_id.in_(endpoints), WebhookDelivery.state == SENDING,
                   WebhookDelivery.claimed_until > now)
            .group_by(WebhookDelivery.endpoint_id)
        ).tuples().all())  # fmt: skip
        chosen: list[Due] = []
        for row in rows:
            if busy.get(row.endpoint_id, 0) < settings.webhook_endpoint_concurrency:
                busy[row.endpoint_id] = busy.get(row.endpoint_id, 0) + 1
                chosen.append((row.tenant_id, row.id))
        return _mark_dispatched(session, chosen, now)


def _mark_dispatched(session: Session, due: list[Due], now: datetime) -> list[Due]:
    if due:
        ids = [delivery_id for _, delivery_id in due]
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(dispatched_at=now))
    return due


def remove_finished(session: Session, older_than: datetime, dry_run: bool = False) -> list[str]:
    """Deliveries that ended before ``older_than``, deleted unless ``dry_run`` (the delivery log keeps
    its own rows)."""
    ended = (WebhookDelivery.state.in_((DELIVERED, FAILED))) & (WebhookDelivery.finished_at < older_than)
    found = list(session.scalars(select(WebhookDelivery.id).where(ended)))
    if found and not dry_run:
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(found)))
    return found

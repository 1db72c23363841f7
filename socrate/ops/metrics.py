"""Prometheus metrics shared by every process: counters live in Redis, rendered at scrape time.

Web, worker and Beat are separate processes (separate hosts in production), so in-process
prometheus_client counters would each see a fraction of the truth. The service layer increments a
few Redis hashes instead (``record_upload``, ``record_run``); the web process's ``/metrics`` reads
them, the document counts (one GROUP BY) and the queue lengths when Prometheus scrapes.
Recording never raises: losing a sample is better than failing an upload or a run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import cast

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from socrate import logs
from socrate.db.models import Document
from socrate.documents.lifecycle import Status
from socrate.search import usage
from socrate.taskqueue import DOCUMENTS_QUEUE, MAINTENANCE_QUEUE

log = logging.getLogger(__name__)

PREFIX = "socrate:metrics:"
UPLOADS = PREFIX + "uploads"  # fields: count, bytes
FAILURES = PREFIX + "failures"  # field per error type
DURATION = PREFIX + "duration:"  # one hash per outcome: le:<bound> counts, sum, count
QUEUES = (DOCUMENTS_QUEUE, MAINTENANCE_QUEUE)
OUTCOMES = (Status.READY, Status.FAILED)
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, math.inf)
SOCKET_TIMEOUT = 1.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_clients: dict[str, redis.Redis] = {}


def _client(redis_url: str) -> redis.Redis:
    """One small pool per URL and process (redis-py re-creates connections after a fork)."""
    if redis_url not in _clients:
        _clients[redis_url] = redis.Redis.from_url(
            redis_url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
    return _clients[redis_url]


def _bound(value: float) -> str:
    return "+Inf" if value == math.inf else repr(value)


def record_upload(redis_url: str, size_bytes: int) -> None:
    """An accepted upload of ``size_bytes``."""
    if not redis_url:
        return
    try:
        pipe = _client(redis_url).pipeline(transaction=False)
        pipe.hincrby(UPLOADS, "count", 1)
        pipe.hincrby(UPLOADS, "bytes", size_bytes)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not record upload metric", extra=logs.fields(error=repr(exc)))


def record_run(redis_url: str, outcome: str, seconds: float, error_type: str | None = None) -> None:
    """A processing run that ended ``ready`` or ``failed`` (with its error type) after ``seconds``."""
    if not redis_url:
        return
    bucket = next(b for b in DURATION_BUCKETS if seconds <= b)
    try:
        pipe = _client(redis_url).pipeline(transaction=False)
        pipe.hincrby(DURATION + outcome, f"le:{_bound(bucket)}", 1)
        pipe.hincrby(DURATION + outcome, "count", 1)
        pipe.hincrbyfloat(DURATION + outcome, "sum", seconds)
        if error_type:
            pipe.hincrby(FAILURES, error_type, 1)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not record run metric", extra=logs.fields(outcome=outcome, error=repr(exc)))


def documents_by_status(engine: Engine) -> dict[str, int]:
    """Every status with its count (zero included), from one GROUP BY."""
    with engine.connect() as conn:
        rows = conn.execute(select(Document.status, func.count()).group_by(Document.status)).all()
    counts = dict.fromkeys(map(str, Status), 0)
    counts.update({status: count for status, count in rows})
    return counts


def queue_depths(redis_url: str) -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis lists named after the queues)."""
    client = _client(redis_url)
    return {name: cast(int, client.llen(name)) for name in QUEUES}


def _decode(raw: object) -> dict[str, float]:
    """A hash reply (bytes to bytes), which redis-py types as maybe awaitable even on the sync client."""
    return {k.decode(): float(v) for k, v in cast("dict[bytes, bytes]", raw).items()}


class SocrateCollector(Collector):
    """Reads the database and Redis on every scrape; a dependency that is down is reported as such."""

    def __init__(self, engine: Engine, redis_url: str) -> None:
        self.engine, self.redis_url = engine, redis_url

    def collect(self) -> Iterator[Metric]:
        yield from self._documents()
        if self.redis_url:
            yield from self._from_redis()

    def _documents(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("socrate_database_up", "Whether the database answered this scrape")
        try:
            counts = documents_by_status(self.engine)
        except Exception as exc:
            log.warning("metrics: database unavailable", extra=logs.fields(error=repr(exc)))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        docs = GaugeMetricFamily("socrate_documents", "Documents by status", labels=["status"])
        for status, count in counts.items():
            docs.add_metric([status], count)
        return [up, docs, *self._model_usage()]

    def _model_usage(self) -> Iterable[Metric]:
        """Today's (UTC) questions and model tokens of each tenant that asked something."""
        with Session(self.engine) as session:
            spent = usage.by_tenant_today(session)
        questions = GaugeMetricFamily(
            "socrate_tenant_questions_today",
            "Questions answered today (UTC), per tenant",
            labels=["tenant_id"],
        )
        tokens = GaugeMetricFamily(
            "socrate_tenant_model_tokens_today",
            "Model tokens spent today (UTC), per tenant and kind (prompt, completion)",
            labels=["tenant_id", "kind"],
        )
        for tenant_id, day in spent.items():
            questions.add_metric([tenant_id], day["questions"])
            for kind in ("prompt", "completion"):
                tokens.add_metric([tenant_id, kind], day[f"{kind}_tokens"])
        return [questions, tokens]

    def _from_redis(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("socrate_redis_up", "Whether Redis answered this scrape")
        try:
            client = _client(self.redis_url)
            depths = queue_depths(self.redis_url)
            uploads = _decode(client.hgetall(UPLOADS))
            failures = _decode(client.hgetall(FAILURES))
            durations = {outcome: _decode(client.hgetall(DURATION + outcome)) for outcome in OUTCOMES}
        except redis.RedisError as exc:
            log.warning("metrics: redis unavailable", extra=logs.fields(error=repr(exc)))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        queue = GaugeMetricFamily(
            "socrate_queue_depth", "Tasks waiting in each Celery queue", labels=["queue"]
        )
        for name, depth in depths.items():
            queue.add_metric([name], depth)
        count = CounterMetricFamily("socrate_uploads", "Uploads accepted")
        count.add_metric([], uploads.get("count", 0))
        size = CounterMetricFamily("socrate_upload_bytes", "Bytes of accepted uploads")
        size.add_metric([], uploads.get("bytes", 0))
        failed = CounterMetricFamily(
            "socrate_task_failures", "Documents that failed, by error type", labels=["error_type"]
        )
        for error_type, n in sorted(failures.items()):
            failed.add_metric([error_type], n)
        hist = HistogramMetricFamily(
            "socrate_processing_duration_seconds",
            "Time from a worker claiming a document to its final status",
            labels=["outcome"],
        )
        for outcome, fields in durations.items():
            running, buckets = 0.0, []
            for bound in DURATION_BUCKETS:
                running += fields.get(f"le:{_bound(bound)}", 0)
                buckets.append((_bound(bound), running))
            hist.add_metric([outcome], buckets, fields.get("sum", 0))
        return [up, queue, count, size, failed, hist]


def render(engine: Engine, redis_url: str) -> bytes:
    """The Prometheus text exposition of everything above."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SocrateCollector(engine, redis_url))
    return generate_latest(registry)

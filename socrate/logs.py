"""One log line per event, ``key=value`` or JSON (``LOG_FORMAT``), carrying the ids of the work at hand.

``configure`` installs the formatter on the root logger once per process. The ids (request_id,
tenant_id, document_id, task_id) live in a context variable that the web app sets per request and
Celery signals set per task; every line logged while they are set carries them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from socrate.config import Settings

CONTEXT_KEYS = ("request_id", "tenant_id", "document_id", "task_id")
FORMATS = ("kv", "json")
_context: ContextVar[dict[str, str]] = ContextVar("socrate_log_context", default={})  # noqa: B039 (never mutated)
_BARE = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
_configured = False


def current() -> dict[str, str]:
    """The ids bound in this context."""
    return dict(_context.get())


def bind(**fields: str | None) -> None:
    """Add ids to this context (None values are ignored); they stay until ``clear``."""
    _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})


def clear() -> None:
    _context.set({})


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Ids for the duration of a block, restored afterwards."""
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def fields(**values: object) -> dict[str, dict[str, object]]:
    """``log.info("event", extra=logs.fields(document_id=...))``: key=value fields on one line."""
    return {"fields": values}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "event": record.getMessage(),
    }
    fields.update(_context.get())
    fields.update(getattr(record, "fields", None) or {})  # log.info("...", extra={"fields": {...}})
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and _BARE.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \" \n escaped: one line per event


class KvFormatter(logging.Formatter):
    """``ts=… level=info logger=socrate.x event="…" tenant_id=… key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_kv_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same keys as the kv format."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return JsonFormatter() if fmt == "json" else KvFormatter()


def handler(fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) writing ``fmt`` lines."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(formatter(fmt))
    out._socrate = True  # type: ignore[attr-defined]
    return out


def configure(settings: Settings, *, force: bool = False) -> None:
    """Root logging for this process, once (later calls are no-ops unless ``force``)."""
    global _configured
    if _configured and not force:
        return
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_socrate", False)]:
        root.removeHandler(old)
    root.addHandler(handler(settings.log_format))
    root.setLevel(settings.log_level)
    _configured = True

"""gunicorn's error and access logs in the app's format (``logger_class`` in gunicorn.conf.py)."""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from socrate import logs
from socrate.config import Settings


class Logger(GunicornLogger):
    """Same handlers as gunicorn's, our formatter; one structured line per request."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = logs.formatter(Settings.from_env().log_format)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(fmt)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        status = str(resp.status).split(None, 1)[0]
        method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-")
        fields = {
            "method": method,
            "path": path,
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "request_id": headers.get("x-request-id"),
        }
        try:
            self.access_log.info("%s %s %s", method, path, status, extra={"fields": fields})
        except Exception:
            self.error(traceback.format_exc())

"""gunicorn's own refusals (URL or headers too long, malformed requests) as JSON ``{"error": ...}``
like every other error, instead of its built-in HTML page.

gunicorn writes these before the app sees the request, through ``gunicorn.util.write_error``;
gunicorn.conf.py points that name here (the workers look it up at call time).
"""

from __future__ import annotations

import json
import socket

from gunicorn import util

MESSAGES = {
    414: "The request line is too long: keep the URL under 4,094 bytes",
    431: "The request headers are too large: at most 100 headers of up to 8,190 bytes each",
    500: "Internal server error",
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    message = MESSAGES.get(status_int) or (f"{reason}: {mesg}" if mesg else reason)
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)

"""A webhook receiver of our own on 127.0.0.1: checks each delivery's signature with the endpoint's secret
(standardwebhooks, as an integrator would), records it, and answers the way a test says: fail the first
attempts, answer slowly, hang until released, or with a fixed status."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.fake_site import local_server


@dataclass
class Behaviour:
    status: int = 200
    fail_first: int = 0  # answer 500 to this many attempts of each webhook-id first
    delay: float = 0.0  # seconds before answering
    hang: threading.Event | None = None  # wait for it (at most a minute) before answering
    secrets: list[str] = field(default_factory=list)  # the signature must verify with each of them


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived
    verified: bool  # every secret of the path's behaviour verified the signature

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Behaviours by path; everything received, in order of arrival."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait(self, check: Callable[[], bool], timeout: float = 30.0, what: str = "deliveries") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.02)
        raise AssertionError(
            f"timed out waiting for {what}; received {[(r.path, r.id) for r in self.received]}"
        )

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        self.wait(lambda: len(self.at(path)) >= count, timeout, f"{count} deliveries at {path}")
        return self.at(path)


def _verified(behaviour: Behaviour, headers: dict[str, str], body: bytes) -> bool:
    try:
        for secret in behaviour.secrets:
            Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return bool(behaviour.secrets)


@contextmanager
def serve() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            behaviour = receiver.behaviours.get(self.path, Behaviour(status=404))
            with receiver.lock:
                earlier = sum(
                    1 for r in receiver.received if r.headers.get("webhook-id") == headers.get("webhook-id")
                )
                receiver.received.append(
                    Received(self.path, headers, body, time.time(), _verified(behaviour, headers, body))
                )
            if behaviour.hang is not None:
                behaviour.hang.wait(60)
            time.sleep(behaviour.delay)
            status = 500 if earlier < behaviour.fail_first else behaviour.status
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_: object) -> None:
            pass

    with local_server(Handler) as receiver.port:
        try:
            yield receiver
        finally:  # release held requests, or the server waits for them to end
            for behaviour in receiver.behaviours.values():
                if behaviour.hang is not None:
                    behaviour.hang.set()

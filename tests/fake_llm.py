"""A fake OpenAI-compatible Chat Completions server on 127.0.0.1, for Ask's tests and bench.ask.

It answers ``POST /v1/chat/completions`` the way the real ones do (a JSON completion, or server-sent
chunks ending in a usage chunk and ``[DONE]``) and can be told to misbehave: answer 429 or 500, wait
before the first token, break the stream off, or send a chunk that is not JSON. It keeps every request
it received and notices a client that hangs up before the stream ends.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fake_telegram import QuietServer, send_json

USAGE = {"prompt_tokens": 321, "completion_tokens": 12}


@dataclass
class Behaviour:
    reply: str = "The launch code is PELICAN-42 [1]."
    status: int = 200  # 429, 500: refuse every request with it
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    break_after: int | None = None  # tokens sent before the connection is dropped
    garbage_after: int | None = None  # tokens sent before a chunk that is not JSON
    usage: dict[str, int] | None = field(default_factory=lambda: dict(USAGE))


class FakeLLM:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.hung_up = threading.Event()
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self, **changes: Any) -> None:
        self.behaviour = Behaviour(**changes)
        self.requests.clear()
        self.headers.clear()
        self.hung_up.clear()

    def user_message(self, i: int = -1) -> str:
        return str(self.requests[i]["messages"][-1]["content"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                b = fake.behaviour
                if self.path != "/v1/chat/completions":
                    return send_json(self, 404, {"error": {"message": "not found"}})
                if b.status != 200:
                    return send_json(
                        self, b.status, {"error": {"message": f"fake {b.status}", "type": "fake"}}
                    )
                time.sleep(b.first_token_delay)
                tokens = re.findall(r"\S+\s*", b.reply)
                if not body.get("stream"):
                    message = {"role": "assistant", "content": b.reply}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    return send_json(
                        self,
                        200,
                        {**_envelope(body, "chat.completion"), "choices": [choice], "usage": b.usage},
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    self._stream(body, b, tokens)
                except (BrokenPipeError, ConnectionResetError):
                    fake.hung_up.set()

            def _stream(self, body: dict[str, Any], b: Behaviour, tokens: list[str]) -> None:
                for i, token in enumerate(tokens):
                    if i == b.break_after:
                        self.wfile.write(b'data: {"id": "x", "cho')
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    if i == b.garbage_after:
                        self._send("this is not json")
                        return
                    delta = {"role": "assistant", "content": token} if i == 0 else {"content": token}
                    self._chunk(body, [{"index": 0, "delta": delta, "finish_reason": None}])
                    time.sleep(b.token_delay)
                self._chunk(body, [{"index": 0, "delta": {}, "finish_reason": "stop"}])
                if b.usage is not None and (body.get("stream_options") or {}).get("include_usage"):
                    self._chunk(body, [], usage=b.usage)
                self._send("[DONE]")

            def _chunk(self, body: dict[str, Any], choices: list[Any], usage: Any = None) -> None:
                self._send(
                    json.dumps(
                        {**_envelope(body, "chat.completion.chunk"), "choices": choices, "usage": usage}
                    )
                )

            def _send(self, data: str) -> None:
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

        return Handler


def _envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": kind, "created": int(time.time()), "model": body.get("model")}

"""A fake Telegram Bot API on 127.0.0.1: the methods the bot uses, plus a user's side of the chat.

Requests arrive as python-telegram-bot sends them (form fields, nested objects as JSON strings).
Tests push updates (texts, documents, photos, button presses) and read each chat's bot messages
with every text each message has shown, in order.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Socrate", "username": "socrate_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}  # fmt: skip
LONG_POLL_CAP = 1.0


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-poll (the bot shutting down) is not an error."""


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    """A complete JSON response from a fake server's request handler."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class BotMessage:
    """A message the bot sent, with every text it has shown (the first, then each edit)."""

    chat_id: int
    message_id: int
    texts: list[str]
    reply_markup: dict[str, Any] | None = None
    shown_at: list[float] = field(default_factory=lambda: [time.monotonic()])  # when each text arrived

    @property
    def text(self) -> str:
        return self.texts[-1]

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class FakeTelegram:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[tuple[int, int], BotMessage] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    flood_edits: int = 0  # the next N editMessageText calls get 429 Too Many Requests
    flood_sends_containing: str = ""  # sendMessage calls whose text contains this get 429 (when set)
    too_big: set[str] = field(default_factory=set)  # file ids getFile refuses as "file is too big"
    updates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self.ids = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None

    # --- the server -------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # file downloads
                prefix, path = f"/file/bot{TOKEN}/", unquote(self.path)  # clients quote the token's ":"
                body = fake.files.get(path[len(prefix) :]) if path.startswith(prefix) else None
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                params = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                prefix = f"/bot{TOKEN}/"
                try:
                    if not self.path.startswith(prefix):
                        raise ApiError(401, "Unauthorized")
                    result = fake.handle(self.path[len(prefix) :], params)
                    payload: dict[str, Any] = {"ok": True, "result": result}
                    status = 200
                except ApiError as exc:
                    payload = {"ok": False, "error_code": exc.code, "description": exc.description}
                    if exc.retry_after is not None:
                        payload["parameters"] = {"retry_after": exc.retry_after}
                    status = exc.code
                send_json(self, status, payload)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def env(self) -> dict[str, str]:
        assert self.server is not None
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": f"{base}/bot",
                "TELEGRAM_FILE_BASE_URL": f"{base}/file/bot"}  # fmt: skip

    # --- Bot API methods --------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> Any:
        with self.cond:
            self.calls.append((method, params))
            self.cond.notify_all()
        if method == "getUpdates":
            return self._get_updates(int(params.get("offset") or 0), float(params.get("timeout") or 0))
        simple = {"getMe": BOT_USER, "setMyCommands": True, "deleteWebhook": True, "setWebhook": True,
                  "answerCallbackQuery": True, "sendChatAction": True, "deleteMessage": True}  # fmt: skip
        if method in simple:
            return simple[method]
        if method == "sendMessage":
            return self._send(int(params["chat_id"]), params["text"], params.get("reply_markup"))
        if method == "editMessageText":
            return self._edit(int(params["chat_id"]), int(params["message_id"]), params["text"],
                              params.get("reply_markup"))  # fmt: skip
        if method == "getFile":
            file_id = params["file_id"]
            if file_id in self.too_big:
                raise ApiError(400, "Bad Request: file is too big")
            if file_id not in self.files:
                raise ApiError(400, "Bad Request: invalid file_id")
            return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(self.files[file_id]),
                    "file_path": file_id}  # fmt: skip
        raise ApiError(404, "Not Found: method not found")

    def _get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, LONG_POLL_CAP)
        with self.cond:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return list(self.updates)

    def _message_json(self, msg: BotMessage) -> dict[str, Any]:
        body = {"message_id": msg.message_id, "date": int(time.time()), "text": msg.text, "from": BOT_USER,
                "chat": {"id": msg.chat_id, "type": "private"}}  # fmt: skip
        if msg.reply_markup:
            body["reply_markup"] = msg.reply_markup
        return body

    @staticmethod
    def _markup(raw: Any) -> dict[str, Any] | None:
        return json.loads(raw) if isinstance(raw, str) else raw

    def _send(self, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        with self.cond:
            if self.flood_sends_containing and self.flood_sends_containing in text:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            msg = BotMessage(chat_id, next(self.ids), [text], self._markup(markup))
            self.messages[(chat_id, msg.message_id)] = msg
            self.cond.notify_all()
            return self._message_json(msg)

    def _edit(self, chat_id: int, message_id: int, text: str, markup: Any) -> dict[str, Any]:
        with self.cond:
            if self.flood_edits > 0:
                self.flood_edits -= 1
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            msg = self.messages.get((chat_id, message_id))
            if msg is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            markup = self._markup(markup)
            if msg.text == text and msg.reply_markup == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            msg.texts.append(text)
            msg.shown_at.append(time.monotonic())
            msg.reply_markup = markup
            self.cond.notify_all()
            return self._message_json(msg)

    # --- the user's side --------------------------------------------------------------------
    def _push(self, update: dict[str, Any]) -> None:
        with self.cond:
            update["update_id"] = next(self.ids)
            self.updates.append(update)
            self.cond.notify_all()

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _message(self, user_id: int, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self.ids), "date": int(time.time()), "from": self._user(user_id),
                "chat": {"id": user_id, "type": "private"}, **content}  # fmt: skip

    def send_text(self, user_id: int, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": self._message(user_id, **content)})

    def _file(self, prefix: str, data: bytes) -> str:
        """A file id that getFile and the download URL serve ``data`` for."""
        file_id = f"{prefix}{next(self.ids)}"
        self.files[file_id] = data
        return file_id

    @staticmethod
    def _captioned(caption: str | None, **content: Any) -> dict[str, Any]:
        return {**content, "caption": caption} if caption is not None else content

    def send_document(
        self, user_id: int, filename: str, data: bytes, mime: str = "application/octet-stream",
        declared_size: int | None = None, *, sizeless_over_20_mb: bool = False, caption: str | None = None,
    ) -> None:  # fmt: skip
        """``sizeless_over_20_mb``: the update has no file_size and getFile answers "file is too big"."""
        file_id = self._file("doc", data)
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename, "mime_type": mime,
                    "file_size": len(data) if declared_size is None else declared_size}  # fmt: skip
        if sizeless_over_20_mb:
            del document["file_size"]
            self.too_big.add(file_id)
        self._push({"message": self._message(user_id, **self._captioned(caption, document=document))})

    def send_photo(
        self, user_id: int, sizes: list[bytes], *, caption: str | None = None, media_group_id: str = ""
    ) -> dict[str, Any]:
        """A photo as Telegram sends it: one PhotoSize per entry of ``sizes``, smallest first, each its own
        file; photos sharing a ``media_group_id`` are an album. Returns the message."""
        photo = [{"file_id": (file_id := self._file("photo", data)), "file_unique_id": file_id,
                  "width": 90 * 2**i, "height": 120 * 2**i, "file_size": len(data)}
                 for i, data in enumerate(sizes)]  # fmt: skip
        content = self._captioned(caption, photo=photo)
        if media_group_id:
            content["media_group_id"] = media_group_id
        message = self._message(user_id, **content)
        self._push({"message": message})
        return message

    def send_sticker(self, user_id: int) -> None:
        sticker = {"file_id": "sticker1", "file_unique_id": "sticker1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
        self._push({"message": self._message(user_id, sticker=sticker)})

    def press(self, user_id: int, message: BotMessage, data: str) -> None:
        self._push({"callback_query": {"id": str(next(self.ids)), "from": self._user(user_id),
                                       "chat_instance": "ci", "data": data,
                                       "message": self._message_json(message)}})  # fmt: skip

    # --- what tests read --------------------------------------------------------------------
    def chat(self, chat_id: int) -> list[BotMessage]:
        with self.cond:
            return [m for (cid, _), m in sorted(self.messages.items()) if cid == chat_id]

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.cond:
            return [params for name, params in self.calls if name == method]

    def wait(self, predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every API call), return its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting for {what}")
                self.cond.wait(0.2)

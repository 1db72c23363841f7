"""A web site of our own on 127.0.0.1 for link ingestion: pages, files, redirects, slow and huge answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    drip_seconds: float = 0.0  # pause between bytes: a server too slow to wait for


class Site:
    """Serves ``pages`` by path (query strings ignored); records the paths asked for."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requested: list[str] = []
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.pages[path] = Page(status=status, headers={"Location": to})


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` served on 127.0.0.1 (a thread per request) while the block runs; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            site.requested.append(path)
            page = site.pages.get(path, Page(b"not here", "text/plain", 404))
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            headers = {"Content-Length": str(len(page.body)), **page.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                if page.drip_seconds:
                    for byte in page.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(page.drip_seconds)
                else:
                    self.wfile.write(page.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the fetcher gave up on us, as it should

        def log_message(self, format: str, *args: object) -> None:
            pass

    with local_server(Handler) as site.port:
        yield site

"""Fetching a user's link: real HTTP servers of our own on 127.0.0.1 (let through with allow_loopback),
and every refusal made before anything connects anywhere else (a guard fails any other connection)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from socrate.errors import BadRequest
from socrate.integrations import fetch as fetching
from socrate.integrations.addresses import is_public_address
from socrate.integrations.fetch import check_url, fetch
from socrate.integrations.guarded import Refused as FetchRefused

pytestmark = pytest.mark.unit

PAGE = "<p>café</p>".encode("latin-1")
release = threading.Event()  # set at teardown: handlers that hold a connection open give up


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Connection", "close")  # a new connection, so a new address check, for every hop
    handler.end_headers()
    handler.wfile.write(body)


def _page(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    _reply(handler, 200, PAGE, Content_Type="Text/HTML; charset=ISO-8859-1")


def _download(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    disposition = query.get(
        "cd", "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )
    _reply(handler, 200, b"%PDF-1.7", Content_Type="application/pdf", Content_Disposition=disposition)


def _redirect(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    _reply(handler, int(query.get("status", "302")), Location=query["to"])


def _hops(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """/hops/N redirects to hops/N-1 (a relative Location), and /hops/0 is the page."""
    left = int(handler.path.rsplit("/", 1)[-1])
    if left == 0:
        _reply(handler, 200, b"arrived")
    else:
        _reply(handler, 301, Location=f"{left - 1}")


def _file(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    _reply(handler, 200, b"a file", Content_Type="application/octet-stream")


def _huge(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """Announces a gigabyte, sends a little, then holds on: a client that reads the body would hang."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**9))
    handler.end_headers()
    handler.wfile.write(b"x" * 100)
    release.wait(10)


def _growing(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """Chunked, no Content-Length: 40 kB in 1 kB chunks."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for _ in range(40):
        handler.wfile.write(b"3e8\r\n" + b"y" * 1000 + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def _drip(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """A byte every 0.2 s: each read is quick, only a deadline for the whole download stops it."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(1000):
        if release.wait(0.2):
            return
        handler.wfile.write(b"z")
        handler.wfile.flush()


def _echo_host(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    _reply(handler, 200, (handler.headers["Host"] or "").encode())


ROUTES: dict[str, Callable[[BaseHTTPRequestHandler, dict[str, str]], None]] = {
    "/": _page,
    "/page": _page,
    "/files": _file,
    "/download": _download,
    "/redirect": _redirect,
    "/hops": _hops,
    "/huge": _huge,
    "/growing": _growing,
    "/drip": _drip,
    "/echo-host": _echo_host,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # for chunked bodies

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path, _, raw_query = self.path.partition("?")
        route = ROUTES.get(path) or ROUTES.get("/" + path.split("/")[1])  # /hops/3 -> /hops
        query = {name: values[-1] for name, values in parse_qs(raw_query).items()}
        if route is None:
            _reply(self, 404, b"not here")
        else:
            route(self, query)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The client hanging up on a body it refused is what these tests are about."""


@contextmanager
def _serve(tls: ssl.SSLContext | None = None) -> Iterator[QuietServer]:
    release.clear()
    server = QuietServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def base() -> Iterator[str]:
    """http://127.0.0.1:PORT of a server with the routes above."""
    with _serve() as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Addresses connected to; anything but loopback fails the test (nothing here reaches the internet)."""
    real = socket.create_connection
    seen: list[str] = []

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        assert address[0] in ("127.0.0.1", "::1"), f"a test connected to {address[0]}"
        seen.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return seen


def _resolver(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[tuple[str, int]]:
    """The backend's resolver answers these lists in turn; returns the (host, port) pairs asked about."""
    asked: list[tuple[str, int]] = []
    replies = iter(answers)

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return next(replies)

    monkeypatch.setattr(fetching, "resolve", resolve)
    return asked


def _refused(url: str, dest: Path, **options: Any) -> str:
    settings: dict[str, Any] = {"max_bytes": 1_000_000, "allow_loopback": True, **options}
    with pytest.raises(FetchRefused) as refused:
        fetch(url, dest, **settings)
    assert not dest.exists()
    return refused.value.message


# --- fetched ---------------------------------------------------------------------------------------


def test_a_page_is_saved_with_its_type_charset_and_a_name_from_the_url(base, tmp_path) -> None:
    dest = tmp_path / "body"
    fetched = fetch(f"{base}/page", dest, max_bytes=1000, allow_loopback=True)
    assert dest.read_bytes() == PAGE
    assert fetched == fetching.Fetched(f"{base}/page", "text/html", "iso-8859-1", "page", len(PAGE))


def test_the_filename_comes_from_content_disposition_then_the_path_then_the_host(base, tmp_path) -> None:
    def name(url: str) -> str:
        return fetch(url, tmp_path / "body", max_bytes=1000, allow_loopback=True).filename

    assert name(f"{base}/download") == "résumé.pdf"  # filename*= wins over filename=
    assert name(f"{base}/download?cd=attachment%3B+filename%3D%22..%2F..%2Fetc%2Fpasswd%22") == "passwd"
    assert name(f"{base}/files/annual%20report.pdf") == "annual report.pdf"
    assert name(f"{base}/files/folder/?page=2") == "folder"
    assert name(f"{base}/") == "127.0.0.1"
    fetched = fetch(f"{base}/download", tmp_path / "body", max_bytes=1000, allow_loopback=True)
    assert (fetched.content_type, fetched.charset) == ("application/pdf", None)


def test_a_redirect_chain_is_followed_to_the_end(base, tmp_path) -> None:
    fetched = fetch(f"{base}/hops/2", tmp_path / "body", max_bytes=1000, allow_loopback=True)
    assert fetched.url == f"{base}/hops/0"
    assert (tmp_path / "body").read_bytes() == b"arrived"
    five = fetch(f"{base}/hops/5", tmp_path / "body", max_bytes=1000, allow_loopback=True)
    assert five.url == f"{base}/hops/0"


def test_the_connection_goes_to_the_vetted_address_with_the_links_host_name(
    base, port, tmp_path, monkeypatch, connections
) -> None:
    asked = _resolver(monkeypatch, ["127.0.0.1"])
    fetch(f"http://Docs.Example:{port}/echo-host", tmp_path / "body", max_bytes=1000, allow_loopback=True)
    assert (tmp_path / "body").read_text() == f"docs.example:{port}"
    assert asked == [("docs.example", port)] and connections == ["127.0.0.1"]


# --- refused ---------------------------------------------------------------------------------------


def test_more_redirects_than_allowed_are_refused(base, tmp_path) -> None:
    assert _refused(f"{base}/hops/6", tmp_path / "body") == "The link redirected more than 5 times"
    assert "more than 1 times" in _refused(f"{base}/hops/2", tmp_path / "body", max_redirects=1)


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("http://169.254.169.254/latest/meta-data", "(169.254.169.254)"),
        ("http://10.0.0.1/", "(10.0.0.1)"),
        ("http://[::ffff:127.0.0.1]/", "address (::ffff:"),  # Python 3.13 writes ::ffff:127.0.0.1
        ("file:///etc/passwd", "Only http:// and https://"),
        ("ftp://example.com/x", "Only http:// and https://"),
    ],
)
def test_a_redirect_anywhere_but_a_public_web_address_is_refused(
    base, tmp_path, connections, location, shown
) -> None:
    message = _refused(f"{base}/redirect?to={location}", tmp_path / "body")
    assert shown in message and message.endswith("(after a redirect)")
    assert connections == ["127.0.0.1"]  # only the first hop connected


def test_loopback_is_refused_unless_allowed(base, tmp_path, connections) -> None:
    message = _refused(f"{base}/page", tmp_path / "body", allow_loopback=False)
    assert (
        message == "The link points to a private or local address (127.0.0.1), which Socrate does not fetch"
    )
    assert connections == []


def test_a_host_with_any_private_address_is_refused_at_connect_time(
    tmp_path, monkeypatch, connections
) -> None:
    """DNS rebinding: a public answer first does not vouch for the private one after it."""
    _resolver(monkeypatch, ["93.184.216.34", "10.1.2.3"])
    message = _refused("http://rebound.example/", tmp_path / "body")
    assert message == "The link points to a private or local address (10.1.2.3), which Socrate does not fetch"
    _resolver(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    assert "(127.0.0.1)" in _refused("http://rebound.example/", tmp_path / "body", allow_loopback=False)
    assert connections == []


def test_every_new_connection_is_checked_again(base, port, tmp_path, monkeypatch, connections) -> None:
    """The name answered loopback for the first hop and a private address for the second."""
    asked = _resolver(monkeypatch, ["127.0.0.1"], ["10.0.0.7"])
    message = _refused(f"http://docs.example:{port}/redirect?to=/page", tmp_path / "body")
    assert "(10.0.0.7)" in message
    assert asked == [("docs.example", port)] * 2 and connections == ["127.0.0.1"]


def test_https_runs_tls_on_the_vetted_socket_with_the_links_host_name(tmp_path, monkeypatch) -> None:
    """Our certificate is self-signed, so it is refused; the server saw the name, not the address."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    _self_signed("docs.example", key, cert)
    names: list[str | None] = []

    def seen(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = seen
    with _serve(tls) as server:
        _resolver(monkeypatch, ["127.0.0.1"])
        message = _refused(f"https://docs.example:{server.server_address[1]}/page", tmp_path / "body")
    assert message.startswith("The link could not be reached: its certificate is not valid (self")  # -signed
    assert names == ["docs.example"]


@pytest.mark.timing
def test_a_content_length_over_the_limit_is_refused_before_the_body(base, tmp_path) -> None:
    started = time.monotonic()
    message = _refused(f"{base}/huge", tmp_path / "body", max_bytes=50 * 1024 * 1024)
    assert message == "The file at the link is larger than the 50 MB limit"
    assert time.monotonic() - started < 2  # the body (held back for 10 s) was never waited for


def test_a_body_that_grows_past_the_limit_is_refused_and_removed(base, tmp_path) -> None:
    dest = tmp_path / "body"
    dest.write_bytes(b"left over")
    assert _refused(f"{base}/growing", dest, max_bytes=10_000) == (
        "The file at the link is larger than the 10,000 bytes limit"
    )
    fetched = fetch(f"{base}/growing", dest, max_bytes=40_000, allow_loopback=True)
    assert fetched.size == 40_000 == dest.stat().st_size


@pytest.mark.timing
def test_a_slow_drip_is_cut_off_at_the_total_deadline(base, tmp_path) -> None:
    started = time.monotonic()
    message = _refused(f"{base}/drip", tmp_path / "body", timeout_seconds=1.5)
    assert message == "The link took longer than 1.5 seconds to download"
    assert 1.4 < time.monotonic() - started < 4


def test_an_error_status_is_refused_with_its_code(base, tmp_path) -> None:
    assert _refused(f"{base}/missing", tmp_path / "body") == "The link answered HTTP 404"
    assert _refused(f"{base}/redirect?to=/page&status=300", tmp_path / "body") == "The link answered HTTP 300"


def test_an_unknown_host_and_a_closed_port_are_refused_in_plain_words(tmp_path) -> None:
    assert _refused("http://nothing.invalid/", tmp_path / "body") == (
        "The link's host could not be found (nothing.invalid)"
    )
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert _refused(f"http://127.0.0.1:{closed}/", tmp_path / "body") == (
        "The link could not be reached: connection refused"
    )


def test_a_bad_link_is_refused_whether_given_or_redirected_to(base, tmp_path) -> None:
    given = _refused("  ftp://example.com/x ", tmp_path / "body")
    assert given == "Only http:// and https:// links can be fetched"
    redirected = _refused(f"{base}/redirect?to=http://[::1/x", tmp_path / "body")
    assert redirected == "The link redirected to an address that is not valid"


# --- check_url and the address rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/file", "Only http:// and https:// links"),
        ("file:///etc/passwd", "Only http:// and https:// links"),
        ("example.com/page", "Only http:// and https:// links"),
        ("http:///path", "no host name"),
        ("https://user:secret@example.com/", "user name or password"),
        ("https://token@example.com/", "user name or password"),
        ("http://example.com:99999/", "not a valid web address"),
        ("http://[::1/", "not a valid web address"),
        ("http://exa mple.com/", "host name is not valid"),
        ("http://example.com/\x00", "control characters"),
        ("http://127.0.0.1/", "private or local address (127.0.0.1)"),
        ("http://[::1]/", "private or local address (::1)"),
        ("http://169.254.169.254/latest/meta-data", "(169.254.169.254)"),
        ("http://10.0.0.1/", "(10.0.0.1)"),
        ("http://192.168.1.1/", "(192.168.1.1)"),
        ("http://[::ffff:127.0.0.1]/", "address (::ffff:"),
        ("http://[fe80::1]/", "(fe80::1)"),
        ("http://0.0.0.0:8000/", "(0.0.0.0)"),
        ("http://2130706433/", "(127.0.0.1)"),  # what inet_aton (and so the resolver) makes of these
        ("http://0x7f.1/", "(127.0.0.1)"),
        ("https://example.com/" + "a" * 2030, "longer than 2048 characters"),
    ],
)
def test_check_url_refuses_with_a_clear_message(url, says) -> None:
    with pytest.raises(BadRequest) as refused:
        check_url(url)
    assert says in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/x",
        "  http://Example.COM:8080/a b?q=1#top ",
        "https://bücher.example/ä",
        "http://8.8.8.8/",
    ],
)
def test_check_url_accepts_public_web_links_stripped(url) -> None:
    assert check_url(url) == url.strip()


def test_allow_loopback_lets_exactly_loopback_through() -> None:
    for url in ("http://127.0.0.1:5000/", "http://127.9.9.9/", "http://[::1]:8080/"):
        assert check_url(url, allow_loopback=True) == url
    for url in (
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ):
        with pytest.raises(BadRequest):
            check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("93.184.216.34", True),
        ("2001:4860:4860::8888", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),  # wrappers of a public address are judged by it
        ("64:ff9b::808:808", True),
        ("127.0.0.1", False),
        ("127.255.0.9", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("172.31.255.254", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.0.8", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("198.51.100.7", False),
        ("203.0.113.9", False),
        ("::", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("ff0e::1", False),
        ("2001:db8::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::10.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", False),
        ("64:ff9b:1::1", False),
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
    ],
)
def test_the_public_address_rule(address, public) -> None:
    assert is_public_address(ip_address(address)) is public


def _self_signed(name: str, key_path: Path, cert_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

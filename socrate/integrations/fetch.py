"""Downloading a link a user gave us without letting it reach inside our network (SSRF).

Only http and https, only public addresses (checked at connect time by guarded.GuardedBackend, at
every redirect too), bounded in size and in total time, redirects included.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpcore

from socrate import logs, textfields
from socrate.config import MB
from socrate.errors import BadRequest
from socrate.integrations.addresses import allowed, literal_address, private_address_message
from socrate.integrations.guarded import GuardedBackend, connection_reason, remaining, resolve
from socrate.integrations.guarded import Refused as FetchRefused

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
USER_AGENT = "Socrate/1 (+document fetcher)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})

_HOST_NAME = re.compile(r"[a-z0-9_.-]+")
_EXTENDED_FILENAME = re.compile(r"filename\*\s*=\s*[^;]+", re.IGNORECASE)
_URL_SAFE = "/%!$&'()*+,;=:@"  # kept as they are in a path; anything else is percent-encoded


@dataclass(frozen=True)
class Fetched:
    """What was saved, and what the server said about it."""

    url: str  # final URL after redirects
    content_type: str  # media type lower-cased, without parameters ("text/html"); "" if absent
    charset: str | None
    filename: str  # never empty, no slashes
    size: int  # bytes written


@dataclass(frozen=True)
class Link:
    """A checked URL, in the pieces httpcore wants (ASCII host without brackets, encoded target); webhook
    deliveries post to one too."""

    url: str
    scheme: str
    host: str
    port: int
    target: str

    def request_url(self) -> httpcore.URL:
        return httpcore.URL(scheme=self.scheme, host=self.host, port=self.port, target=self.target)

    def host_header(self) -> str:
        """httpcore would write an IPv6 host without its brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_redirects: int
    timeout_seconds: float
    deadline: float  # time.monotonic() by which the whole fetch is over
    allow_loopback: bool


# --- URLs ------------------------------------------------------------------------------------------


def check_url(url: str, *, allow_loopback: bool = False) -> str:
    """Syntax check for the API before anything is queued: the URL stripped, or BadRequest saying why
    (the addresses a host name resolves to are only checked when fetching)."""
    url = url.strip()
    parse_url(url, allow_loopback=allow_loopback)
    return url


def parse_url(url: str, *, allow_loopback: bool) -> Link:
    """The URL in pieces, or BadRequest saying what is wrong with it (see ``check_url``)."""
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest(f"The link is longer than {MAX_URL_LENGTH} characters")
    textfields.refuse_controls(url, "The link")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadRequest("The link is not a valid web address") from None
    if parts.scheme not in ("http", "https"):
        raise BadRequest("Only http:// and https:// links can be fetched")
    if "@" in parts.netloc:
        raise BadRequest("Links with a user name or password in them are not accepted")
    if not parts.hostname:
        raise BadRequest("The link has no host name")
    literal = literal_address(parts.hostname)
    if literal is not None and not allowed(literal, allow_loopback):
        raise BadRequest(private_address_message(literal))
    target = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_URL_SAFE + "?")
    return Link(
        url=url,
        scheme=parts.scheme,
        host=str(literal) if literal is not None else _ascii_host(parts.hostname),
        port=port or (443 if parts.scheme == "https" else 80),
        target=target,
    )


def _ascii_host(host: str) -> str:
    """The name as DNS knows it: international names in their xn-- form."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not _HOST_NAME.fullmatch(ascii_host):
        raise BadRequest("The link's host name is not valid")
    return ascii_host


# --- fetching --------------------------------------------------------------------------------------


def fetch(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout_seconds: float = 30.0,
    max_redirects: int = 5,
    allow_loopback: bool = False,
) -> Fetched:
    """Stream the body of url (following redirects) into dest; FetchRefused, and no dest, otherwise."""
    deadline = time.monotonic() + timeout_seconds
    limits = _Limits(max_bytes, max_redirects, timeout_seconds, deadline, allow_loopback)
    backend = GuardedBackend(deadline, allow_loopback=allow_loopback, resolver=resolve)
    try:
        with httpcore.ConnectionPool(network_backend=backend) as pool, _plain_errors(limits):
            fetched = _download(pool, _first_hop(url, limits), dest, limits)
    except FetchRefused as exc:
        dest.unlink(missing_ok=True)
        log.info("link refused", extra=logs.fields(url=_for_log(url), reason=exc.message))
        raise
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    log.info(
        "link fetched",
        extra=logs.fields(url=_for_log(fetched.url), size=fetched.size, content_type=fetched.content_type),
    )
    return fetched


def _first_hop(url: str, limits: _Limits) -> Link:
    try:
        return parse_url(url.strip(), allow_loopback=limits.allow_loopback)
    except BadRequest as exc:
        raise FetchRefused(exc.message) from None


def _download(pool: httpcore.ConnectionPool, link: Link, dest: Path, limits: _Limits) -> Fetched:
    redirects = 0
    while True:
        headers = [
            ("Host", link.host_header()),
            ("User-Agent", USER_AGENT),
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),  # we store the bytes as sent: no gzip we would have to undo
        ]
        timeout = remaining(limits.deadline, None, httpcore.PoolTimeout)
        extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)}
        with pool.stream("GET", link.request_url(), headers=headers, extensions=extensions) as response:
            location = _header(response.headers, b"location")
            if response.status in REDIRECTS and location:
                redirects += 1
                if redirects > limits.max_redirects:
                    raise FetchRefused(f"The link redirected more than {limits.max_redirects} times")
                link = _redirected(link.url, location, limits)
                continue
            if not 200 <= response.status < 300:
                raise FetchRefused(f"The link answered HTTP {response.status}")
            length = _header(response.headers, b"content-length")  # h11 has checked it is all digits
            if length is not None and int(length) > limits.max_bytes:
                raise _too_large(limits)
            size = _save(response.iter_stream(), dest, limits)
            return _described(link, response.headers, size)


def _redirected(url: str, location: str, limits: _Limits) -> Link:
    try:
        return parse_url(urljoin(url, location), allow_loopback=limits.allow_loopback)
    except ValueError:  # urljoin, on a host in brackets that never close
        raise FetchRefused("The link redirected to an address that is not valid") from None
    except BadRequest as exc:
        raise FetchRefused(f"{exc.message} (after a redirect)") from None


def _save(chunks: Iterable[bytes], dest: Path, limits: _Limits) -> int:
    size = 0
    with dest.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limits.max_bytes:
                raise _too_large(limits)
            if time.monotonic() > limits.deadline:
                raise _too_slow(limits)
            out.write(chunk)
    return size


def _described(link: Link, headers: list[tuple[bytes, bytes]], size: int) -> Fetched:
    content_type = _params("content-type", _header(headers, b"content-type") or "")
    disposition = _header(headers, b"content-disposition") or ""
    extended = _EXTENDED_FILENAME.search(disposition)
    if extended:  # RFC 6266: filename*= wins, being the one that can say its charset
        disposition = f"attachment; {extended.group()}"
    last_segment = next((s for s in reversed(urlsplit(link.url).path.split("/")) if s), "")
    names = (
        _params("content-disposition", disposition).get_filename() or "",
        unquote(last_segment),
        link.host,
    )
    return Fetched(
        url=link.url,
        content_type=(content_type.get("content-type") or "").partition(";")[0].strip().lower(),
        charset=content_type.get_content_charset(),
        filename=next(name for name in map(_clean_filename, names) if name),
        size=size,
    )


def _params(name: str, value: str) -> Message:
    """The stdlib's parser for header parameters (quoting, RFC 2231 charsets and continuations)."""
    parsed = Message()
    if value:
        parsed[name] = value
    return parsed


def _clean_filename(name: str) -> str:
    """The last path component, without invisible characters; "" when nothing usable is left."""
    name = textfields.shown(name.replace("\\", "/").rsplit("/", 1)[-1])
    return "" if name in (".", "..") else name[:255]


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of a header; UTF-8 as servers mostly send it, else Latin-1 as HTTP says."""
    for key, value in headers:
        if key.lower() == name:
            try:
                return value.decode()
            except UnicodeDecodeError:
                return value.decode("latin-1")
    return None


# --- errors ----------------------------------------------------------------------------------------


def _too_large(limits: _Limits) -> FetchRefused:
    limit = f"{limits.max_bytes // MB} MB" if limits.max_bytes % MB == 0 else f"{limits.max_bytes:,} bytes"
    return FetchRefused(f"The file at the link is larger than the {limit} limit")


def _too_slow(limits: _Limits) -> FetchRefused:
    return FetchRefused(f"The link took longer than {limits.timeout_seconds:g} seconds to download")


@contextmanager
def _plain_errors(limits: _Limits) -> Iterator[None]:
    """httpcore's exceptions, in words a user can act on."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise _too_slow(limits) from exc
    except httpcore.ConnectError as exc:
        raise FetchRefused(f"The link could not be reached: {connection_reason(exc)}") from exc
    except httpcore.NetworkError as exc:
        raise FetchRefused(f"The connection to the link broke off: {connection_reason(exc)}") from exc
    except httpcore.ProtocolError as exc:
        raise FetchRefused("The link's server did not answer in valid HTTP") from exc


def _for_log(url: str) -> str:
    """Without the query string, where signed links carry their tokens."""
    return url.partition("?")[0].partition("#")[0]

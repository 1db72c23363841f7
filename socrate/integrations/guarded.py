"""Outgoing connections that reach only public addresses, within one deadline (SSRF-safe HTTP).

Link ingestion (fetch.py) and webhook delivery (deliveries.py) connect through ``GuardedBackend``: the
address check runs inside the connection, on the very addresses connected to, so a name that resolves
to a public address when looked at and to a private one when connected to (DNS rebinding) cannot slip
through. httpcore then starts TLS on that socket with the URL's own host name, so SNI and the
certificate check are those of the name, not of the address.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

from socrate.errors import ProcessingError
from socrate.integrations.addresses import allowed, private_address_message

Resolver = Callable[[str, int], list[str]]  # (host, port) -> addresses to connect to, never empty


class Refused(ProcessingError):
    """The URL cannot or may not be reached; ``message`` says why in plain words."""


class PrivateAddress(Refused):
    """The host resolved to an address Socrate never connects to."""


def resolve(host: str, port: int) -> list[str]:
    """Every address host has for TCP, in the system resolver's order of preference."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"The link's host could not be found ({host})") from exc
    if not infos:
        raise Refused(f"The link's host could not be found ({host})")
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def remaining(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    """What remains of the deadline, capped by timeout; error once nothing does."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the time is up")
    return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to vetted addresses, and never past the deadline."""

    def __init__(self, deadline: float, *, allow_loopback: bool, resolver: Resolver = resolve) -> None:
        self._deadline = deadline
        self._allow_loopback = allow_loopback
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolver(host, port)
        refused = [a for a in addresses if not allowed(ipaddress.ip_address(a), self._allow_loopback)]
        if refused:  # any bad address refuses the host: which one the OS would pick is not ours to bet on
            raise PrivateAddress(private_address_message(refused[0]))
        *others, last = addresses
        for address in others:
            try:
                return self._connect(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError:  # e.g. an IPv6 address on a host without IPv6: try the next
                continue
        return self._connect(last, port, timeout, local_address, socket_options)

    def _connect(
        self,
        address: str,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.NetworkStream:
        timeout = remaining(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


class _DeadlineStream(httpcore.NetworkStream):
    """httpcore fixes a body's read timeout once per response: this caps every read by the deadline,
    so a server dripping a byte a second is cut off when the time is up."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, remaining(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, remaining(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = remaining(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def connection_reason(exc: Exception) -> str:
    """Why a connection failed, in words a user can act on."""
    cause = exc.args[0] if exc.args else None  # httpcore wraps the OSError (its pool drops __cause__)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"its certificate is not valid ({cause.verify_message})"
    if isinstance(cause, OSError) and isinstance(cause.strerror, str):
        return cause.strerror.lower()
    return str(exc) or type(exc).__name__

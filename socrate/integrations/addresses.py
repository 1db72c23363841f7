"""Which network addresses a link or webhook may reach: public ones only (tests may allow loopback).

The rule is ours rather than ``ipaddress.is_global`` alone: its tables differ between Python versions,
and IPv6 forms that carry an IPv4 address must be judged by the address they lead to.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not public whatever a given Python's ipaddress tables say (they changed in 3.11.10, 3.12.4, 3.13).
_NEVER_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this" network
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "2001::/32",  # Teredo tunnels
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "fec0::/10",  # deprecated site-local
        "100::/64",  # discard-only
    )
)
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")  # 2130706433, 0x7f.1, 127.1: inet_aton reads them all as IPv4


def is_public_address(address: IPAddress) -> bool:
    """True only on the public internet; IPv6 forms that carry an IPv4 address (mapped, compatible,
    NAT64, 6to4) are judged by the IPv4 address they lead to."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    if address.is_multicast or address.is_reserved or any(address in net for net in _NEVER_PUBLIC):
        return False
    return address.is_global


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def allowed(address: IPAddress, allow_loopback: bool) -> bool:
    """Tests serve from 127.0.0.1: with allow_loopback, exactly 127/8 and ::1 are let through too."""
    return is_public_address(address) or (allow_loopback and any(address in net for net in _LOOPBACK))


def private_address_message(address: object) -> str:
    """One wording for every refusal, whether the address was written in the link or resolved."""
    return f"The link points to a private or local address ({address}), which Socrate does not fetch"


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as one means, in every form the resolver would also read as one
    (2130706433 and 0x7f.1 are 127.0.0.1); None for a name to look up."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            pass
    return None

"""The client's IP address, believing X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def client_ip(scope: Any, trusted: tuple[_Network, ...]) -> str:
    """Walk X-Forwarded-For from the right, skipping trusted proxies, to the first untrusted hop."""
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]  # noqa: S104 - placeholder, not a bind
    if not trusted or not _is_trusted(peer, trusted):
        return _normalize(peer)
    forwarded = next(
        (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"), ""
    )
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return _normalize(hop)
    return _normalize(hops[0] if hops else peer)


def is_address(text: str) -> bool:
    """Whether the text is an IP address (a Unix socket's peer or a test client has none)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def in_networks(address: str, networks: tuple[_Network, ...]) -> bool:
    """Whether the address lies in one of the networks (a malformed one: no)."""
    return _is_trusted(address, networks)


def _is_trusted(address: str, trusted: tuple[_Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _normalize(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - unknown client, counted together

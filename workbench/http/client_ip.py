"""The client's IP address, believing relay headers only from configured proxies.

A proxy names the client in one of several headers: `X-Forwarded-For` (load balancers, nginx's
`$proxy_add_x_forwarded_for`), RFC 7239 `Forwarded`, `X-Real-IP` (nginx's `$remote_addr`), or a
CDN's own (`True-Client-IP`, `CF-Connecting-IP`, ...). Each is read the same way: its hops from
the right, skipping trusted proxies, to the first untrusted one. A header sent more than once
counts as one list in the order received (a proxy may add its own line after the client's).
"""

from __future__ import annotations

import ipaddress
from typing import Any

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Read by client_ip in this order: the first one present decides. X-Forwarded-For first, as the
# documented header: a proxy that appends it is never overruled by a header its client sent.
_CLIENT_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")
# Also name the client, but only CDNs and the like set them: client_ip does not believe them,
# relayed_clients (the metrics guard) judges them too.
_OTHER_CLIENT_HEADERS = (
    b"true-client-ip",
    b"cf-connecting-ip",
    b"fastly-client-ip",
    b"x-client-ip",
    b"x-cluster-client-ip",
    b"x-original-forwarded-for",
    b"forwarded-for",
    b"x-forwarded",
)
# Say a proxy relayed the request without naming its client.
_RELAY_MARKERS = (
    b"via",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-forwarded-port",
    b"x-forwarded-server",
)
# Values in RFC 7239 syntax (`for=...;proto=...`); the others are lists of addresses.
_PAIRED = (b"forwarded", b"x-forwarded")


def parse_networks(cidrs: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def client_ip(scope: Any, trusted: tuple[_Network, ...]) -> str:
    """The client's address: the peer's, or, from a trusted proxy, the one its relay header
    names (X-Forwarded-For, else Forwarded, else X-Real-IP)."""
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]  # noqa: S104 - placeholder, not a bind
    if not trusted or not _is_trusted(peer, trusted):
        return _normalize(peer)
    headers = _relay_headers(scope)
    for name in _CLIENT_HEADERS:
        if name in headers:
            named = _named_client(_hops(name, headers[name]), trusted)
            if named is not None:
                return _normalize(named)
    return _normalize(peer)


def request_ip(request: Any) -> str:
    """`client_ip` of a Litestar request, with the app's trusted proxies
    (WORKBENCH_TRUSTED_PROXIES): the address audited and rate-limited for it."""
    return client_ip(request.scope, request.app.state.trusted_networks)


def relayed_clients(scope: Any, trusted: tuple[_Network, ...]) -> list[str]:
    """The client each relay header of the request names, walked as client_ip walks them ("" for
    one that names none, or for a relay that names no client at all); empty if not relayed."""
    headers = _relay_headers(scope)
    clients = [
        _named_client(_hops(name, value), trusted) or ""
        for name, value in headers.items()
        if name not in _RELAY_MARKERS
    ]
    if not clients and headers:
        return [""]
    return clients


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


def _relay_headers(scope: Any) -> dict[bytes, str]:
    """The request's relay headers by name, each sent more than once joined in order."""
    relay = {*_CLIENT_HEADERS, *_OTHER_CLIENT_HEADERS, *_RELAY_MARKERS}
    found: dict[bytes, list[str]] = {}
    for name, value in scope.get("headers", []):
        if name.lower() in relay:
            found.setdefault(name.lower(), []).append(value.decode("latin-1"))
    return {name: ",".join(values) for name, values in found.items()}


def _hops(name: bytes, value: str) -> list[str]:
    """The addresses a relay header lists, client first ("" for a hop it does not disclose)."""
    # Split plainly, quotes or not: addresses hold neither comma nor semicolon, and a quote left
    # open by the client must not swallow the hops its proxies appended.
    elements = [e for e in value.split(",") if e.strip()]
    if name not in _PAIRED:
        return [_address(e) for e in elements]
    hops = []
    for element in elements:
        pairs = (p.partition("=") for p in element.split(";"))
        hops.append(next((_address(v) for k, _, v in pairs if k.strip().lower() == "for"), ""))
    return hops


def _named_client(hops: list[str], trusted: tuple[_Network, ...]) -> str | None:
    """The first untrusted hop from the right (all trusted: the first); None if no hops."""
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else None


def _address(hop: str) -> str:
    """The address of a hop without quotes and port: `"[2001:db8::1]:4711"`, `192.0.2.1:80`."""
    text = hop.strip().strip('"').strip()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        return text.partition(":")[0]
    return text


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

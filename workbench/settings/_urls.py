"""Settings URL checks: what is wrong with a PostgreSQL, Redis or HTTP URL that its client would
refuse with a traceback (the host, the port, Redis's database number), said without repeating
any part of the URL (a password may be in any part)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# What a URL's host may be: a name or IPv4 address, or an IPv6 address (with its zone) in
# brackets; a colon outside brackets is an unbracketed IPv6 address or a second port.
_URL_HOST = re.compile(r"[^\s\[\]:/?#@]*|\[[0-9A-Fa-f:.]+(%[^\s\[\]/?#@]+)?\]")


def _url_problem(raw: str) -> str | None:
    """What is wrong with a URL the clients would refuse with a traceback (asyncpg, redis-py,
    httpx), or None. The message never repeats the URL or a part of it: a password that was not
    percent-escaped ('/', '@' or ':' in it) lands in any part."""
    try:
        parts = urlsplit(raw)
    except ValueError:
        return "is not a valid URL (an IPv6 address goes in brackets, like [::1]:5432)"
    scheme = parts.scheme
    if scheme == "unix":  # a Redis socket: unix:///path/to/redis.sock?db=0
        return _redis_db_problem("", parts.query)
    hosts = parts.netloc.rpartition("@")[2]
    # PostgreSQL takes a list of hosts (`h1:5432,h2:5432`) for failover; the others one host.
    for host in hosts.split(",") if scheme in ("postgresql", "postgres") else [hosts]:
        name, port = _host_and_port(host)
        if not _URL_HOST.fullmatch(name) or (port is not None and ":" in port):
            return (
                "the host is not a name or an address (an IPv6 address goes in brackets, like"
                " [::1]:5432)"
            )
        if port is not None and not _is_port(port):
            return "the port must be a number from 1 to 65535"
        if scheme in ("http", "https") and not name:
            return "the URL names no host"
    if scheme in ("postgresql", "postgres"):
        for port in parse_qs(parts.query).get("port", []):
            if not all(_is_port(p) for p in port.split(",")):
                return "the port must be a number from 1 to 65535"
    if scheme in ("redis", "rediss"):
        return _redis_db_problem(parts.path, parts.query)
    return None


def _is_port(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,5}", text) is not None and 0 < int(text) < 65536


def _host_and_port(host: str) -> tuple[str, str | None]:
    """`host[:port]` or `[v6][:port]` split; an empty port is none (the default)."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = (host[: end + 1], host[end + 1 :]) if end >= 0 else (host, "")
        if rest and not rest.startswith(":"):
            return host, None  # junk after the brackets: the host check refuses it
        return name, rest[1:] or None
    name, _, port = host.partition(":")
    return name, port or None


def _redis_db_problem(path: str, query: str) -> str | None:
    numbers = [path.removeprefix("/")] if path.removeprefix("/") else []
    numbers += parse_qs(query).get("db", [])
    if not all(re.fullmatch(r"[0-9]{1,9}", n) for n in numbers):
        return "the database number (the path, or ?db=) must be a whole number, like /0"
    return None

"""A limit on guessing the codes of customers' links, counted in Redis across all API processes.

The links customers are given (brochures `/s/{code}`, surveys `/f/{token}`, visit confirmations
`/c/{token}`, real-name verification `/v/{token}`, and the pages under them) carry codes nobody
can guess; still, a bank's review expects a limit on trying. Every unknown code (a 404 of one of
those routes) counts one miss against the client's address; an address that has had
`WORKBENCH_LINK_GUESS_LIMIT` misses within `WORKBENCH_LINK_GUESS_WINDOW` seconds (a fixed window
from its first miss, the key expiring by itself) gets a zh-CN page with 429 and `Retry-After`
from every link route until the window ends, valid codes included (else the guessing would go
on, told apart by 404 or 200). A link that opens (200, a redirect) never counts, nor an
expired, used or answered one (410, 409: a real code, as customers reopen them; a guesser who
gets one has found a code already). Other addresses are not affected.

Why one Litestar middleware rather than a call in each page's not-found path: the link routes
live in four modules and answer an unknown code in several ways (a page returned, an exception
turned into a page or into problem+json), and a route added later must not be able to forget the
call. The middleware runs after routing, so it knows the route (its template and opt) and sees
its answer's status, whoever made it; and it runs inside the app's `before_send` hooks, so the
429 page has a request id and the safety headers like any other.

A client whose address the app cannot know (no peer address: a Unix socket, a test client; what
`client_ip` calls 0.0.0.0) is not limited: counting all of them together would let one guesser
shut every customer's links. Behind a proxy, WORKBENCH_TRUSTED_PROXIES must name it, or every
customer counts as the proxy.

Redis down: the pages serve as if no limit were set (fail open: the codes are unguessable anyway,
and customers' links must not stop with a cache), with a log line that names no address.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from workbench.http.auth import CONSOLE_PREFIX, PUBLIC
from workbench.http.client_ip import client_ip
from workbench.public.pages import message
from workbench.redis import Redis

log = logging.getLogger("workbench.http.guessing")

MISS = 404  # the answer of every link route to a code it does not know
UNKNOWN_CLIENT = "0.0.0.0"  # noqa: S104 - client_ip's answer when the peer has no address
# A route is a customer's link when it is public and its path carries the link's code: the
# parameter names the link modules use (in the routed template: `/s/{code}`, `/f/{token}/thanks`).
# The API and the console have their own guards.
_CODE_PARAMETER = re.compile(r"\{(?:code|token)[}:]")
_NOT_LINKS = ("/api/", f"{CONSOLE_PREFIX}/")

# One miss: count it in a fixed window from the first miss (healing a key left without expiry).
_COUNT_MISS = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
# Where an address stands: its misses in this window and the window's seconds left.
_STANDING = """
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1])}
"""


class LinkGuesses:
    """The misses of each client address on the link routes (one Redis key an address)."""

    def __init__(self, redis: Redis, *, prefix: str, limit: int, window_seconds: int) -> None:
        self._prefix = prefix
        self.limit = limit
        self.window_seconds = window_seconds
        self._count = redis.register_script(_COUNT_MISS)
        self._standing = redis.register_script(_STANDING)

    def key(self, address: str) -> str:
        return f"{self._prefix}link-misses:{_bucket(address)}"

    async def seconds_barred(self, address: str) -> int:
        """0 when the address may open links; else the seconds until it may again."""
        count, ttl = await self._standing(keys=[self.key(address)])
        if int(count) < self.limit:
            return 0
        return max(int(ttl), 1)

    async def count_miss(self, address: str) -> None:
        """One unknown code opened from the address (one atomic script)."""
        await self._count(keys=[self.key(address)], args=[self.window_seconds])


def link_guessing_limit(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (runs for every route, after routing): on a customer's link route,
    answer 429 to an address over the limit, and count the route's 404s against it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_link_route(scope):
            await app(scope, receive, send)
            return
        state = scope["litestar_app"].state
        address = client_ip(scope, state.trusted_networks)
        if address == UNKNOWN_CLIENT:
            await app(scope, receive, send)
            return
        guesses: LinkGuesses = state.link_guesses
        if barred := await _seconds_barred(guesses, address):
            await _too_many_page(scope, barred)(scope, receive, send)
            return
        if await _answer_status(app, scope, receive, send) == MISS:
            await _count_miss(guesses, address)

    return middleware


def is_link_route(scope: Scope) -> bool:
    """Whether the request was routed to a customer's link: a public route, outside the API and
    the console, whose path carries a code or token."""
    template = str(scope.get("path_template") or "")
    handler = scope.get("route_handler")
    if handler is None or not handler.opt.get(PUBLIC) or template.startswith(_NOT_LINKS):
        return False
    return _CODE_PARAMETER.search(template) is not None


async def _answer_status(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int:
    """Let the route answer; the status it answered (0: none)."""
    status = 0

    async def send_noting_status(message_: Message) -> None:
        nonlocal status
        if message_["type"] == "http.response.start":
            status = message_["status"]
        await send(message_)

    await app(scope, receive, send_noting_status)
    return status


async def _seconds_barred(guesses: LinkGuesses, address: str) -> int:
    try:
        return await guesses.seconds_barred(address)
    except (RedisError, OSError) as exc:
        log.warning("link guessing limit not checked", extra={"error": type(exc).__name__})
        return 0


async def _count_miss(guesses: LinkGuesses, address: str) -> None:
    try:
        await guesses.count_miss(address)
    except (RedisError, OSError) as exc:
        log.warning("unknown link code not counted", extra={"error": type(exc).__name__})


def _too_many_page(scope: Scope, retry_after: int) -> Any:
    """The zh-CN page for an address over the limit, as an ASGI response."""
    minutes = math.ceil(retry_after / 60)
    page = message(
        "访问过于频繁",
        f"此网络打开的无效链接过多，请 {minutes} 分钟后再试。"
        "如需帮助，请联系您的客户经理重新发送链接。",
        bank=scope["litestar_app"].state.settings.bank_name,
        status=429,
        headers={"Retry-After": str(retry_after)},
    )
    request: Request[Any, Any, Any] = Request(scope)
    return page.to_asgi_response(None, request)  # as the pages answer HEAD (the server drops it)


def _bucket(address: str) -> str:
    """Whose misses an address counts with: an IPv4 address its own; an IPv6 address with its
    /64 (a phone or a home is given a whole /64: each address of it would be a fresh count)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)

"""A limit on guessing the codes of customers' links, counted in Redis across all API processes.

The links customers are given (brochures `/s/{code}`, surveys `/f/{token}`, visit confirmations
`/c/{token}`, real-name verification `/v/{token}`, and the pages under them) carry codes nobody
can guess; still, a bank's review expects a limit on trying. Every unknown code (a 404 of one of
those routes) counts one miss against the client's address; an address that has had
`WORKBENCH_LINK_GUESS_LIMIT` misses within `WORKBENCH_LINK_GUESS_WINDOW` seconds (a fixed window
from its first miss, the key expiring by itself) gets a zh-CN page with 429 and `Retry-After`
from the link routes until the window ends, valid codes included (else the guessing would go
on, told apart by 404 or 200), except signed links (below). A link that opens (200, a redirect)
never counts, nor an expired, used or answered one (410, 409: a real code, as customers reopen
them; a guesser who gets one has found a code already). Other addresses are not affected.

Signed links are served to a barred address all the same. One address is often many people (a
branch's Wi-Fi, a carrier's NAT): barring every link after someone else's misses cost a
customer a survey they had filled in (the 429 came on 提交, and back showed it again). A route
whose token carries its own signature declares a verifier in its opt (`SIGNED_LINK`, a
`LinkVerifier`): a signature check, no database. A token that verifies is served whatever the
count (its misses still count: a deleted invitation's 404); one that does not (forged, altered)
is barred as before. Serving it tells a guesser nothing a 429 would not: whether a token
verifies does not depend on any row, and a guesser cannot make one that does. Signed are the
survey links `/f/{token}` (invitation id and an HMAC tag, `SurveyLinks`) and the verification
links `/v/{token}` (invitation id and a MAC; older ones a signed JWT). Not signed, so barred:
the brochure codes `/s/{code}` (random, known only by their row) and the visit confirmations
`/c/{token}` (a keyed hash of a row id the token does not carry: only the database can tell).
Why a route opt rather than a table of path prefixes here: the verifier sits beside the route
that reads the same token (this module need not know the surveys' or the customers' keys), each
route opts in by itself, and a route added later, even under `/f/`, stays barred until it
declares one.

Each request reserves its miss before the route answers, in one script that either refuses (the
address is at the limit: 429; never a signed link whose token verifies) or counts the miss; once
the route has answered anything but 404, a second script gives the reservation back. Checking first
and counting after the answer would let parallel requests all pass the check before any of them
counted (ten at once against a limit of five: nine 404s). The cost: a link that opens takes two
Redis calls instead of one, and a request still being answered holds its place, so an address one
miss short of the limit may see a 429 for a real link opened at the same moment as another. The
give-back never makes a key: it lowers only a count that still exists (a DECR on a key that expired
meanwhile would make one without expiry, barring the address for good).

A cross-site request that is not a top-level navigation (`Sec-Fetch-Site: cross-site` with a
`Sec-Fetch-Mode` other than `navigate`, a `Sec-Fetch-Dest` other than `document`, or a
`Sec-Purpose` prefetch) neither counts nor is barred: it is answered the plain not-found page
without reaching the route, whatever its code. Else any web page could shut a visitor's network
out of every link by making the browser load thirty bogus `/s/...` images or frames, and a page
cannot make a browser leave those headers out or change them. Nothing legitimate asks so: the
link pages forbid framing (`frame-ancestors 'none'`), their own images, beacons and `/pages`
fetches are same-origin, and previews (og:image, posters) point at `/media/` and `/api/`, not
at link routes, and are fetched by chat apps' servers without Sec-Fetch headers. A guesser who
fakes the headers learns nothing, as no code is looked up. Navigations from anywhere, same-site
requests and clients that send no Sec-Fetch headers (older browsers, WeChat's preview server,
curl) count as before.

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
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import Headers, State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from workbench.http.auth import CONSOLE_PREFIX, PUBLIC
from workbench.http.client_ip import client_ip
from workbench.http.options import AUTOMATIC_OPTIONS
from workbench.public.pages import message, not_found_page
from workbench.redis import Redis

log = logging.getLogger("workbench.http.guessing")

MISS = 404  # the answer of every link route to a code it does not know
UNKNOWN_CLIENT = "0.0.0.0"  # noqa: S104 - client_ip's answer when the peer has no address
# A route is a customer's link when it is public and its path carries the link's code: the
# parameter names the link modules use (in the routed template: `/s/{code}`, `/f/{token}/thanks`).
# The API and the console have their own guards.
_CODE_PARAMETER = re.compile(r"\{(?:code|token)[}:]")
_NOT_LINKS = ("/api/", f"{CONSOLE_PREFIX}/")

# The route opt naming a link route's `LinkVerifier`: a barred address is still served a link
# whose token it verifies (see the module's docstring). A route without one stays barred.
SIGNED_LINK = "signed_link"
# Whether a link's token is exactly one the server signed: a signature check only, never a
# database lookup (else serving it would tell a barred guesser a known code from an unknown one),
# False for anything forged, altered or malformed (never an exception).
LinkVerifier = Callable[[State, str], bool]

# Before the route answers: refuse an address at the limit (its window's seconds left, healing a
# key left without expiry) unless told not to refuse (ARGV[3] = '0': a signed link), else count
# one miss for this request (a fixed window from the first miss) and answer 0.
_RESERVE_MISS = """
local window = tonumber(ARGV[2])
if ARGV[3] ~= '0' and tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
    local ttl = redis.call('TTL', KEYS[1])
    if ttl < 0 then
        redis.call('EXPIRE', KEYS[1], window)
        ttl = window
    end
    return math.max(ttl, 1)
end
if redis.call('INCR', KEYS[1]) == 1 or redis.call('TTL', KEYS[1]) < 0 then
    redis.call('EXPIRE', KEYS[1], window)
end
return 0
"""
# The route answered other than 404: give the reserved miss back, only to a count that still
# exists (DECR keeps its expiry; on a key gone it would make one without any). A count back at
# 0 goes (no miss in its window: the address's next miss starts a new one), so customers who
# only open real links leave no keys behind.
_RELEASE_MISS = """
if tonumber(redis.call('GET', KEYS[1]) or '0') <= 0 then
    return 0
end
local count = redis.call('DECR', KEYS[1])
if count <= 0 then
    redis.call('DEL', KEYS[1])
end
return count
"""


class LinkGuesses:
    """The misses of each client address on the link routes (one Redis key an address)."""

    def __init__(self, redis: Redis, *, prefix: str, limit: int, window_seconds: int) -> None:
        self._prefix = prefix
        self.limit = limit
        self.window_seconds = window_seconds
        self._reserve = redis.register_script(_RESERVE_MISS)
        self._release = redis.register_script(_RELEASE_MISS)

    def key(self, address: str) -> str:
        return f"{self._prefix}link-misses:{_bucket(address)}"

    async def reserve_miss(self, address: str, *, refuse: bool = True) -> int:
        """Count a miss for a request about to be answered (one atomic script): 0 when counted,
        else the address is at the limit and this is the seconds until it may open links.
        `refuse=False` (a signed link's request) counts it even past the limit, and answers 0."""
        barred = await self._reserve(
            keys=[self.key(address)], args=[self.limit, self.window_seconds, int(refuse)]
        )
        return int(barred)

    async def release_miss(self, address: str) -> None:
        """The request's reserved miss was no miss (its link opened, or was gone, or failed)."""
        await self._release(keys=[self.key(address)])


def link_guessing_limit(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (runs for every route, after routing): on a customer's link route,
    answer a cross-site subresource request 404 unseen, answer 429 to an address at the limit,
    and count the route's 404s against the address."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_link_route(scope):
            await app(scope, receive, send)
            return
        if is_cross_site_subresource(scope):
            await _not_found_page(scope)(scope, receive, send)
            return
        state = scope["litestar_app"].state
        address = client_ip(scope, state.trusted_networks)
        if address == UNKNOWN_CLIENT:
            await app(scope, receive, send)
            return
        guesses: LinkGuesses = state.link_guesses
        reserved = await _reserve_miss(guesses, address, refuse=not is_signed_link(scope))
        if reserved is not None and reserved > 0:
            await _too_many_page(scope, reserved)(scope, receive, send)
            return
        status = 0
        try:
            status = await _answer_status(app, scope, receive, send)
        finally:
            if reserved == 0 and status != MISS:
                await _release_miss(guesses, address)

    return middleware


def is_link_route(scope: Scope) -> bool:
    """Whether the request was routed to a customer's link: a public route, outside the API and
    the console, whose path carries a code or token. Not Litestar's own OPTIONS answer: it looks
    no code up (204 for any), so it can neither miss nor tell a guesser anything."""
    template = str(scope.get("path_template") or "")
    handler = scope.get("route_handler")
    if handler is None or not handler.opt.get(PUBLIC) or template.startswith(_NOT_LINKS):
        return False
    if handler.opt.get(AUTOMATIC_OPTIONS):
        return False
    return _CODE_PARAMETER.search(template) is not None


def is_signed_link(scope: Scope) -> bool:
    """Whether a link route's token verifies with the verifier its route declares (opt
    `SIGNED_LINK`). A route that declares none, or has no `token` parameter, is no signed link."""
    verifier: LinkVerifier | None = scope["route_handler"].opt.get(SIGNED_LINK)
    token = scope.get("path_params", {}).get("token")
    if verifier is None or not isinstance(token, str):
        return False
    return verifier(scope["litestar_app"].state, token)


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


def is_cross_site_subresource(scope: Scope) -> bool:
    """Whether a browser says another site's page made this request, other than as a top-level
    navigation: an image, a script's fetch, a frame, a prefetch. Headers a page cannot forge in
    a visitor's browser; a request without them (no browser, an older one) is not one."""
    headers = Headers.from_scope(scope)
    if headers.get("sec-fetch-site") != "cross-site":
        return False
    mode = headers.get("sec-fetch-mode")
    destination = headers.get("sec-fetch-dest")
    purpose = headers.get("sec-purpose") or ""
    return (
        (mode is not None and mode != "navigate")
        or (destination is not None and destination != "document")
        or "prefetch" in purpose
    )


async def _reserve_miss(guesses: LinkGuesses, address: str, *, refuse: bool) -> int | None:
    """0: a miss reserved; more: seconds barred; None: Redis did not answer (nothing reserved)."""
    try:
        return await guesses.reserve_miss(address, refuse=refuse)
    except (RedisError, OSError) as exc:
        log.warning("link guessing limit not checked", extra={"error": type(exc).__name__})
        return None


async def _release_miss(guesses: LinkGuesses, address: str) -> None:
    try:
        await guesses.release_miss(address)
    except (RedisError, OSError) as exc:
        log.warning("link opened but counted as a miss", extra={"error": type(exc).__name__})


def _not_found_page(scope: Scope) -> Any:
    """The plain not-found page of the link routes, as an ASGI response."""
    page = not_found_page(scope["litestar_app"].state.settings.bank_name)
    request: Request[Any, Any, Any] = Request(scope)
    return page.to_asgi_response(None, request)


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

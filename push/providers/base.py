"""The one small interface every push provider implements, and the auth-token cache they share."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from push.providers.h2client import H2Error
from push.providers.h2client import Response as H2Response

log = logging.getLogger("push.providers")

OutcomeKind = Literal["sent", "retry", "failed", "dead_token"]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TTL = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Push:
    """One notification for one device. Titles and bodies carry no unmasked personal data."""

    notification_id: uuid.UUID
    token: str
    category: str
    title: str
    body: str
    data: dict[str, str]
    critical: bool
    silent: bool
    collapse_key: str | None
    expires_at: datetime | None

    def collapse_id(self) -> str:
        """What makes the phone show this notification once, however often it is sent: the
        notification's collapse key, else its id. Both are the same on every attempt, so a
        push repeated after a worker died mid-send (the provider may have taken the first one
        without our hearing) replaces the first on the phone instead of showing twice. Newer
        notifications with the same collapse key replace older ones the same way."""
        return self.collapse_key or str(self.notification_id)

    def expiry(self) -> datetime:
        """When the provider may stop trying to deliver it (a day, unless the row says)."""
        return self.expires_at or datetime.now(UTC) + DEFAULT_TTL

    def ttl_seconds(self) -> int:
        return max(int((self.expiry() - datetime.now(UTC)).total_seconds()), 0)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the provider answered, in our words. `reason` is the provider's own code."""

    kind: OutcomeKind
    reason: str | None = None
    status_code: int | None = None
    retry_after: float | None = None


class Provider(Protocol):
    name: str

    async def send(self, push: Push) -> Outcome: ...

    async def aclose(self) -> None: ...


def oauth_client(base_url: str, timeout: float) -> httpx.AsyncClient:
    """httpx over HTTP/2 for the rare OAuth token requests: ALPN h2 over TLS, prior knowledge
    over cleartext (the local fakes)."""
    return httpx.AsyncClient(
        base_url=base_url,
        http1=False,
        http2=True,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
    )


def refused(
    response: httpx.Response | H2Response, reason: str | None, *, dead: bool, retry: bool = False
) -> Outcome:
    """A provider's answer other than success: the token is dead, or it is worth another try
    later (`retry`, or HTTP 429/5xx), or it failed for good."""
    kind: OutcomeKind
    if dead:
        kind = "dead_token"
    elif retry or response.status_code in RETRY_STATUSES:
        kind = "retry"
    else:
        kind = "failed"
    return Outcome(
        kind,
        reason=reason,
        status_code=response.status_code,
        retry_after=retry_after_seconds(response),
    )


def retry_after_seconds(response: httpx.Response | H2Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def transport_failure(exc: Exception) -> Outcome:
    """A connection that failed or timed out: worth another try later."""
    detail = str(exc) if isinstance(exc, H2Error) else type(exc).__name__
    return Outcome("retry", reason=f"transport:{detail}"[:120])


Mint = Callable[[], Awaitable[tuple[str, float]]]  # -> (token, lifetime in seconds)


class AuthError(Exception):
    """The provider's token endpoint refused our credentials."""


async def oauth_token(
    client: httpx.AsyncClient, url: str, form: dict[str, str]
) -> tuple[str, float]:
    """POST a token request form; (access token, lifetime in seconds) or AuthError."""
    response = await client.post(url, data=form)
    if response.status_code != 200:
        raise AuthError(f"token endpoint answered {response.status_code}")
    body = response.json()
    return str(body["access_token"]), float(body.get("expires_in", 3600))


async def send_authorized(
    token: SharedToken,
    post: Callable[[str], Awaitable[Outcome]],
    refused: Callable[[Outcome], bool],
) -> Outcome:
    """Send with the shared access token. When the provider refuses the token (revoked or
    expired early), forget it, get a new one and try once more; refused again, it is a
    passing problem to retry later, not a reason to drop the notification."""
    try:
        current = await token.get()
    except AuthError as exc:
        return Outcome("failed", reason=f"auth:{exc}")
    except httpx.HTTPError as exc:
        return transport_failure(exc)
    outcome = await post(current)
    if not refused(outcome):
        return outcome
    await token.invalidate(current)
    try:
        outcome = await post(await token.get())
    except (AuthError, httpx.HTTPError, H2Error) as exc:
        return Outcome("retry", reason=f"auth:{type(exc).__name__}")
    if refused(outcome):
        return Outcome("retry", reason=outcome.reason, status_code=outcome.status_code)
    return outcome


class SharedToken:
    """An auth token that one worker mints and every worker uses: cached in Redis and in this
    process, minted again `margin` seconds before it expires, by one worker at a time (a Redis
    lock). Without Redis each process mints its own, so push keeps working during an outage."""

    def __init__(self, redis: Redis, key: str, mint: Mint, *, margin: float) -> None:
        self._redis = redis
        self._key = key
        self._mint = mint
        self._margin = margin
        self._local: tuple[str, float] | None = None  # (token, expires at, epoch seconds)
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if (token := self._fresh(self._local)) is not None:
            return token
        async with self._lock:
            if (token := self._fresh(self._local)) is not None:
                return token
            self._local = await self._shared_or_minted()
            return self._local[0]

    async def invalidate(self, token: str) -> None:
        """The provider refused `token` as expired: forget it here and, if it is still the
        shared one, in Redis too, so that the next get() mints a new one."""
        if self._local and self._local[0] == token:
            self._local = None
        try:
            shared = await self._redis.get(self._key)
            if shared is not None and json.loads(shared)["token"] == token:
                await self._redis.delete(self._key)
        except RedisError:
            pass

    def _fresh(self, entry: tuple[str, float] | None) -> str | None:
        if entry is not None and entry[1] - self._margin > time.time():
            return entry[0]
        return None

    async def _shared_or_minted(self) -> tuple[str, float]:
        lock_key, lock_value = f"{self._key}:lock", secrets.token_hex(8)
        try:
            for _ in range(60):
                entry = await self._read()
                if self._fresh(entry) is not None:
                    assert entry is not None
                    return entry
                if await self._redis.set(lock_key, lock_value, nx=True, px=10_000):
                    try:
                        return await self._mint_and_share()
                    finally:
                        if await self._redis.get(lock_key) == lock_value.encode():
                            await self._redis.delete(lock_key)
                await asyncio.sleep(0.05)  # another worker is minting
        except RedisError:
            log.warning("redis unavailable: minting a provider token in this process")
        token, lifetime = await self._mint()
        return token, time.time() + lifetime

    async def _read(self) -> tuple[str, float] | None:
        raw = await self._redis.get(self._key)
        if raw is None:
            return None
        entry = json.loads(raw)
        return str(entry["token"]), float(entry["expires_at"])

    async def _mint_and_share(self) -> tuple[str, float]:
        token, lifetime = await self._mint()
        expires_at = time.time() + lifetime
        ttl_ms = max(int((lifetime - self._margin) * 1000), 1000)
        await self._redis.set(
            self._key, json.dumps({"token": token, "expires_at": expires_at}), px=ttl_ms
        )
        return token, expires_at

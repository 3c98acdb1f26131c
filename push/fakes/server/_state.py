"""The push fake's shared state: what tests steer (dead and bad tokens, queued failures,
expired auth, latency) and what it recorded (`sent`, `arrivals`, `requests`, counters), with the
helpers every provider's fake answers through (latency, failures, delivery, access tokens)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from push.fakes.credentials import FakeCredentials, ec_public_key, rsa_public_key
from push.fakes.transport import H2ServerProtocol
from push.fakes.wire import (
    AccessState,
    Delivered,
    Failure,
    Received,
    Request,
    bearer,
    notification_id,
    now_ms,
)

PROVIDERS = ("apns", "fcm", "hms")


FAILURE_KINDS = ("throttled", "unavailable", "internal", "expired_auth")


class FakeState:
    """What the fake knows and recorded; each provider's fake and the server build on it."""

    def __init__(
        self, credentials: FakeCredentials, *, latency: float = 0.0, record: bool = True
    ) -> None:
        """Load the public halves of the credentials' keys; call `start()` to serve."""
        self.credentials = credentials
        self.latency = latency
        self.record = record
        self.base_url = ""
        self.sent: list[Delivered] = []
        # (arrival time, provider, notification id) of every accepted push, even unrecorded.
        self.arrivals: list[tuple[float, str, str]] = []
        self.requests: list[Received] = []
        self.auth_tokens_issued: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._sent_counts: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._request_count = 0
        self._dead: dict[str, int] = {}
        self._bad: set[str] = set()
        self._failures: dict[str, deque[Failure]] = {name: deque() for name in PROVIDERS}
        self._apns_jwts: dict[str, int] = {}
        self._apns_expired: set[str] = set()
        self._apns_cutoff = 0
        self._access_tokens: dict[str, dict[str, bool]] = {"fcm": {}, "hms": {}}
        self._apns_key = ec_public_key(credentials.apns_private_key_pem())
        self._fcm_key = rsa_public_key(credentials.service_account()["private_key"].encode())
        self._server: asyncio.Server | None = None
        self._connections: set[H2ServerProtocol] = set()

    # ---- control from the test's Python code

    def mark_dead(self, token: str) -> None:
        """Make `token` unregistered: APNs 410, FCM 404 UNREGISTERED, HMS 80300007."""
        self._dead[token] = now_ms()

    def mark_bad(self, token: str) -> None:
        """Make `token` malformed: APNs 400 BadDeviceToken, FCM 400, HMS 80300007."""
        self._bad.add(token)

    def fail_next(
        self, provider: str, kind: str, *, count: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `count` pushes of `provider` with a `kind` failure."""
        _check_provider(provider)
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        self._failures[provider].extend([Failure(kind, retry_after)] * count)

    def expire_auth(self, provider: str) -> None:
        """Expire every auth token issued so far for `provider` (APNs: JWTs signed before now)."""
        _check_provider(provider)
        if provider == "apns":
            self._apns_expired.update(self._apns_jwts)
            self._apns_cutoff = int(time.time())
            return
        tokens = self._access_tokens[provider]
        for token in tokens:
            tokens[token] = False

    def stats(self) -> dict[str, Any]:
        """Return the counters that `GET /_fake/stats` answers."""
        return {
            "sent": dict(self._sent_counts),
            "requests": self._request_count,
            "auth_tokens_issued": dict(self.auth_tokens_issued),
        }

    # ---- shared by the providers' answers

    async def _wait_latency(self) -> None:
        """Sleep the configured latency before answering a push."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def _take_failure(self, provider: str) -> Failure | None:
        """Pop the next queued `fail_next` answer for `provider`, if any."""
        queue = self._failures[provider]
        return queue.popleft() if queue else None

    def _deliver(self, provider: str, token: str, request: Request, body: Any) -> None:
        """Count an accepted push, note when it arrived (for benchmarks), and record it."""
        self._sent_counts[provider] += 1
        self.arrivals.append((request.received_at, provider, notification_id(request, body)))
        if self.record:
            self.sent.append(Delivered(provider, token, request.headers, body))

    def _mint(self, provider: str, token: str) -> None:
        """Remember a freshly issued access token."""
        self._access_tokens[provider][token] = True
        self.auth_tokens_issued[provider] += 1

    def _access_state(self, provider: str, headers: dict[str, str]) -> AccessState:
        """Tell whether the request's bearer token is current, expired or unknown."""
        token = bearer(headers)
        valid = None if token is None else self._access_tokens[provider].get(token)
        if valid is None:
            return "unknown"
        return "ok" if valid else "expired"


def _check_provider(provider: str) -> None:
    """Reject a provider name the fake does not know."""
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {PROVIDERS}, not {provider!r}")

"""Apple Push Notification service over HTTP/2 with a provider token (ES256 JWT).

One JWT per team (`iss` team id, `kid` key id, `iat`) is signed about every 50 minutes and shared
by every worker through Redis: Apple refuses tokens older than an hour and throttles teams that
re-sign too often. 410 Unregistered and 400 BadDeviceToken mean the device token is dead;
429 and 5xx are retried later; 403 ExpiredProviderToken re-signs once and tries again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
import msgspec
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from redis.asyncio import Redis

from push.providers.base import (
    Outcome,
    Push,
    SharedToken,
    refused,
    send_authorized,
    transport_failure,
)
from push.providers.h2client import H2Client, H2Error
from push.providers.h2client import Response as H2Response

TOKEN_LIFETIME = 3600.0  # Apple's limit for a provider token
RESIGN_MARGIN = 600.0  # re-sign after ~50 minutes
DEAD_REASONS = frozenset({"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"})


def read_key(path: str) -> str:
    """The APNs auth key (PEM) in the .p8 file at `path`. ValueError says what is wrong with the
    file, never what it holds: settings call this at start, so a bad file stops it there."""
    try:
        pem = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a .p8 key (PEM text)") from None
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} is not an APNs auth key (a P-256 private key in PEM form)")
    return pem


class Apns:
    name = "apns"

    def __init__(
        self,
        *,
        base_url: str,
        key_file: str,
        key_id: str,
        team_id: str,
        topic: str,
        redis: Redis,
        redis_prefix: str,
        timeout: float,
    ) -> None:
        self._key = read_key(key_file)
        self._key_id, self._team_id, self._topic = key_id, team_id, topic
        self._client = H2Client(base_url, timeout=timeout)
        self._token = SharedToken(
            redis,
            f"{redis_prefix}push:apns:jwt:{team_id}:{key_id}",
            self._sign,
            margin=RESIGN_MARGIN,
        )

    async def _sign(self) -> tuple[str, float]:
        claims = {"iss": self._team_id, "iat": int(time.time())}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})
        return token, TOKEN_LIFETIME

    async def send(self, push: Push) -> Outcome:
        return await send_authorized(self._token, lambda token: self._post(push, token), _refused)

    async def _post(self, push: Push, token: str) -> Outcome:
        try:
            response = await self._client.post(
                f"/3/device/{quote(push.token, safe='')}",
                body=msgspec.json.encode(payload(push)),
                headers=headers(push, token=token, topic=self._topic),
            )
        except H2Error as exc:
            return transport_failure(exc)
        if response.status_code == 200:
            return Outcome("sent", status_code=200)
        reason = _reason(response)
        return refused(response, reason, dead=response.status_code == 410 or reason in DEAD_REASONS)

    async def aclose(self) -> None:
        await self._client.aclose()


def headers(push: Push, *, token: str, topic: str) -> dict[str, str]:
    return {
        "authorization": f"bearer {token}",
        "apns-topic": topic,
        "apns-push-type": "background" if push.silent else "alert",
        # Background pushes must be 5; alerts go out at once.
        "apns-priority": "5" if push.silent else "10",
        "apns-expiration": str(int(push.expiry().timestamp())),
        "apns-id": str(push.notification_id),
        "apns-collapse-id": collapse_id(push.collapse_id()),
    }


def collapse_id(key: str) -> str:
    """apns-collapse-id is at most 64 bytes: long keys are replaced by their hash."""
    return key if len(key.encode()) <= 64 else hashlib.sha256(key.encode()).hexdigest()


def payload(push: Push) -> dict[str, Any]:
    if push.silent:
        aps: dict[str, Any] = {"content-available": 1}
    else:
        aps = {
            "alert": {"title": push.title, "body": push.body},
            "sound": "default",
            "thread-id": push.category,
            "interruption-level": "time-sensitive" if push.critical else "active",
        }
    return {"aps": aps, "nid": str(push.notification_id), "category": push.category, **push.data}


def _reason(response: H2Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return str(reason) if reason else None


def _refused(outcome: Outcome) -> bool:
    """APNs did not accept our provider token (older than an hour, as Apple sees it)."""
    return outcome.reason == "ExpiredProviderToken"

"""Firebase Cloud Messaging HTTP v1 over HTTP/2.

The service account signs an RS256 JWT that Google's token endpoint exchanges for an OAuth
access token (an hour); the token is cached for every worker in Redis and refreshed five minutes
early. UNREGISTERED (and SENDER_ID_MISMATCH: the token belongs to another project) mean the
device token is dead; QUOTA_EXCEEDED, UNAVAILABLE and INTERNAL are retried, honouring
Retry-After; a 401 refreshes the access token once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msgspec
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis

from push.providers.base import (
    Outcome,
    Push,
    SharedToken,
    oauth_client,
    oauth_token,
    refused,
    send_authorized,
    transport_failure,
)
from push.providers.h2client import H2Client, H2Error
from push.providers.h2client import Response as H2Response

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JSON = "application/json; charset=utf-8"
REFRESH_MARGIN = 300.0
DEAD_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
RETRY_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})
ACCOUNT_FIELDS = ("project_id", "client_email", "private_key", "token_uri")


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """What FCM needs of a Google service-account key file."""

    project_id: str
    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str


def read_service_account(path: str) -> ServiceAccount:
    """The service account in the JSON key file at `path`. ValueError says what is wrong with the
    file, never what it holds: settings call this at start, so a bad file stops it there."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a JSON text file") from None
    try:
        account = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(account, dict):
        raise ValueError(f"{path} is not a JSON object")
    missing = [k for k in ACCOUNT_FIELDS if not isinstance(account.get(k), str) or not account[k]]
    if missing:
        raise ValueError(f"{path} has no {', '.join(missing)}: not a service-account key file")
    try:
        key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"the private_key in {path} is not an unencrypted RSA key in PEM form")
    return ServiceAccount(
        project_id=account["project_id"],
        client_email=account["client_email"],
        private_key=account["private_key"],
        private_key_id=str(account.get("private_key_id") or ""),
        token_uri=account["token_uri"],
    )


class Fcm:
    name = "fcm"

    def __init__(
        self,
        *,
        base_url: str,
        service_account_file: str,
        redis: Redis,
        redis_prefix: str,
        timeout: float,
    ) -> None:
        account = read_service_account(service_account_file)
        self._project, self._email = account.project_id, account.client_email
        self._key, self._key_id = account.private_key, account.private_key_id
        self._token_uri = account.token_uri
        self._client = H2Client(base_url, timeout=timeout)
        self._oauth = oauth_client(self._token_uri, timeout)
        self._token = SharedToken(
            redis,
            f"{redis_prefix}push:fcm:token:{self._project}",
            self._mint,
            margin=REFRESH_MARGIN,
        )

    async def _mint(self) -> tuple[str, float]:
        now = int(time.time())
        assertion = jwt.encode(
            {"iss": self._email, "scope": SCOPE, "aud": self._token_uri, "iat": now,
             "exp": now + 3600},
            self._key,
            algorithm="RS256",
            headers={"kid": self._key_id},
        )  # fmt: skip
        return await oauth_token(
            self._oauth, self._token_uri,
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )  # fmt: skip

    async def send(self, push: Push) -> Outcome:
        return await send_authorized(self._token, lambda token: self._post(push, token), _refused)

    async def _post(self, push: Push, token: str) -> Outcome:
        try:
            response = await self._client.post(
                f"/v1/projects/{self._project}/messages:send",
                body=msgspec.json.encode({"message": message(push)}),
                headers={"authorization": f"Bearer {token}", "content-type": JSON},
            )
        except H2Error as exc:
            return transport_failure(exc)
        if response.status_code == 200:
            return Outcome("sent", status_code=200)
        code = _error_code(response)
        dead = code in DEAD_CODES or (code == "INVALID_ARGUMENT" and _token_malformed(response))
        return refused(response, code, dead=dead, retry=code in RETRY_CODES)

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._oauth.aclose()


def message(push: Push) -> dict[str, Any]:
    android: dict[str, Any] = {
        "priority": "HIGH" if push.critical else "NORMAL",
        "ttl": f"{push.ttl_seconds()}s",
    }
    if push.collapse_key:
        # FCM keeps one pending message per collapse key for an offline device, and at most four
        # keys: only real collapse keys, never one per notification.
        android["collapse_key"] = push.collapse_key
    result: dict[str, Any] = {
        "token": push.token,
        "data": {"nid": str(push.notification_id), "category": push.category, **push.data},
        "android": android,
    }
    if not push.silent:
        result["notification"] = {"title": push.title, "body": push.body}
        # The tray replaces a shown notification with the same tag: a repeat shows once.
        android["notification"] = {"tag": push.collapse_id()}
    return result


def _error_code(response: H2Response) -> str | None:
    """The FcmError code from the details, else Google's canonical status."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None


def _token_malformed(response: H2Response) -> bool:
    """FCM's INVALID_ARGUMENT is about the registration token (it never will be one: the
    registration is dead, as APNs' BadDeviceToken is), not about our message: its bad-request
    details name the field `message.token`, or its message the registration token."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return False
    for detail in error.get("details") or []:
        for violation in (detail.get("fieldViolations") or []) if isinstance(detail, dict) else []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _refused(outcome: Outcome) -> bool:
    """The provider did not accept our access token."""
    return outcome.status_code == 401

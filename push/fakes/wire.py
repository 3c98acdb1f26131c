"""What the push fake records and the shapes of its requests and answers, with the small
helpers of its JSON and form bodies."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import msgspec

_JSON_TYPE = ("content-type", "application/json; charset=UTF-8")


@dataclass(frozen=True, slots=True)
class Delivered:
    """One accepted push: the provider, the device token, request headers and parsed body."""

    provider: str
    token: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class Received:
    """One request the fake answered, accepted or not.

    `provider` is "apns", "fcm" or "hms" (token endpoints count as their provider: `/token` is
    "fcm", `/oauth2/v3/token` is "hms"), or "unknown" for a path the fake does not serve.
    `headers` holds the regular request headers with lower-case names (the HTTP/2 pseudo-headers
    are `method` and `path`). `body` is the parsed JSON or form body, or None when it could not be
    parsed. `answer` is the parsed JSON the fake answered with, or None for an empty answer.
    Requests to `/_fake/*` are not recorded or counted.
    """

    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any


@dataclass(frozen=True, slots=True)
class Request:
    """A complete request as read off one HTTP/2 stream."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    too_large: bool
    received_at: float = field(default_factory=time.time)  # when its last frame arrived


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: status, extra headers, the encoded body and the object it was encoded from."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    payload: Any = None


class Failure(NamedTuple):
    """A queued `fail_next` answer."""

    kind: str
    retry_after: int | None


class Rejection(NamedTuple):
    """An APNs error answer."""

    status: int
    reason: str
    retry_after: int | None = None
    timestamp: int | None = None


class _NotJson:
    """Marker for a body that is empty or not valid JSON."""


NOT_JSON = _NotJson()

AccessState = Literal["ok", "unknown", "expired"]


def notification_id(request: Request, body: Any) -> str:
    """Our notification id in a push: the apns-id header, or `nid` in the FCM/HMS data."""
    if "apns-id" in request.headers:
        return request.headers["apns-id"]
    message = body.get("message") if isinstance(body, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            data = json.loads(data)
    return str(data.get("nid", "")) if isinstance(data, dict) else ""


def json_response(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """Build a JSON answer."""
    return Response(status, (_JSON_TYPE, *headers), msgspec.json.encode(payload), payload)


def retry_after(seconds: int | None) -> tuple[tuple[str, str], ...]:
    """Return the Retry-After header for `seconds`, or nothing."""
    return () if seconds is None else (("retry-after", str(seconds)),)


def decode_json(body: bytes) -> Any:
    """Parse a JSON body, or return the not-JSON marker."""
    if not body:
        return NOT_JSON
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return NOT_JSON


def decode_form(body: bytes) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body (the last value of a name wins)."""
    text = body.decode("utf-8", errors="replace")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def bearer(headers: dict[str, str]) -> str | None:
    """Return the token of an `authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_int(value: Any) -> bool:
    """Tell whether a JSON value is an integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_uuid(value: str) -> bool:
    """Tell whether `value` is a canonical 8-4-4-4-12 UUID string."""
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def json_text(value: Any) -> str:
    """Render a JSON value the way Google quotes it in error messages."""
    return msgspec.json.encode(value).decode()


def now_ms() -> int:
    """Return the time in milliseconds since the epoch."""
    return int(time.time() * 1000)

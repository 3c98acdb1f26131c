"""The console's cookies, and flash messages that survive one redirect.

Every cookie is `__Host-` prefixed (so only this exact host, over a secure origin, with Path=/,
may set it), HttpOnly, Secure and SameSite=Strict. Chromium and Firefox count http://localhost
and http://127.0.0.1 as secure, so `workbench dev` works without TLS; any other host needs HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Literal

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

SESSION = "__Host-wb_console"  # the console session's token (a browser-session cookie)
DEVICE = "__Host-wb_console_device"  # this browser's device id, kept across sign-ins
SIGN_IN = "__Host-wb_console_sign_in"  # the sign-in form's pre-session CSRF secret
FLASH = "__Host-wb_console_flash"  # messages for the next page (after a redirect)

DEVICE_MAX_AGE = 400 * 86400  # the longest a browser keeps a cookie
FLASH_MAX_AGE = 120
FLASH_TEXT_MAX = 300
FLASH_MAX_COUNT = 3

FlashKind = Literal["info", "success", "warning", "error"]


def make(name: str, value: str, *, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path="/",
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def expire(name: str) -> Cookie:
    """Delete a cookie (a `__Host-` cookie is only replaced by one with the same attributes)."""
    return make(name, "", max_age=0)


class Flash(msgspec.Struct, frozen=True, array_like=True):
    """A message shown once, on the next page: `kind` styles it."""

    kind: FlashKind
    text: str


def purpose_key(secret: bytes, purpose: str) -> bytes:
    """A key of its own for one use of the console, derived from the blind-index key."""
    return hmac.new(secret, f"workbench/console/{purpose}".encode(), hashlib.sha256).digest()


def flash_cookie(secret: bytes, flashes: list[Flash]) -> Cookie:
    """The cookie carrying `flashes` to the next page; signed, so nobody else can put words on
    the bank's pages through it."""
    kept = [Flash(f.kind, f.text[:FLASH_TEXT_MAX]) for f in flashes[:FLASH_MAX_COUNT]]
    payload = _b64(msgspec.json.encode(kept))
    return make(FLASH, f"{payload}.{_b64(_sign(secret, payload))}", max_age=FLASH_MAX_AGE)


def read_flashes(connection: ASGIConnection[Any, Any, Any, Any], secret: bytes) -> list[Flash]:
    """The messages of the flash cookie, if it is genuine (otherwise none)."""
    value = connection.cookies.get(FLASH)
    if not value or "." not in value:
        return []
    payload, _, signature = value.partition(".")
    if not hmac.compare_digest(_b64(_sign(secret, payload)), signature):
        return []
    try:
        return msgspec.json.decode(_unb64(payload), type=list[Flash])[:FLASH_MAX_COUNT]
    except (ValueError, msgspec.DecodeError):
        return []


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(purpose_key(secret, "flash"), payload.encode(), hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

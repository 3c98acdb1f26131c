"""Opaque keyset cursors for `?limit=&cursor=` lists."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from workbench.errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class BadCursor(DomainError):
    status, code, title = 400, "request.bad_cursor", "The cursor is not valid for this list"


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None, type_: type[Any]) -> Any:
    """The key inside a cursor from `encode_cursor`, or None; 400 when it was tampered with."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=type_)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor() from None

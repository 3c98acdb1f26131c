"""The pull cursor: where a client stands, signed so that it cannot be forged or moved.

A cursor is bound to the user, their role and org unit, and the client's schema version: when
any of those changes, the partition (or the row shape) the client holds is no longer the one a
catch-up would continue, and the pull answers `sync.reset_required`.

Position (txid, seq): every change of transactions up to `txid` is delivered, and of `txid`
itself up to `seq`. During an initial sync the cursor also holds the entity being streamed and
the last key sent; its position is where the catch-up starts afterwards.

Window edges (schema 3): a brochure goes live or expires at a time, with nothing written then.
`edges_at` is the pull's clock (microseconds since the epoch) up to which every window edge is
on the device: the catch-up sends the brochures with an edge after it. While those are sent in
pages, `edges_after` is the last brochure sent of the edges at exactly `edges_at`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from workbench.errors import DomainError

FORMAT = 1
MAX_SEQ = 2**63 - 1
_MAC_BYTES = 16


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """A time as cursors and Redis keep it: microseconds since the epoch (exact, as PostgreSQL
    keeps timestamps)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class ResetRequired(DomainError):
    status, code, title = 409, "sync.reset_required", "Start a fresh initial sync"


class Position(msgspec.Struct, array_like=True, frozen=True, order=True):
    txid: int
    seq: int


class CursorState(msgspec.Struct, array_like=True, kw_only=True):
    format: int
    user_id: uuid.UUID
    role: str
    org_unit_id: uuid.UUID
    schema_version: int
    position: Position
    position_at: int  # unix seconds when the position was taken (for the retention check)
    entity: int = -1  # initial sync: index of the entity being streamed; -1: catching up
    after: list[str] | None = None  # initial sync: last key sent of that entity
    # Added with schema 3, last (cursors of earlier servers decode with the defaults):
    edges_at: int = 0  # µs since the epoch: every window edge up to it is on the device
    edges_after: str | None = None  # paging the edges at exactly `edges_at`: last id sent

    @property
    def initial(self) -> bool:
        return self.entity >= 0


class Signer:
    """Signs and opens cursors with a key derived for this purpose only."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"workbench sync cursor v1", hashlib.sha256).digest()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, state: CursorState) -> str:
        body = msgspec.msgpack.encode(state)
        return base64.urlsafe_b64encode(body + self._mac(body)).decode().rstrip("=")

    def open(self, cursor: str, *, retention_days: int) -> CursorState:
        """The state inside a cursor; `sync.reset_required` if it was forged or has expired."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise ResetRequired("The cursor is not one this server issued") from None
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, self._mac(body)):
            raise ResetRequired("The cursor is not one this server issued")
        try:
            state = msgspec.msgpack.decode(body, type=CursorState)
        except msgspec.DecodeError:
            raise ResetRequired("The cursor is not one this server issued") from None
        if state.format != FORMAT:
            raise ResetRequired("The cursor is from an older server version")
        # Changes are kept `retention_days`; an hour of margin covers long transactions.
        if state.position_at < time.time() - retention_days * 86_400 + 3_600:
            raise ResetRequired(
                f"The cursor is older than the {retention_days}-day change retention"
            )
        return state

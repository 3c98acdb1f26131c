"""Customer QR confirmation of a visit.

The RM asks for a confirmation of a task awaiting it; the server makes a new confirmation row,
which holds everything the link stands for (task, expiry, use), and its link token: 16 bytes, 22
characters (a link of about 50 characters makes a QR code of 33x33 modules that scans at arm's
length, where a signed token made one of 81x81). The token is a keyed hash of the row's id
(HMAC with the server's blind-index key, for this purpose only), so nobody can make one without
the key; the row keeps only the token's SHA-256, to find it when the link is opened. The
customer's phone opens `/c/{token}`: a masked summary and a confirm button. Opening never
consumes the token; only the confirm does, once. A new link of the task ends its earlier ones
(a QR code shown to the wrong person stops working): they answer that a newer code replaced
them, and their QR code is gone (410 `confirmation.expired`). Optionally both sides' reported
locations are recorded and a distance above the configured radius is flagged.

The QR code is served later from `qr_png_url` (the row's id): the token is derived again from
it, for an RM who sees the task only, and only while the link still confirms something: a QR
code of a used or expired link, or of a task no longer awaiting the customer, is 410 Gone (the
customer's scan would land on a page saying so). No link token ever appears in an API path.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import io
import math
import re
import uuid

import segno

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.ids import uuid7
from workbench.notifications import service as notifications
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, queries


class LinkState(enum.StrEnum):
    OPEN = "open"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"  # a newer link of the task was made: only the newest confirms
    CLOSED = "closed"  # the task is no longer waiting for the customer (cancelled, expired...)


class ConfirmationGone(DomainError):
    """The link of a QR code asked for can no longer confirm anything (410): ask for a new one."""

    status, code, title = 410, "confirmation.gone", "This confirmation link can no longer be used"


class ConfirmationUsed(ConfirmationGone):
    code, title = "confirmation.used", "The customer has already confirmed with this link"


class ConfirmationExpired(ConfirmationGone):
    code, title = "confirmation.expired", "This confirmation link has expired"


class ConfirmationClosed(ConfirmationGone):
    code, title = "confirmation.closed", "The task no longer awaits the customer's confirmation"


_GONE: dict[LinkState, type[ConfirmationGone]] = {
    LinkState.USED: ConfirmationUsed,
    LinkState.EXPIRED: ConfirmationExpired,
    LinkState.REPLACED: ConfirmationExpired,  # it was ended when the newer one was made
    LinkState.CLOSED: ConfirmationClosed,
}


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


LINK_PURPOSE = "confirmation_link"  # the blind-index HMAC, used for this purpose only
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]{22}")


def _token_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token_bytes(text: str) -> bytes | None:
    """The token of a link, or None for anything that is not exactly one of ours."""
    if not _TOKEN_TEXT.fullmatch(text):
        return None
    raw = base64.urlsafe_b64decode(text + "==")
    return raw if _token_text(raw) == text else None  # one spelling per token


def _token_of(vault: Vault, confirmation_id: uuid.UUID) -> bytes:
    """The link token of a confirmation row: 16 bytes only the server can compute."""
    return vault.blind_index(LINK_PURPOSE, str(confirmation_id))


def _token_hash(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def _link(raw: bytes, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/c/{_token_text(raw)}"


async def request(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    body: wire.ConfirmationRequest,
    ttl_seconds: int,
    base_url: str,
) -> wire.Confirmation:
    """A fresh single-use link for the customer to confirm this visit; the task's earlier links
    not used yet stop working."""
    task = await lifecycle.visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if task["status"] != "awaiting_confirmation":
        raise lifecycle.IllegalTransition(task["status"], "ask the customer to confirm")
    location = body.location
    confirmation_id = uuid7()
    raw = _token_of(vault, confirmation_id)
    row = await queries.insert_confirmation(
        conn,
        confirmation_id=confirmation_id,
        task_id=task_id,
        token_hash=_token_hash(raw),
        created_by=caller.user_id,
        ttl_seconds=ttl_seconds,
        rm_lat=location.lat if location else None,
        rm_lng=location.lng if location else None,
    )
    return wire.Confirmation(
        url=_link(raw, base_url),
        qr_png_url=f"/api/v1/tasks/{task_id}/confirmations/{confirmation_id}/qr.png",
        expires_at=row["expires_at"],
    )


async def qr_png(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    confirmation_id: uuid.UUID,
    base_url: str,
) -> bytes:
    """The QR code of a confirmation link, for the RM to show on their screen. 404
    `confirmation.not_found`; 410 `confirmation.used`, `confirmation.expired` or
    `confirmation.closed` once the link can confirm nothing (its scan would land on a page
    saying so)."""
    await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    raw = _token_of(vault, confirmation_id)
    row = await queries.confirmation(conn, _token_hash(raw))
    if row is None or row["task_id"] != task_id:
        raise NotFound("confirmation")
    state = _state(row)
    if state is LinkState.REPLACED:
        raise ConfirmationExpired(
            "This confirmation link was replaced by a newer one: show the newest QR code"
        )
    if state is not LinkState.OPEN:
        gone = _GONE[state]
        raise gone(f"{gone.title}: ask for a new confirmation if the task still awaits one")
    buffer = io.BytesIO()
    segno.make(_link(raw, base_url), error="m").save(buffer, kind="png", scale=8)
    return buffer.getvalue()


async def open_link(
    conn: Connection, *, token: str, lock: bool = False
) -> tuple[LinkState, queries.Record | None]:
    """What a customer's link stands for now. Opening it changes nothing. The token is found by
    its hash through a unique index: no comparison of secrets that could leak through timing."""
    raw = _token_bytes(token)
    if raw is None:
        return LinkState.INVALID, None
    row = await queries.confirmation(conn, _token_hash(raw), lock=lock)
    if row is None:
        return LinkState.INVALID, None
    return _state(row), row


def _state(row: queries.Record) -> LinkState:
    """What a stored confirmation's link stands for now (the page and the QR code alike)."""
    if row["used_at"] is not None:
        return LinkState.USED
    if row["replaced"]:
        return LinkState.REPLACED
    if row["expired"]:
        return LinkState.EXPIRED
    if row["task_status"] != "awaiting_confirmation":
        return LinkState.CLOSED
    return LinkState.OPEN


async def confirm(
    conn: Connection,
    *,
    vault: Vault,
    row: queries.Record,
    customer_location: wire.Location | None,
    radius_m: float,
    tz: str,
) -> None:
    """The customer confirms: the task is done and the RM is told."""
    distance = far = None
    if customer_location and row["rm_lat"] is not None and row["rm_lng"] is not None:
        distance = round(
            distance_m(row["rm_lat"], row["rm_lng"], customer_location.lat, customer_location.lng),
            1,
        )
        far = distance > radius_m
    await queries.use_confirmation(
        conn,
        row["id"],
        customer_lat=customer_location.lat if customer_location else None,
        customer_lng=customer_location.lng if customer_location else None,
        distance_m=distance,
        far_away=far,
    )
    task = await queries.task_for_update(conn, row["task_id"])
    assert task is not None
    await lifecycle.complete(conn, vault=vault, task=task, tz=tz, confirmed=True)
    body = "客户已扫码确认本次拜访。" + ("（注意：双方位置相距较远）" if far else "")
    await notifications.notify(
        conn,
        user_id=row["assignee_id"],
        category="task.confirmed",
        title="客户已确认拜访",
        body=body,
        dedupe_key=f"confirmation:{row['id']}",
        data={"task_id": str(row["task_id"]), "far_away": bool(far)},
    )

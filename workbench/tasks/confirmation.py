"""Customer QR confirmation of a visit.

The RM asks for a confirmation of a task awaiting it; the server signs a single-purpose link
token (audience `confirmation`, 15 minutes by default) whose id is a confirmation row, and shows
it as a URL and a QR code. The customer's phone opens `/c/{token}`: a masked summary and a
confirm button. Opening never consumes the token; only the confirm does, once. Optionally both
sides' reported locations are recorded and a distance above the configured radius is flagged.
"""

from __future__ import annotations

import enum
import io
import math
import uuid
from datetime import UTC, datetime

import segno

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.ids import uuid7
from workbench.notifications import service as notifications
from workbench.security.tokens import Keyring, LinkKind, TokenError
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, queries


class LinkState(enum.StrEnum):
    OPEN = "open"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    CLOSED = "closed"  # the task is no longer waiting for the customer (cancelled, expired...)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _link(keyring: Keyring, row: queries.Record, base_url: str) -> str:
    remaining = max(int((row["expires_at"] - datetime.now(UTC)).total_seconds()), 1)
    token, _ = keyring.issue_link(
        LinkKind.CONFIRMATION,
        subject=str(row["task_id"]),
        ttl_seconds=remaining,
        token_id=str(row["id"]),
    )
    return f"{base_url.rstrip('/')}/c/{token}"


async def request(
    conn: Connection,
    *,
    keyring: Keyring,
    caller: Caller,
    task_id: uuid.UUID,
    body: wire.ConfirmationRequest,
    ttl_seconds: int,
    base_url: str,
) -> wire.Confirmation:
    """A fresh single-use link for the customer to confirm this visit."""
    task = await lifecycle.visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if task["status"] != "awaiting_confirmation":
        raise lifecycle.IllegalTransition(task["status"], "ask the customer to confirm")
    location = body.location
    row = await queries.insert_confirmation(
        conn,
        fields={
            "id": uuid7(),
            "task_id": task_id,
            "created_by": caller.user_id,
            "ttl": ttl_seconds,
            "rm_lat": location.lat if location else None,
            "rm_lng": location.lng if location else None,
        },
    )
    full = await queries.confirmation(conn, row["id"])
    assert full is not None
    return wire.Confirmation(
        url=_link(keyring, full, base_url),
        qr_png_url=f"/api/v1/tasks/{task_id}/confirmations/{row['id']}/qr.png",
        expires_at=row["expires_at"],
    )


async def qr_png(
    conn: Connection,
    *,
    keyring: Keyring,
    caller: Caller,
    task_id: uuid.UUID,
    confirmation_id: uuid.UUID,
    base_url: str,
) -> bytes:
    """The QR code of a confirmation link, for the RM to show on their screen."""
    await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    row = await queries.confirmation(conn, confirmation_id)
    if row is None or row["task_id"] != task_id:
        raise NotFound("confirmation")
    buffer = io.BytesIO()
    segno.make(_link(keyring, row, base_url), error="m").save(buffer, kind="png", scale=8)
    return buffer.getvalue()


async def open_link(
    conn: Connection, *, keyring: Keyring, token: str, lock: bool = False
) -> tuple[LinkState, queries.Record | None]:
    """What a customer's link stands for now. Opening it changes nothing."""
    try:
        claims = keyring.verify_link(LinkKind.CONFIRMATION, token, allow_expired=True)
        confirmation_id = uuid.UUID(claims.jti)
    except (TokenError, ValueError):
        return LinkState.INVALID, None
    row = await queries.confirmation(conn, confirmation_id, lock=lock)
    if row is None or str(row["task_id"]) != claims.sub:
        return LinkState.INVALID, None
    if row["used_at"] is not None:
        return LinkState.USED, row
    if row["expired"]:
        return LinkState.EXPIRED, row
    if row["task_status"] != "awaiting_confirmation":
        return LinkState.CLOSED, row
    return LinkState.OPEN, row


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

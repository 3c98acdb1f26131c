"""Photos and signatures attached to a task: validated, cleaned and stamped before storage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.customers.views import masked_id_number
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.identity import queries as identity_queries
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, queries
from workbench.tasks.photos import PhotoRejected, Stamp, process_photo

KINDS = ("photo", "signature")


async def upload(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    kind: str,
    raw: bytes,
    tz: str,
    max_bytes: int,
) -> wire.Attachment:
    """Store a photo (watermarked: RM, masked customer, time) or a signature for an open task."""
    task = await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    if task["status"] not in queries.OPEN:
        raise lifecycle.IllegalTransition(task["status"], "attach files to")
    if kind not in KINDS:
        raise PhotoRejected("attachment.bad_kind", "kind must be photo or signature")
    if len(raw) > max_bytes:
        raise PhotoRejected("attachment.too_large", f"at most {max_bytes} bytes")
    customer = "-"
    if task["customer_id"] is not None:
        customer = await masked_id_number(conn, vault=vault, customer_id=task["customer_id"])
    rm = await identity_queries.user_by_id(conn, caller.user_id)
    stamp = Stamp(
        rm=rm["login"] if rm else "-", customer=customer, taken_at=datetime.now(UTC), tz=tz
    )
    photo = await asyncio.to_thread(process_photo, raw, stamp=stamp, signature=kind == "signature")
    attachment_id = uuid7()
    await queries.insert_attachment(
        conn,
        fields={
            "id": attachment_id,
            "task_id": task_id,
            "uploaded_by": caller.user_id,
            "kind": kind,
            "content_type": photo.content_type,
            "byte_size": len(photo.data),
            "width": photo.width,
            "height": photo.height,
            "sha256": photo.sha256,
            "data": photo.data,
        },
    )
    return wire.Attachment(
        id=attachment_id,
        kind=kind,
        content_type=photo.content_type,
        width=photo.width,
        height=photo.height,
        byte_size=len(photo.data),
        sha256=photo.sha256,
    )


async def download(
    conn: Connection, *, caller: Caller, task_id: uuid.UUID, attachment_id: uuid.UUID
) -> tuple[str, bytes]:
    await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    row = await queries.attachment(conn, task_id, attachment_id)
    if row is None:
        raise NotFound("attachment")
    return row["content_type"], bytes(row["data"])

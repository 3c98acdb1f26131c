"""Photos and signatures attached to a task: validated, cleaned and stamped before storage."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.problems import FieldError
from workbench import device_time
from workbench.access import Caller
from workbench.customers.views import masked_id_number
from workbench.db import Connection
from workbench.errors import Conflict, NotFound
from workbench.identity import queries as identity_queries
from workbench.ids import uuid5_for, uuid7
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, queries
from workbench.tasks.photos import PhotoRejected, Stamp, process_photo
from workbench.tasks.queries import Record

KINDS = ("photo", "signature")


class ClientRefReused(Conflict):
    """The app sent other bytes, another kind or another task under a `client_ref` it used
    before."""

    code = "attachment.client_ref_reused"


class Upload(NamedTuple):
    """What the app sent: the file's bytes, its kind, and optionally its id for the upload
    (a retry answers the first upload) and when the photo was taken (ISO 8601 with offset)."""

    raw: bytes
    kind: str = "photo"
    client_ref: uuid.UUID | None = None
    taken_at: str | None = None


def client_ref_for_key(caller: Caller, idempotency_key: str) -> uuid.UUID:
    """The `client_ref` an `Idempotency-Key` header stands for (per uploader)."""
    return uuid5_for(f"attachment-idempotency:{caller.user_id}:{idempotency_key}")


def read_client_ref(value: str | None) -> uuid.UUID | None:
    """The multipart field `client_ref`: a UUID, or left out."""
    if value is None or not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        message = "must be a UUID (the app's id for this upload)"
        raise PhotoRejected(
            "attachment.bad_client_ref", f"client_ref: {message}",
            errors=[FieldError(path="client_ref", message=message)],
        ) from None  # fmt: skip


async def upload(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    sent: Upload,
    tz: str,
    max_bytes: int,
    offline_max_days: int,
) -> tuple[wire.Attachment, bool]:
    """Store a photo (watermarked: RM, masked customer, when it was taken) or a signature for
    an open task; with whether it is new. The same `client_ref` sent again with the same bytes
    for the same task, as the same kind, answers the attachment stored the first time (False),
    whatever the task's state since; with other bytes, another kind or another task, 409."""
    task = await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    source_sha256 = hashlib.sha256(sent.raw).hexdigest()
    if sent.client_ref is not None and (
        earlier := await queries.attachment_by_ref(conn, caller.user_id, sent.client_ref)
    ):
        return _same_upload(earlier, task_id, sent.kind, source_sha256), False
    if task["status"] not in queries.OPEN:
        raise lifecycle.IllegalTransition(task["status"], "attach files to")
    if sent.kind not in KINDS:
        raise PhotoRejected("attachment.bad_kind", "kind must be photo or signature")
    if len(sent.raw) > max_bytes:
        raise PhotoRejected("attachment.too_large", f"at most {max_bytes} bytes")
    customer = "-"
    if task["customer_id"] is not None:
        customer = await masked_id_number(conn, vault=vault, customer_id=task["customer_id"])
    rm = await identity_queries.user_by_id(conn, caller.user_id)
    # A photo of a task is never taken before the task was issued: such a time is a clock
    # set back (or a backdated stamp), and the upload's time stands in for it. Times on the
    # wire are UTC: the first answer says what a replay (read back from the database) says.
    taken_at = (
        device_time.believed(
            device_time.read(sent.taken_at),
            max_days=offline_max_days,
            not_before=task["created_at"],
        )
        or datetime.now(UTC)
    ).astimezone(UTC)
    stamp = Stamp(rm=rm["login"] if rm else "-", customer=customer, taken_at=taken_at, tz=tz)
    signature = sent.kind == "signature"
    photo = await asyncio.to_thread(process_photo, sent.raw, stamp=stamp, signature=signature)
    attachment = wire.Attachment(
        id=uuid7(), kind=sent.kind, content_type=photo.content_type, width=photo.width,
        height=photo.height, byte_size=len(photo.data), sha256=photo.sha256, taken_at=taken_at,
        client_ref=sent.client_ref,
    )  # fmt: skip
    stored = await queries.insert_attachment(
        conn,
        fields={
            "id": attachment.id,
            "task_id": task_id,
            "uploaded_by": caller.user_id,
            "kind": attachment.kind,
            "content_type": attachment.content_type,
            "byte_size": attachment.byte_size,
            "width": attachment.width,
            "height": attachment.height,
            "sha256": attachment.sha256,
            "data": photo.data,
            "client_ref": sent.client_ref,
            "source_sha256": source_sha256,
            "taken_at": taken_at,
        },
    )
    if stored:
        return attachment, True
    # the same ref stored meanwhile by a retry running alongside: the first one stands
    assert sent.client_ref is not None  # only a ref's uniqueness can refuse the insert
    earlier = await queries.attachment_by_ref(conn, caller.user_id, sent.client_ref)
    assert earlier is not None
    return _same_upload(earlier, task_id, sent.kind, source_sha256), False


def _same_upload(
    earlier: Record, task_id: uuid.UUID, kind: str, source_sha256: str
) -> wire.Attachment:
    """The attachment stored under the ref before, if this upload is the same one again: the
    same task, kind and bytes (a signature is not the photo it was first sent as)."""
    if (earlier["task_id"], earlier["kind"], earlier["source_sha256"]) != (
        task_id, kind, source_sha256,
    ):  # fmt: skip
        raise ClientRefReused(
            "client_ref was used for another upload (other bytes, another kind or another "
            "task); make a new one for each photo"
        )
    return wire.Attachment(
        id=earlier["id"], kind=earlier["kind"], content_type=earlier["content_type"],
        width=earlier["width"], height=earlier["height"], byte_size=earlier["byte_size"],
        sha256=earlier["sha256"], taken_at=earlier["taken_at"], client_ref=earlier["client_ref"],
    )  # fmt: skip


async def download(
    conn: Connection, *, caller: Caller, task_id: uuid.UUID, attachment_id: uuid.UUID
) -> tuple[str, bytes]:
    await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    row = await queries.attachment(conn, task_id, attachment_id)
    if row is None:
        raise NotFound("attachment")
    return row["content_type"], bytes(row["data"])

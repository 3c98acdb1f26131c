"""Builders for task-inbox tests: form fields, templates, dispatches, images, uploads.

Everything goes through the real API; the only shortcuts are reading ids back from the database.
"""

from __future__ import annotations

import io
import itertools
import json
import uuid
from datetime import datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from workbench.ids import uuid5_for
from workbench.security.vault import FieldCipher
from workbench.settings import Settings
from workbench.tasks.form_values import values_aad

TEMPLATES = "/api/v1/task-templates"
DISPATCHES = "/api/v1/dispatches"
TASKS = "/api/v1/tasks"

Client = AsyncTestClient[Litestar]
_keys = itertools.count(1)


def unit(key: str) -> uuid.UUID:
    """Id of a demo-bank org unit: 'head-office', 'branch-east', 'team-west-2', ..."""
    return uuid5_for(f"org:{key}")


def user(login: str) -> uuid.UUID:
    """Id of a demo-bank user: 'rm01', 'bh.east', 'admin', ..."""
    return uuid5_for(f"user:{login}")


# ---- forms ---------------------------------------------------------------------------------


def field(key: str, type_: str, *, label: str | None = None, **extra: Any) -> dict[str, Any]:
    """One form field: field("amount", "number", required=True, min=0, max=10)."""
    return {"key": key, "label": label or key.replace("_", " ").title(), "type": type_, **extra}


# One field of every type, none required; bounds chosen so that tests can cross them.
EVERY_TYPE_FIELDS: list[dict[str, Any]] = [
    field("notes", "text", max_length=10),
    field("amount", "number", min=1, max=100),
    field("visit_date", "date"),
    field("outcome", "choice", options=["yes", "no", "later"]),
    field("products", "multi_choice", options=["fund", "bond", "deposit"]),
    field("photos", "photo", max=2),
    field("place", "location"),
    field("signature", "signature"),
    field("referral", "customer"),
]


def form(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"fields": list(fields)}


def template_body(
    *fields: dict[str, Any],
    name: str = "Client visit",
    **extra: Any,
) -> dict[str, Any]:
    """A TemplateCreate body; defaults to one optional text field."""
    return {"name": name, "form": form(*(fields or (field("notes", "text"),))), **extra}


async def create_template(
    client: Client, headers: dict[str, str], *fields: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """POST /task-templates (asserting 200/201); returns the template."""
    response = await client.post(TEMPLATES, json=template_body(*fields, **extra), headers=headers)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


# ---- dispatches ----------------------------------------------------------------------------


async def dispatch(
    client: Client,
    headers: dict[str, str],
    template_id: str | uuid.UUID,
    *,
    title: str = "Visit",
    org_unit: str | None = None,
    customer_ids: list[uuid.UUID] | None = None,
    due_at: datetime | None = None,
    per_rm_cap: int | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """POST /dispatches to an org unit (by demo key) or to customers; returns {id, created, ...}."""
    body: dict[str, Any] = {"template_id": str(template_id), "title": title}
    if org_unit is not None:
        body["org_unit_id"] = str(unit(org_unit))
    if customer_ids is not None:
        body["customer_ids"] = [str(c) for c in customer_ids]
    if due_at is not None:
        body["due_at"] = due_at.isoformat()
    if per_rm_cap is not None:
        body["per_rm_cap"] = per_rm_cap
    response = await client.post(
        DISPATCHES,
        json=body,
        headers={**headers, "Idempotency-Key": key or f"test-dispatch-{next(_keys)}"},
    )
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def issue(
    client: Client,
    db: Any,
    headers: dict[str, str],
    template_id: str | uuid.UUID,
    **dispatch_args: Any,
) -> dict[str, uuid.UUID]:
    """Dispatch a template and give the created tasks as {assignee login: task id}.

    With several tasks for one RM (customer dispatches) use `issue_tasks` instead."""
    tasks = await issue_tasks(client, db, headers, template_id, **dispatch_args)
    by_login: dict[str, uuid.UUID] = {}
    for login, task_id, _ in tasks:
        assert login not in by_login, "several tasks for one RM: use issue_tasks"
        by_login[login] = task_id
    return by_login


async def issue_tasks(
    client: Client,
    db: Any,
    headers: dict[str, str],
    template_id: str | uuid.UUID,
    **dispatch_args: Any,
) -> list[tuple[str, uuid.UUID, uuid.UUID | None]]:
    """Dispatch a template; [(assignee login, task id, customer id)] of the created tasks."""
    result = await dispatch(client, headers, template_id, **dispatch_args)
    rows = await db.fetch(
        "select u.login, t.id, t.customer_id from tasks t join users u on u.id = t.assignee_id"
        " where t.dispatch_id = $1 order by u.login, t.id",
        uuid.UUID(result["id"]),
    )
    assert len(rows) == result["created"]
    return [(r["login"], r["id"], r["customer_id"]) for r in rows]


async def task_state(db: Any, task_id: uuid.UUID) -> dict[str, Any]:
    """What a refused request must not change: the task row and its attachments' count."""
    row = await db.fetchrow(
        "select status, form_values, form_values_enc, started_at, submitted_at, done_at,"
        " cancelled_at, updated_at from tasks where id = $1",
        task_id,
    )
    assert row is not None
    return dict(row)


async def stored_answers(db: Any, settings: Settings, task_id: uuid.UUID) -> Any:
    """A task's answers as stored: none in clear (`form_values`), every one in the ciphertext
    bound to the task (decrypted here); None before it is submitted."""
    row = await db.fetchrow("select form_values, form_values_enc from tasks where id = $1", task_id)
    assert row is not None
    assert row["form_values"] is None
    if row["form_values_enc"] is None:
        return None
    text = FieldCipher(settings.data_keys).decrypt(row["form_values_enc"], aad=values_aad(task_id))
    return json.loads(text)


# ---- images --------------------------------------------------------------------------------


def image_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (640, 480),
    color: tuple[int, int, int] | str = (200, 200, 200),
    **params: Any,
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt, **params)
    return buf.getvalue()


CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


async def upload(
    client: Client,
    headers: dict[str, str],
    task_id: uuid.UUID | str,
    raw: bytes,
    *,
    kind: str = "photo",
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    extra: dict[str, str] | None = None,
) -> Any:
    """POST /tasks/{id}/attachments (multipart; `extra`: more form fields); returns the
    response."""
    return await client.post(
        f"{TASKS}/{task_id}/attachments",
        files={"file": (filename, raw, content_type)},
        data={"kind": kind, **(extra or {})},
        headers=headers,
    )


async def attach(
    client: Client,
    headers: dict[str, str],
    task_id: uuid.UUID | str,
    *,
    kind: str = "photo",
    color: tuple[int, int, int] | str = (200, 200, 200),
) -> str:
    """Upload a small valid image (PNG for signatures, JPEG for photos); returns its id."""
    if kind == "signature":
        raw, name, ctype = image_bytes("PNG", (300, 120), color), "sig.png", "image/png"
    else:
        raw, name, ctype = image_bytes("JPEG", (640, 480), color), "photo.jpg", "image/jpeg"
    response = await upload(
        client, headers, task_id, raw, kind=kind, filename=name, content_type=ctype
    )
    assert response.status_code == 201, response.text
    attachment_id: str = response.json()["id"]
    return attachment_id

"""Task templates: a typed form, SLA, reminders, recurrence, customer confirmation; versioned.

Editing a template writes a new version; every task keeps the version it was issued with, so its
form never changes under the RM's feet.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import Forbidden, NotFound
from workbench.identity import queries as identity_queries
from workbench.identity.staff import visible_name
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.tasks import dispatching, queries
from workbench.tasks.forms import check_form
from workbench.tasks.recurrence import DEFAULT_TZ, BadRecurrence, parse_rule, why_no_period


class TemplateNotEditable(Forbidden):
    """A template the caller sees (owned by a unit above theirs: they may dispatch it) but may
    not change: 403, not 404, since it is no secret to them; the owner's head edits it."""

    code, title = "template.not_editable", "This template is owned by a unit above yours"

    def __init__(self) -> None:
        super().__init__(
            "This template is owned by a unit above yours: you may use it but not change it; "
            "ask that unit's head (or an admin) to edit it"
        )


def to_wire(row: queries.Record) -> wire.Template:
    return wire.Template(
        id=row["id"],
        version=row["version"],
        name=row["name"],
        form=msgspec.convert(row["form"], wire.Form),
        requires_customer_confirmation=row["requires_customer_confirmation"],
        sla_hours=row["sla_hours"],
        reminders=[wire.Reminder(minutes_before_due=m) for m in row["reminders"]],
        recurrence=row["recurrence"],
        owner_unit_id=row["owner_unit_id"],
        created_at=row["created_at"],
    )


VERSIONED = ("name", "form", "requires_customer_confirmation", "sla_hours", "reminders",
             "recurrence")  # fmt: skip
"""What a version of a template holds, in the order audits name what changed."""


def _version_fields(request: wire.TemplateCreate, caller: Caller, *, tz: str) -> dict[str, object]:
    """A version as stored: the name (the title of the tasks event rules create) and the form's
    labels and options trimmed, each refused (422 naming it) if it shows nothing or reads
    otherwise than typed."""
    name = visible_name(request.name, path="$.name")
    form = check_form(request.form)
    return {
        "name": name,
        "form": msgspec.to_builtins(form),
        "requires_customer_confirmation": request.requires_customer_confirmation,
        "sla_hours": request.sla_hours,
        "reminders": sorted({r.minutes_before_due for r in request.reminders}, reverse=True),
        "recurrence": _recurrence(request.recurrence, tz=tz) if request.recurrence else None,
        "created_by": caller.user_id,
    }


def _recurrence(text: str, *, tz: str) -> str:
    """The rule as stored (normalized); a 422 naming `$.recurrence` if it is not a supported
    RRULE, never matches, or has no period left (its UNTIL passed, or its periods outlast the
    horizon of a series): every dispatch of it would fail, so it is refused when saved, like a
    rule that never matches."""
    try:
        rule = parse_rule(text)
    except BadRecurrence as refused:
        message = refused.detail or refused.title
        errors = [FieldError(path="$.recurrence", message=message)]
        raise BadRecurrence(message, errors=errors) from None
    now = datetime.now(UTC)
    if dispatching.series_start(rule, now=now, tz=tz) is None:
        message = why_no_period(rule, at=now, tz=tz)
        raise BadRecurrence(
            f"The rule has no period left: {message}",
            errors=[FieldError(path="$.recurrence", message=message)],
        )
    return rule


async def create(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.TemplateCreate,
    client_ip: str | None = None,
    tz: str = DEFAULT_TZ,
) -> wire.Template:
    """A new template owned by the caller's unit (or a unit inside their scope). `client_ip`:
    the caller's address, for the audit trail (None: no client, e.g. the seed); `tz`: the
    bank's time zone, whose calendar a recurrence runs on."""
    owner = request.owner_unit_id or caller.org_unit_id
    if not await identity_queries.org_unit_in_scope(conn, owner, scope_root=caller.scope_root):
        raise NotFound("org_unit")
    fields = _version_fields(request, caller, tz=tz)
    template_id = uuid7()
    await queries.insert_template(
        conn, template_id=template_id, owner_unit_id=owner, created_by=caller.user_id
    )
    await queries.insert_version(conn, template_id=template_id, version=1, fields=fields)
    await audit.record(
        conn,
        action="task_template.created",
        actor_id=caller.user_id,
        subject=f"task_template:{template_id}",
        client_ip=client_ip,
        detail={"version": 1, "owner_unit_id": str(owner)},
    )
    return await get(conn, caller=caller, template_id=template_id)


async def new_version(
    conn: Connection,
    *,
    caller: Caller,
    template_id: uuid.UUID,
    request: wire.TemplateCreate,
    client_ip: str | None = None,
    tz: str = DEFAULT_TZ,
) -> wire.Template:
    """Edit a template: tasks already issued keep their version (and a recurring series' RMs
    whose units do not see the template keep the version dispatched to them). `tz`: the
    bank's time zone, as for `create`. A template the caller may not see is a 404; one they see
    but that is owned above their subtree is a 403 (`TemplateNotEditable`)."""
    if not await queries.template_editable(conn, template_id, scope_root=caller.scope_root):
        if await _visible(conn, caller=caller, template_id=template_id):
            raise TemplateNotEditable()
        raise NotFound("template")
    fields = _version_fields(request, caller, tz=tz)
    version = await queries.bump_version(conn, template_id)  # locks the template: no edit between
    before = await queries.template_version(conn, template_id, version - 1)
    await queries.insert_version(conn, template_id=template_id, version=version, fields=fields)
    await audit.record(
        conn,
        action="task_template.updated",
        actor_id=caller.user_id,
        subject=f"task_template:{template_id}",
        client_ip=client_ip,
        detail={"version": version, "changed": _changed(before, fields)},
    )
    return await get(conn, caller=caller, template_id=template_id)


def _changed(before: queries.Record | None, fields: dict[str, object]) -> list[str]:
    """The names of what a new version changes from the one before (never the values)."""
    if before is None:
        return list(VERSIONED)
    was = {
        **{k: before[k] for k in VERSIONED},
        "form": msgspec.convert(before["form"], wire.Form),
        "reminders": list(before["reminders"]),
    }
    now = {**fields, "form": msgspec.convert(fields["form"], wire.Form)}
    return [k for k in VERSIONED if was[k] != now[k]]


async def _visible(conn: Connection, *, caller: Caller, template_id: uuid.UUID) -> bool:
    """Whether the caller sees the template (`GET /task-templates/{id}` answers it)."""
    return await queries.template_visible(
        conn, template_id, org_unit_id=caller.org_unit_id, everything=caller.role is Role.ADMIN
    )


async def get(
    conn: Connection, *, caller: Caller, template_id: uuid.UUID, version: int | None = None
) -> wire.Template:
    visible = await _visible(conn, caller=caller, template_id=template_id)
    row = await queries.template_version(conn, template_id, version) if visible else None
    if row is None:
        raise NotFound("template")
    return to_wire(row)


async def list_visible(conn: Connection, *, caller: Caller) -> list[wire.Template]:
    """Templates owned by the caller's unit, its parents (head office), or units below it: all
    of them (the deprecated bare-array answer of `GET /task-templates?array=true`)."""
    rows = await queries.templates_visible_to(
        conn, org_unit_id=caller.org_unit_id, everything=caller.role is Role.ADMIN
    )
    return [to_wire(r) for r in rows]


async def page_visible(
    conn: Connection, *, caller: Caller, cursor: str | None, limit: int
) -> Page[wire.Template]:
    """A page of the templates of `list_visible`, by name then id."""
    after = decode_cursor(cursor, tuple[str, uuid.UUID])
    rows = await queries.templates_visible_to(
        conn, org_unit_id=caller.org_unit_id, everything=caller.role is Role.ADMIN,
        after=after, limit=limit + 1,
    )  # fmt: skip
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=[to_wire(r) for r in rows[:limit]],
        next_cursor=encode_cursor([last["name"], last["id"]]) if last else None,
    )

"""The work-order list (filters: state, overdue, unit, assignee), a work order with its answer and
events, and the forms that move it on through the work-order service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from mobile_contracts.v1 import workorders as wire
from workbench.access import Caller
from workbench.console import Console, once, visible_to
from workbench.console.errors import error_page
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.pagination import decode_cursor, encode_cursor
from workbench.workorders import service
from workbench.workorders.console import queries
from workbench.workorders.console._shared import (
    DONE,
    LIST_PATH,
    MESSAGES,
    ROLES,
    STATE_CHANGED,
    STATE_LABELS,
    STEPS,
    State,
    event_label,
    how_late,
    shown_customer,
    text,
    time_left,
)

PAGE_ROWS = 30
NOTE_MAX = 2000  # characters of a note (the API's `Note`)
# The service's refusals said beside a field of the step form, by code.
FIELD_OF = {
    "work_order.note_required": "note",
    "work_order.root_cause_required": "root_cause",
    "work_order.root_cause_unknown": "root_cause",
}
# The state chips: key -> (label, states shown).
STATE_FILTERS: dict[str, tuple[str, list[str]]] = {
    "active": ("未完成", ["open", "in_progress"]),
    "open": ("待处理", ["open"]),
    "in_progress": ("处理中", ["in_progress"]),
    "resolved": ("已解决", ["resolved"]),
    "closed": ("已关闭", ["closed"]),
    "all": ("全部", ["open", "in_progress", "resolved", "closed"]),
}


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _scope_root(caller: Caller) -> uuid.UUID | None:
    return caller.scope_root


@get(LIST_PATH.removeprefix("/console"), opt=visible_to(*ROLES), name="console:work-orders")
async def work_order_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    state_filter: Annotated[str | None, QueryParameter(name="state", max_length=20)] = None,
    overdue: FromQuery[str | None] = None,
    unit: FromQuery[str | None] = None,
    assignee: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """Work orders of the caller's subtree (an admin: all), soonest due first, filtered."""
    now = datetime.now(UTC)
    chosen = state_filter if state_filter in STATE_FILTERS else "active"
    only_overdue = overdue == "1"
    root = _scope_root(caller)
    units = await queries.units(db, root)
    people = await queries.assignees(db, root)
    unit_id = _uuid(unit)
    if unit and unit_id not in {u["id"] for u in units}:
        return _unit_not_found(request)  # not a unit, or not one of the caller's subtree
    assignee_id = _uuid(assignee) if _uuid(assignee) in {p["id"] for p in people} else None
    try:
        after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    except DomainError:
        after = None  # a cursor mangled in the address bar: the first page
    found = await queries.work_order_page(
        db, user_id=caller.user_id, scope_root=root, states=STATE_FILTERS[chosen][1],
        overdue_at=now if only_overdue else None, unit_id=unit_id, assignee_id=assignee_id,
        after=after, limit=PAGE_ROWS + 1,
    )  # fmt: skip
    more, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
    rows = await service.rows_by_id(
        db, vault=request.app.state.vault, caller=caller,
        work_order_ids=[r["id"] for r in found], now=now,
    )  # fmt: skip
    by_id = {r.id: r for r in rows}
    unit_names = {u["id"]: u["name"] for u in units}
    filters = {
        "state": chosen,
        "overdue": "1" if only_overdue else "",
        "unit": str(unit_id or ""),
        "assignee": str(assignee_id or ""),
    }
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    next_url = None
    if more:
        last = found[-1]
        next_url = f"{LIST_PATH}?{query}&cursor={encode_cursor([last['due_at'], last['id']])}"
    return console.render(
        "workorders/list.html",
        {
            "items": [_item(by_id[r["id"]], unit_names, now) for r in found if r["id"] in by_id],
            "filters": filters,
            "state_chips": [
                {
                    "label": label,
                    "href": f"{LIST_PATH}?"
                    + "&".join(f"{k}={v}" for k, v in {**filters, "state": key}.items() if v),
                    "current": key == chosen,
                }
                for key, (label, _) in STATE_FILTERS.items()
            ],
            "units": [
                {"id": str(u["id"]), "name": u["name"], "depth": _depth(u["path"], units)}
                for u in units
            ],
            "people": [{"id": str(p["id"]), "name": p["name"]} for p in people],
            "filtered": bool(only_overdue or unit_id or assignee_id or chosen != "active"),
            "next_url": next_url,
            "first_url": f"{LIST_PATH}?{query}" if after else None,
        },
    )


def _unit_not_found(request: Request[Any, Any, Any]) -> Response[Any]:
    return error_page(
        request,
        404,
        title="机构不存在",
        text="没有这个机构，或它不在您的管辖范围内。请从工单列表的机构筛选中选择。",
        code="org_unit.not_found",
    )


def _depth(path: str, units: list[Any]) -> int:
    top: int = min(u["path"].count("/") for u in units)
    return path.count("/") - top


def _item(row: wire.WorkOrderRow, unit_names: dict[uuid.UUID, str], now: datetime) -> Any:
    return {
        "row": row,
        "who": shown_customer(row.customer, row.customer_id is not None),
        "state_label": STATE_LABELS[row.state],
        "unit": unit_names.get(row.org_unit_id, ""),
        "late": how_late(row.due_at, now) if row.overdue else "",
        "left": time_left(row.due_at, now)
        if row.state in (State.OPEN, State.IN_PROGRESS) and not row.overdue
        else "",
    }


# ---- a work order ------------------------------------------------------------------------------


@get(
    LIST_PATH.removeprefix("/console") + "/{work_order_id:uuid}",
    opt=visible_to(*ROLES),
    name="console:work-order",
)
async def work_order_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    work_order_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """A work order: the answer that opened it, what happened since, and the next steps."""
    return await _detail(request, db, caller, console, work_order_id)


async def _detail(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    work_order_id: uuid.UUID,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    """The page; `sent`: the step form as it was sent, `errors` why, by field (said beside
    it), `error` a refusal of no field in particular (said above the page)."""
    now = datetime.now(UTC)
    order = await service.detail(
        db, vault=request.app.state.vault, caller=caller, work_order_id=work_order_id, now=now
    )
    causes = await service.root_causes(db, include_inactive=True)
    labels = {c.code: c.label for c in causes}
    return console.render(
        "workorders/detail.html",
        {
            "o": order,
            "who": shown_customer(order.customer, order.customer_id is not None)
            if order.customer_id
            else order.respondent or "员工",
            "state_label": STATE_LABELS[order.state],
            "late": how_late(order.due_at, now) if order.overdue else "",
            "left": time_left(order.due_at, now)
            if order.state in (State.OPEN, State.IN_PROGRESS) and not order.overdue
            else "",
            "steps": [
                {"to": to.value, "label": label, "kind": kind}
                for to, label, kind in STEPS[order.state]
            ],
            "causes": [c for c in causes if c.active],
            "cause_labels": labels,
            "cause_label": service.root_cause_label,
            "events": [_event(e, labels) for e in reversed(order.events)],
            "error": error,
            "errors": errors or {},
            "sent": sent or {},
        },
        status=status,
    )


def _event(event: wire.WorkOrderEvent, causes: dict[str, str]) -> dict[str, Any]:
    if event.kind == "transition" and event.to_state is not None:
        what = f"{STATE_LABELS.get(event.from_state, '') if event.from_state else ''} → " \
               f"{STATE_LABELS[event.to_state]}"  # fmt: skip
    elif event.kind == "escalated":
        what = f"逾期升级至第 {event.data.get('level', '?')} 级"
    else:
        what = event_label(event.kind, event.data)
    return {
        "e": event,
        "what": what,
        "who": event.actor or "系统",
        "cause": service.root_cause_label(event.root_cause, causes)
        if event.kind == "transition" and event.to_state is State.CLOSED
        else None,
    }


@post(
    LIST_PATH.removeprefix("/console") + "/{work_order_id:uuid}/transition",
    opt=visible_to(*ROLES, acts_once=True),
    name="console:work-order-transition",
)
async def move_work_order(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    work_order_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Move the work order on with a note (the service's transition, in a savepoint); the form
    sent again records nothing (409), nor one drawn in another state than the work order is in
    now (`from`: a stale tab never reopens a resolved one; 409, the note kept)."""
    form = await request.form()
    sent = {name: text(form, name) for name in ("to", "root_cause", "from")}
    typed = form.get("note")
    sent["note"] = text(form, "note", limit=len(typed) if isinstance(typed, str) else 0)  # whole
    errors: dict[str, str] = {}
    if not sent["note"]:
        errors["note"] = MESSAGES["work_order.note_required"]
    elif len(sent["note"]) > NOTE_MAX:
        errors["note"] = f"处理说明最多 {NOTE_MAX} 字，请删减后再提交。"
    try:
        step = msgspec.convert(
            {
                "to": sent["to"],
                "note": sent["note"],
                "root_cause": sent["root_cause"] or None,
                "from": sent["from"] or None,
            },  # none: a page drawn before forms named it
            wire.WorkOrderTransition,
        )
    except msgspec.ValidationError:
        if not errors:  # not the note: a step or a cause no page offers
            return await _detail(request, db, caller, console, work_order_id, sent=sent,
                                 error="请选择下一步操作。", status=422)  # fmt: skip
    if errors:
        return await _detail(request, db, caller, console, work_order_id, errors=errors,
                             sent=sent, status=422)  # fmt: skip
    page = f"{LIST_PATH}/{work_order_id}"
    claim = await once.claim(request, form, db, back=page)
    try:
        async with claim, db.transaction():  # a refusal lets the form's token go
            await service.transition(
                db, vault=request.app.state.vault, caller=caller, work_order_id=work_order_id,
                to=step.to, note=step.note, root_cause=step.root_cause, require_root_cause=True,
                expected_state=step.from_,
                client_ip=request_ip(request),
            )  # fmt: skip
            claim.made(page)
    except NotFound:
        raise
    except service.StateChanged as exc:  # the page again in the state it is in, the note kept
        now = STATE_LABELS.get(State(exc.extra["current_status"]), "")
        kept = {"note": sent["note"]}  # not the step: it was chosen for another state
        return await _detail(request, db, caller, console, work_order_id, sent=kept,
                             error=STATE_CHANGED.format(state=now), status=exc.status)  # fmt: skip
    except DomainError as exc:
        field = FIELD_OF.get(exc.code)
        message = MESSAGES.get(exc.code, "操作未完成，请查看工单的最新状态后重试。")
        if field is not None:
            return await _detail(request, db, caller, console, work_order_id,
                                 errors={field: message}, sent=sent, status=exc.status)  # fmt: skip
        return await _detail(request, db, caller, console, work_order_id, error=message,
                             sent=sent, status=exc.status)  # fmt: skip
    return console.redirect(page, flash=DONE[step.to.value])

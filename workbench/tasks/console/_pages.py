"""The team-task page: a branch head's open tasks of their subtree (filters: RM, overdue; soonest
due first, overdue ones marked as the work-order list marks them) and the form that hands a
pending or started one to another RM through the reassign service, with the API's checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from workbench.access import Caller
from workbench.console import Console, nav, once, visible_to
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import masked_for
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import UNREADABLE
from workbench.tasks import reassign
from workbench.tasks.console import queries
from workbench.workorders.console._shared import how_late, time_left

LIST_PATH = "/console/tasks"
ROLES = nav.TEAM_TASKS.roles
PAGE_ROWS = 30
HIDDEN_CUSTOMER = "客户（姓名已隐藏）"
STATUS_LABELS = {
    "pending": "待开始",
    "in_progress": "进行中",
    "submitted": "已提交",
    "awaiting_confirmation": "待客户确认",
}
# What a refusal of the reassign service says beside the form, by its code.
REFUSALS = {
    "task.customer_not_theirs": (
        "这项任务关联的客户属于其他客户经理，只能转派给该客户现在的主管客户经理。"
    ),
    "task.period_taken": "该客户经理已有这个周期的同一项任务，不能再转派给他。",
    "task.assignee_not_active_rm": "只能转派给在岗的客户经理：所选人员已停用或不是客户经理。",
    "task.reassigned_meanwhile": "这项任务在本页打开后已转派给其他客户经理（可能在另一个窗口），"
    "请查看列表中的最新情况后再操作。",
    "task.illegal_transition": "任务状态已变化（已提交或已结束），不能再转派。",
    "user.not_found": "所选客户经理不在您的管辖范围内，请重新选择。",
}
NO_CHOICE = "请选择要转派给的客户经理。"


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class _Filters:
    """The list's filters as the page was asked for them (an RM outside the subtree: none)."""

    def __init__(self, rm: str | None, overdue: str | None, cursor: str | None) -> None:
        self.rm, self.overdue, self.cursor = _uuid(rm), overdue == "1", cursor or None

    def query(self, *, cursor: bool = True) -> str:
        fields = {"rm": str(self.rm or ""), "overdue": "1" if self.overdue else ""}
        if cursor:
            fields["cursor"] = self.cursor or ""
        return urlencode({k: v for k, v in fields.items() if v})

    def url(self, *, cursor: bool = True) -> str:
        query = self.query(cursor=cursor)
        return f"{LIST_PATH}?{query}" if query else LIST_PATH


@get(LIST_PATH.removeprefix("/console"), opt=visible_to(*ROLES), name="console:tasks")
async def task_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    rm: FromQuery[str | None] = None,
    overdue: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """Open tasks of the head's subtree, soonest due first, by RM and overdue."""
    return await _list(request, db, caller, console, _Filters(rm, overdue, cursor))


async def _list(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    filters: _Filters,
    *,
    refused: tuple[uuid.UUID, str] | None = None,
    chosen: str = "",
    status: int = 200,
) -> Response[Any]:
    """The page; `refused`: the task whose 转派 was refused and why (said beside its form),
    `chosen` the RM that form had."""
    now = datetime.now(UTC)
    root = caller.org_unit_id
    rms = await queries.team_rms(db, root)
    if filters.rm not in {r["id"] for r in rms}:
        filters.rm = None
    try:
        after = decode_cursor(filters.cursor, tuple[datetime | None, uuid.UUID])
    except DomainError:
        after, filters.cursor = None, None  # a cursor mangled in the address bar: the first page
    found = await queries.open_tasks(
        db, root=root, rm_id=filters.rm, overdue_at=now if filters.overdue else None,
        after=after, limit=PAGE_ROWS + 1,
    )  # fmt: skip
    more, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
    next_url = None
    if more:
        last = found[-1]
        key = encode_cursor([last["due_at"], last["id"]])
        query = filters.query(cursor=False)
        next_url = f"{LIST_PATH}?{query + '&' if query else ''}{urlencode({'cursor': key})}"
    tz = ZoneInfo(request.app.state.settings.bank_timezone)
    vault = request.app.state.vault
    return console.render(
        "tasks/list.html",
        {
            "items": [_item(r, caller, vault, now, tz) for r in found],
            "rms": [{"id": str(r["id"]), "name": r["name"], "active": r["active"]} for r in rms],
            "filters": {"rm": str(filters.rm or ""), "overdue": filters.overdue},
            "cursor": filters.cursor if after else "",
            "filtered": bool(filters.rm or filters.overdue),
            "refused_id": str(refused[0]) if refused else "",
            "refusal": refused[1] if refused else "",
            "refused_listed": refused is not None and refused[0] in {r["id"] for r in found},
            "chosen": chosen,
            "next_url": next_url,
            "first_url": filters.url(cursor=False) if after else None,
        },
        status=status,
    )


def _item(row: Any, caller: Caller, vault: Any, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    due = row["due_at"]
    late = how_late(due, now) if due is not None and row["overdue"] else ""
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "status": row["status"],
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "rm": row["assignee"],
        "rm_active": row["assignee_active"],
        "rm_id": str(row["assignee_id"]),
        "customer": _customer(row, caller, vault),
        "due": due,
        "due_format": "%m-%d %H:%M"
        if due is None or due.astimezone(tz).year == now.astimezone(tz).year
        else "%Y-%m-%d %H:%M",
        "late": late,
        "left": time_left(due, now) if due is not None and not late else "",
        "reassignable": row["status"] in reassign.REASSIGNABLE,
        # A task about a customer goes only to the customer's RM now: offered them alone when
        # they are another, else nobody (it follows the customer when the bank's feed moves it).
        "only_to": str(row["customer_owner"])
        if row["customer_id"] is not None and row["customer_owner"] != row["assignee_id"]
        else "",
        "follows_customer": row["customer_id"] is not None
        and row["customer_owner"] == row["assignee_id"],
    }


def _customer(row: Any, caller: Caller, vault: Any) -> str:
    """The task's customer as the API's customer view masks them for the head ("" for a task
    about no customer); one the head may not see (owned outside their subtree) hidden."""
    if row["customer_id"] is None:
        return ""
    if not row["customer_shown"] or row["name_enc"] is None:
        return HIDDEN_CUSTOMER
    name = vault.cipher.decrypt_or_none(
        row["name_enc"],
        aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc",
        row=row["customer_id"],
    )
    if name is None:
        return str(UNREADABLE)
    masked = masked_for(caller.role, name=name, phone="", id_number="")[0]
    return masked if masked and set(masked) != {"*"} else HIDDEN_CUSTOMER


@post(
    LIST_PATH.removeprefix("/console") + "/{task_id:uuid}/reassign",
    opt=visible_to(*ROLES, acts_once=True),
    name="console:task-reassign",
)
async def reassign_task(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    task_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Hand the task to the chosen RM (the reassign service, in a savepoint); back to the list
    with who has it now. A refusal is said beside the task's form, the list kept and nothing
    changed; the form sent again hands nothing over (409)."""
    form = await request.form()
    filters = _Filters(_field(form, "rm"), _field(form, "overdue"), _field(form, "cursor"))
    chosen = _field(form, "assignee")
    assignee_id = _uuid(chosen)
    if assignee_id is None:
        return await _list(request, db, caller, console, filters,
                           refused=(task_id, NO_CHOICE), status=422)  # fmt: skip
    back = filters.url()
    claim = await once.claim(request, form, db, back=back)
    try:
        async with claim, db.transaction():  # a refusal lets the form's token go
            await reassign.reassign(
                db, vault=request.app.state.vault, caller=caller, task_id=task_id,
                assignee_id=assignee_id,
                tz=request.app.state.settings.bank_timezone,
                client_ip=request_ip(request),
                expected_assignee_id=_uuid(_field(form, "from")),
            )  # fmt: skip
            claim.made(back)
    except DomainError as exc:
        if exc.code == "task.not_found":
            raise  # not a task of the head's subtree: the 404 page
        message = REFUSALS.get(exc.code, "转派未完成，请刷新列表查看任务的最新状态后重试。")
        return await _list(request, db, caller, console, filters, refused=(task_id, message),
                           chosen=chosen or "", status=exc.status)  # fmt: skip
    rms = {r["id"]: r["name"] for r in await queries.team_rms(db, caller.org_unit_id)}
    return console.redirect(back, flash=f"已转派给 {rms.get(assignee_id, '')}")


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip()[:200] if isinstance(value, str) else None

"""The dashboard's tables for exports (registered with `workbench.exports.tables`).

Each table's rows are the dashboard's own numbers (`workbench.dashboard.numbers`) for the
request's view, so a download always equals the page; `tasks` (every task of the subtree created
in the period, up to millions, cancelled ones too: its count is the rollups' assigned +
cancelled) is read in keyset pages, RM by RM, never all at once, and
`low_scores` (every low score of the period, however many: the page lists the newest) in keyset
pages of responses. Rates are exact fractions (done / assigned), which the XLSX shows with a
`0.0%` format in the same digits as the page and the PDF (`workbench.dashboard.figures`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from workbench.dashboard import figures, numbers, queries
from workbench.dashboard.console import FUNNEL_STEPS
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.exports.tables import Column, ExportRequest, Table, register
from workbench.security.vault import Vault

TASK_PAGE = 2000
MANY = 1_000_000  # "all" for the lists that are small by nature (one RM's shares, open orders)

STATUS = {
    "pending": "待处理",
    "in_progress": "进行中",
    "submitted": "已提交",
    "awaiting_confirmation": "待确认",
    "done": "已完成",
    "cancelled": "已取消",
    "expired": "已过期",
}
WORK_ORDER_STATE = {
    "open": "待处理",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
}
SCALE = {"nps": "NPS（0-10）", "rating": "评分（1-5）"}
CHANNEL = {"wechat": "微信", "sms": "短信", "qr": "二维码", "link": "链接"}


def yes_no(value: bool) -> str:
    return "是" if value else "否"


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def rm_param(request: ExportRequest) -> uuid.UUID:
    """The `rm` filter of a one-RM table (NotFound when missing or not an id)."""
    try:
        return uuid.UUID(request.params.get("rm", ""))
    except ValueError:
        raise NotFound("rm") from None


# ---- rm_progress -----------------------------------------------------------------------------


def rm_progress_row(r: numbers.RmRow) -> tuple[Any, ...]:
    return (
        r.rank, str(r.rm_id), r.name, r.unit_name, r.assigned, r.done, r.overdue,
        r.shown_rate,
    )  # fmt: skip


async def _rm_progress_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return len(await queries.rm_ids(conn, root=request.view.org_unit_id))


async def _rm_progress_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for r in await numbers.rm_progress(conn, request.view):
        yield rm_progress_row(r)


RM_PROGRESS = register(
    Table(
        key="rm_progress",
        title="客户经理任务完成",
        columns=(
            Column("rank", "排名"),
            Column("rm_id", "客户经理编号"),
            Column("name", "客户经理"),
            Column("unit_name", "所属团队"),
            Column("assigned", "分配任务"),
            Column("done", "已完成"),
            Column("overdue", "逾期"),
            Column("completion_rate", "完成率", rate=True),
        ),
        count=_rm_progress_count,
        rows=_rm_progress_rows,
    )
)


# ---- teams -----------------------------------------------------------------------------------


def team_row(r: numbers.TeamRow) -> tuple[Any, ...]:
    return (
        r.rank, str(r.org_unit_id), r.name, r.rms, r.assigned, r.done, r.overdue,
        r.shown_rate,
    )  # fmt: skip


async def _teams_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return len(await queries.children(conn, request.view.org_unit_id))


async def _teams_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for r in await numbers.teams(conn, request.view):
        yield team_row(r)


TEAMS = register(
    Table(
        key="teams",
        title="团队任务完成",
        columns=(
            Column("rank", "排名"),
            Column("org_unit_id", "团队编号"),
            Column("name", "团队"),
            Column("rms", "客户经理人数"),
            Column("assigned", "分配任务"),
            Column("done", "已完成"),
            Column("overdue", "逾期"),
            Column("completion_rate", "完成率", rate=True),
        ),
        count=_teams_count,
        rows=_teams_rows,
    )
)


# ---- weekly_trend ----------------------------------------------------------------------------


def week_row(r: numbers.WeekPoint) -> tuple[Any, ...]:
    """One week; 部分周 是 for a week the period cuts (the dashboard's `*`): its numbers are of
    the period's days of it only."""
    return (r.week_start, r.assigned, r.done, r.shown_rate, yes_no(r.partial))


async def _weekly_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    v = request.view
    return len(numbers.week_starts(v.first_day, v.end_day))


async def _weekly_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for r in await numbers.weekly_trend(conn, request.view):
        yield week_row(r)


WEEKLY_TREND = register(
    Table(
        key="weekly_trend",
        title="每周任务完成趋势",
        columns=(
            Column("week_start", "周（周一）"),
            Column("assigned", "分配任务"),
            Column("done", "已完成"),
            Column("completion_rate", "完成率", rate=True),
            Column("partial", "部分周"),  # last: the columns before it are as they always were
        ),
        count=_weekly_count,
        rows=_weekly_rows,
    )
)


# ---- share_funnel ----------------------------------------------------------------------------


def funnel_row(r: Any) -> tuple[Any, ...]:
    """One RM's funnel: the steps in the dashboard's order (`FUNNEL_STEPS`, the columns' too)."""
    steps = (getattr(r, key) for key, _ in FUNNEL_STEPS)
    return (
        str(r.key), r.label, *steps, r.visitors, r.conversions,
        figures.fraction(r.converted, r.shared),
    )  # fmt: skip


async def _funnel_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return (await numbers.share_funnel(conn, request.caller, request.view)).total_groups


async def _funnel_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for r in (await numbers.share_funnel(conn, request.caller, request.view)).rows:
        yield funnel_row(r)


SHARE_FUNNEL = register(
    Table(
        key="share_funnel",
        title="分享转化漏斗",
        columns=(
            Column("rm_id", "客户经理编号"),
            Column("name", "客户经理"),
            # The steps as the dashboard (and the monthly report) name them.
            *(Column(key, label) for key, label in FUNNEL_STEPS),
            Column("visitors", "访客"),
            Column("conversions", "转化次数"),
            Column("conversion_rate", "转化率", rate=True),
        ),
        count=_funnel_count,
        rows=_funnel_rows,
    )
)


# ---- low_scores ------------------------------------------------------------------------------


def low_score_row(r: numbers.LowScore) -> tuple[Any, ...]:
    return (
        r.answered_at, r.survey_title, r.question_label, r.score, SCALE.get(r.scale, r.scale),
        r.customer, r.rm_name, _id(r.work_order_id),
    )  # fmt: skip


async def _low_scores_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    """Every low score of the period (an indexed count): a large period goes to the worker."""
    return await numbers.low_score_count(conn, request.view)


async def _low_scores_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    async for r in numbers.all_low_scores(conn, vault, request.caller, request.view):
        yield low_score_row(r)


LOW_SCORES = register(
    Table(
        key="low_scores",
        title="低分评价",
        columns=(
            Column("answered_at", "回答时间"),
            Column("survey_title", "问卷"),
            Column("question_label", "题目"),
            Column("score", "分数"),
            Column("scale", "量表"),
            Column("customer", "客户"),
            Column("rm_name", "客户经理"),
            Column("work_order_id", "工单编号"),
        ),
        count=_low_scores_count,
        rows=_low_scores_rows,
    )
)


# ---- work_orders -----------------------------------------------------------------------------


def work_order_row(r: numbers.WorkOrderRow) -> tuple[Any, ...]:
    return (
        str(r.work_order_id), WORK_ORDER_STATE.get(r.state, r.state), r.created_at, r.due_at,
        yes_no(r.overdue), r.assignee_name, r.customer, r.survey_title,
    )  # fmt: skip


async def _work_orders_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return (await numbers.work_order_counts(conn, request.view)).open


async def _work_orders_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    rm_id = rm_param(request) if "rm" in request.params else None
    if rm_id is not None:
        await numbers.rm_in_view(conn, request.view, rm_id)
    for r in await numbers.work_orders(
        conn, vault, request.caller, request.view, rm_id=rm_id, limit=MANY
    ):
        yield work_order_row(r)


WORK_ORDERS = register(
    Table(
        key="work_orders",
        title="未结工单",
        columns=(
            Column("work_order_id", "工单编号"),
            Column("state", "状态"),
            Column("created_at", "创建时间"),
            Column("due_at", "到期时间"),
            Column("overdue", "是否逾期"),
            Column("assignee_name", "处理人"),
            Column("customer", "客户"),
            Column("survey_title", "问卷"),
        ),
        count=_work_orders_count,
        rows=_work_orders_rows,
    )
)


# ---- tasks (one RM's, and the whole subtree's) -----------------------------------------------

TASK_COLUMNS = (
    Column("task_id", "任务编号"),
    Column("title", "任务"),
    Column("status", "状态"),
    Column("customer", "客户"),
    Column("created_at", "创建时间"),
    Column("due_at", "截止时间"),
    Column("done_at", "完成时间"),
    Column("overdue", "是否逾期"),
    Column("assignee_name", "客户经理"),
)


def task_row(r: numbers.TaskRow) -> tuple[Any, ...]:
    return (
        str(r.task_id), r.title, STATUS.get(r.status, r.status), r.customer, r.created_at,
        r.due_at, r.done_at, yes_no(r.overdue), r.assignee_name,
    )  # fmt: skip


async def _tasks_of(
    conn: Connection, vault: Vault, request: ExportRequest, rm_id: uuid.UUID
) -> AsyncIterator[tuple[Any, ...]]:
    """The RM's tasks created in the view's period, oldest first, in keyset pages."""
    v = request.view
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        page = await queries.tasks_page(
            conn, root=v.org_unit_id, rm_id=rm_id, start=v.start, end=v.end, after=after,
            limit=TASK_PAGE,
        )  # fmt: skip
        for r in page:
            yield task_row(numbers.task_row(vault, request.caller, r))
        if len(page) < TASK_PAGE:
            return
        after = (page[-1]["created_at"], page[-1]["id"])


async def _listed(conn: Connection, request: ExportRequest, rm_id: uuid.UUID | None) -> int:
    """The tasks the export lists: every task of the period, the cancelled ones too (assigned
    counts those not cancelled), from the rollups."""
    v = request.view
    rows = await queries.rm_counts(conn, root=v.org_unit_id, start=v.start, end=v.end)
    return sum(
        int(r["assigned"]) + int(r["cancelled"])
        for r in rows
        if rm_id is None or r["rm_id"] == rm_id
    )


async def _rm_tasks_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    rm_id = rm_param(request)
    await numbers.rm_in_view(conn, request.view, rm_id)
    return await _listed(conn, request, rm_id)


async def _rm_tasks_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    rm_id = rm_param(request)
    await numbers.rm_in_view(conn, request.view, rm_id)
    async for row in _tasks_of(conn, vault, request, rm_id):
        yield row


RM_TASKS = register(
    Table(
        key="rm_tasks",
        title="客户经理任务明细",
        columns=TASK_COLUMNS,
        count=_rm_tasks_count,
        rows=_rm_tasks_rows,
    )
)


async def _tasks_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return await _listed(conn, request, None)


async def _tasks_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for rm in await queries.rm_ids(conn, root=request.view.org_unit_id):
        async for row in _tasks_of(conn, vault, request, rm["id"]):
            yield row


TASKS = register(
    Table(
        key="tasks",
        title="任务明细",
        columns=TASK_COLUMNS,
        count=_tasks_count,
        rows=_tasks_rows,
    )
)


# ---- rm_shares -------------------------------------------------------------------------------


def share_row(r: numbers.ShareRow) -> tuple[Any, ...]:
    return (
        str(r.share_id), r.brochure_title, CHANNEL.get(r.channel, r.channel), r.customer,
        r.created_at, r.opens, r.visitors, r.dwell_seconds, r.clicks, r.converted,
    )  # fmt: skip


async def _rm_shares(conn: Connection, vault: Vault, request: ExportRequest) -> list[Any]:
    return await numbers.rm_shares(
        conn, vault, request.caller, request.view, rm_param(request), limit=MANY
    )


async def _rm_shares_count(conn: Connection, vault: Vault, request: ExportRequest) -> int:
    return len(await _rm_shares(conn, vault, request))


async def _rm_shares_rows(
    conn: Connection, vault: Vault, request: ExportRequest
) -> AsyncIterator[tuple[Any, ...]]:
    for r in await _rm_shares(conn, vault, request):
        yield share_row(r)


RM_SHARES = register(
    Table(
        key="rm_shares",
        title="客户经理分享明细",
        columns=(
            Column("share_id", "分享编号"),
            Column("brochure_title", "资料"),
            Column("channel", "渠道"),
            Column("customer", "客户"),
            Column("created_at", "分享时间"),
            Column("opens", "打开"),
            Column("visitors", "访客"),
            Column("dwell_seconds", "停留秒数"),
            Column("clicks", "点击"),
            Column("converted", "转化次数"),
        ),
        count=_rm_shares_count,
        rows=_rm_shares_rows,
    )
)

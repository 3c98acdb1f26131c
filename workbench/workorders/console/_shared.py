"""Words and small helpers the work-order console pages share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mobile_contracts.v1 import workorders as wire
from workbench.console import nav
from workbench.visible import shows_something
from workbench.workorders import handover

LIST_PATH = "/console/work-orders"
ROLES = nav.WORK_ORDERS.roles
State = wire.WorkOrderState

# The flash after a step, by the state reached.
DONE = {
    "in_progress": "工单已进入处理中。",
    "resolved": "工单已标记为已解决。",
    "closed": "工单已关闭。",
}
STATE_LABELS = {
    State.OPEN: "待处理",
    State.IN_PROGRESS: "处理中",
    State.RESOLVED: "已解决",
    State.CLOSED: "已关闭",
}
# The steps a handler can take from each state (the service checks them again).
STEPS: dict[State, list[tuple[State, str, str]]] = {
    State.OPEN: [(State.IN_PROGRESS, "开始处理", "primary")],
    State.IN_PROGRESS: [(State.RESOLVED, "标记为已解决", "approve")],
    State.RESOLVED: [
        (State.CLOSED, "关闭工单", "primary"),
        (State.IN_PROGRESS, "重新处理", "quiet"),
    ],
    State.CLOSED: [],
}
OP_LABELS = {
    wire.RuleOp.LTE: "≤",
    wire.RuleOp.GTE: "≥",
    wire.RuleOp.EQ: "等于",
    wire.RuleOp.CONTAINS: "包含",
}
ASSIGN_LABELS = {
    wire.AssignTo.OWNER_RM: "客户的主管客户经理",
    wire.AssignTo.BRANCH_HEAD: "支行负责人",
}
SLA_LABELS = {wire.SlaKind.HOURS: "自然小时", wire.SlaKind.BUSINESS_HOURS: "工作小时"}
EVENT_LABELS = {
    "opened": "预警规则生成工单",
    "transition": "状态变更",
    "escalated": "逾期升级",
}
# A `handed_over` event by why the work order went (`data.reason`, see `handover`), so that a
# handler reading its history is not told a customer moved when their RM or branch head did.
HANDED_OVER_LABELS = {
    handover.CUSTOMER_MOVED: "客户转至新的客户经理，工单随之转交",
    handover.RM_MOVED: "客户经理调至新的机构，工单随之转交",
    handover.BRANCH_HEAD_LEFT: "原负责人已调离，工单转交现任负责人",
    handover.UNIT_MOVED: "所属机构调整，工单转交现任负责人",
}

# A step chosen on a page drawn in another state than the work order is in now (`from`).
STATE_CHANGED = "工单状态已变化（现为「{state}」），请查看后再操作。填写的处理说明已保留。"
# What a refusal of the service says on the page, by its code.
MESSAGES = {
    "work_order.transition_invalid": "工单状态已变化，不能执行这一步。页面已显示最新状态。",
    "work_order.root_cause_required": "关闭工单需要选择根本原因。",
    "work_order.note_required": "请填写处理说明。",
    "work_order.root_cause_unknown": "所选根本原因已停用或不存在，请重新选择。",
    "alert_rule.question_unknown": "该问卷最新发布的版本中没有这道题。",
    "alert_rule.condition_invalid": (
        "条件与题型不符：评分题填数字，选择题选一个选项，文本题填关键词。"
    ),
    "alert_rule.inactive": "规则已停用，启用后才能应用到历史回答。",
    "work_order.root_cause_exists": (
        "代码已存在，未添加：要修改这个原因的名称或启用状态，请在上面的列表里修改。"
    ),
    "survey.not_found": "没有这份问卷，或它尚未发布。",
}


def event_label(kind: str, data: Mapping[str, object]) -> str:
    """What the page calls an event of `kind` (an unknown kind by its name). A `handed_over`
    one says why by its `data.reason`; one with no reason known here (those recorded before
    staff moves handed work orders over, when a customer's move was the only reason) says the
    customer moved."""
    if kind != handover.EVENT_KIND:
        return EVENT_LABELS.get(kind, kind)
    reason = data.get("reason")
    known = HANDED_OVER_LABELS.get(reason) if isinstance(reason, str) else None
    return known or HANDED_OVER_LABELS[handover.CUSTOMER_MOVED]


def how_late(due_at: datetime, now: datetime) -> str:
    """ "已逾期 2 天 3 小时" / "已逾期 45 分钟": how long ago a work order fell due."""
    late = now - due_at
    if late < timedelta(0):
        return ""
    minutes = int(late.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"已逾期 {days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"已逾期 {hours} 小时" + (f" {minutes} 分钟" if minutes else "")
    return f"已逾期 {max(minutes, 1)} 分钟"


def time_left(due_at: datetime, now: datetime) -> str:
    """ "剩余 5 小时" / "剩余 2 天": how long until a work order falls due."""
    left = due_at - now
    minutes = int(left.total_seconds() // 60)
    if minutes < 60:
        return f"剩余 {max(minutes, 1)} 分钟"
    hours = minutes // 60
    return f"剩余 {hours} 小时" if hours < 48 else f"剩余 {hours // 24} 天"


def shown_customer(masked: str | None, is_customer: bool) -> str:
    """Who answered, as the list shows it: the customer's masked name (a role that sees no part
    of it: "客户（姓名已隐藏）"), or "员工反馈" for a staff survey."""
    if not is_customer:
        return "员工反馈"
    if not masked or set(masked) <= {"*"}:
        return "客户（姓名已隐藏）"
    return masked


def text(form: Any, name: str, limit: int = 4000) -> str:
    """A field as typed, trimmed; text that shows nothing (spaces or invisible characters only)
    is empty, so the form says "请填写…" for it as for spaces."""
    value = form.get(name)
    if not isinstance(value, str) or not shows_something(value):
        return ""
    return value.strip()[:limit]

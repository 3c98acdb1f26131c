"""Every kind of notification the workbench sends, and how each is delivered.

- priority: `critical` ones go through quiet hours and device caps (an at-due reminder can be
  raised to critical per notification); `normal` ones wait for the quiet window to end.
- mutable: whether a user may mute the category in their preferences.
- in_app: listed in the notification centre (a sync poke or a push summary is not).
- silent: a data-only push that wakes the app without alerting the user.
- roles: the roles that can ever receive it (None: anyone); a user's settings screen lists
  only the categories that can reach them. A mute stored for a category no longer listed (a
  user given another role) stays valid and is still honoured: the policies read every stored
  mute, and a change may name any known category.
- label: what the settings screen shows (the product is in Chinese; the name is the code).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mobile_contracts.v1.identity import Role


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    priority: str = "normal"
    mutable: bool = True
    in_app: bool = True
    silent: bool = False
    label: str = ""
    roles: frozenset[Role] | None = None

    def reaches(self, role: Role) -> bool:
        """Whether a user of this role can ever be sent this category."""
        return self.roles is None or role in self.roles


TASK_REMINDER = "task.reminder"
TASK_ESCALATION = "task.escalation"
TASK_CONFIRMED = "task.confirmed"
TASK_ASSIGNED = "task.assigned"
CUSTOMER_VERIFIED = "customer.verified"
BROCHURE_OPENED = "brochure.opened"
CONTACT_REQUESTED = "brochure.contact_requested"
WORK_ORDER = "work_order.assigned"
WORK_ORDER_ESCALATED = "work_order.escalated"
SURVEY_INVITATION = "survey.invitation"
REPORT_READY = "report.ready"
SYNC_POKE = "sync.poke"
PUSH_SUMMARY = "push.summary"
PUSH_TEST = "push.test"

_HEADS = frozenset({Role.BRANCH_HEAD})
# Only RMs are assigned tasks, own customers and share brochures.
_RMS = frozenset({Role.RM})
# A work order goes to the RM of the customer, or to a branch head under a branch-head rule
# (workbench/workorders/alerts.py, handover.py).
_WORK_ORDER_HOLDERS = frozenset({Role.RM, Role.BRANCH_HEAD})

ALL: dict[str, Category] = {
    c.name: c
    for c in (
        # Sent to the task's assignee, always an RM (workbench/tasks/dispatching.py).
        Category(TASK_REMINDER, label="任务到期前及到期时提醒", roles=_RMS),
        # Sent only to the branch head over the assignee (push/queries/_reminders.py).
        Category(TASK_ESCALATION, label="团队成员任务逾期（支行长）", roles=_HEADS),
        # Sent to the task's assignee (workbench/tasks/confirmation.py).
        Category(TASK_CONFIRMED, label="客户确认了拜访", roles=_RMS),
        # Sent to the RM a branch head hands a task to (workbench/tasks/reassign.py).
        Category(TASK_ASSIGNED, label="支行长转交给我的任务", roles=_RMS),
        # Sent to the customer's owner (workbench/customers/verification.py).
        Category(CUSTOMER_VERIFIED, label="客户完成了实名认证", roles=_RMS),
        # The radar tells the RM who shared (workbench/tracking/radar.py).
        Category(BROCHURE_OPENED, label="客户打开了分享的宣传册", roles=_RMS),
        # Muted apart from opens: an RM who turns off the radar's opens still hears of a lead.
        # Branch heads too: a request no active RM can hear goes to them (tracking/radar.py).
        Category(CONTACT_REQUESTED, label="客户通过宣传册请求联系", roles=_WORK_ORDER_HOLDERS),
        Category(WORK_ORDER, label="指派给我的工单", roles=_WORK_ORDER_HOLDERS),
        # Sent only to the branch heads over an overdue work order (workorders/escalation.py):
        # muted apart from the work orders assigned to them.
        Category(WORK_ORDER_ESCALATED, label="预警工单逾期升级（支行长）", roles=_HEADS),
        Category(SURVEY_INVITATION, label="待我填写的问卷"),
        # Sent only to the branch heads of the unit (workbench/reports/service.py).
        Category(REPORT_READY, label="月度经营报告已生成（支行长）", roles=_HEADS),
        Category(SYNC_POKE, mutable=False, in_app=False, silent=True, label="后台同步（静默）"),
        Category(PUSH_SUMMARY, mutable=False, in_app=False, label="还有更多通知"),
        Category(PUSH_TEST, priority="critical", mutable=False, label="测试通知"),
    )
}

MUTABLE = frozenset(name for name, c in ALL.items() if c.mutable)


def listed_for(role: Role) -> Iterator[Category]:
    """The categories a user of this role sees in their settings screen: those listed in the
    notification centre that can ever reach them."""
    return (c for c in ALL.values() if c.in_app and c.reaches(role))


def get(name: str) -> Category:
    """The category called `name`; an unknown name is a programming error."""
    try:
        return ALL[name]
    except KeyError:
        raise ValueError(f"unknown notification category {name!r}") from None

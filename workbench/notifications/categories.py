"""Every kind of notification the workbench sends, and how each is delivered.

- priority: `critical` ones go through quiet hours and device caps (an at-due reminder can be
  raised to critical per notification); `normal` ones wait for the quiet window to end.
- mutable: whether a user may mute the category in their preferences.
- in_app: listed in the notification centre (a sync poke or a push summary is not).
- silent: a data-only push that wakes the app without alerting the user.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    priority: str = "normal"
    mutable: bool = True
    in_app: bool = True
    silent: bool = False
    label: str = ""


TASK_REMINDER = "task.reminder"
TASK_ESCALATION = "task.escalation"
TASK_CONFIRMED = "task.confirmed"
CUSTOMER_VERIFIED = "customer.verified"
BROCHURE_OPENED = "brochure.opened"
CONTACT_REQUESTED = "brochure.contact_requested"
WORK_ORDER = "work_order.assigned"
SURVEY_INVITATION = "survey.invitation"
REPORT_READY = "report.ready"
SYNC_POKE = "sync.poke"
PUSH_SUMMARY = "push.summary"
PUSH_TEST = "push.test"

ALL: dict[str, Category] = {
    c.name: c
    for c in (
        Category(TASK_REMINDER, label="task reminders before and at the due time"),
        Category(TASK_ESCALATION, label="overdue tasks of my team (branch heads)"),
        Category(TASK_CONFIRMED, label="a customer confirmed a visit"),
        Category(CUSTOMER_VERIFIED, label="a customer completed real-name verification"),
        Category(BROCHURE_OPENED, label="a customer opened a shared brochure"),
        # Muted apart from opens: an RM who turns off the radar's opens still hears of a lead.
        Category(CONTACT_REQUESTED, label="a customer asked to be contacted about a brochure"),
        Category(WORK_ORDER, label="work orders assigned to me"),
        Category(SURVEY_INVITATION, label="a survey for me to answer"),
        Category(REPORT_READY, label="the monthly branch report is ready (branch heads)"),
        Category(SYNC_POKE, mutable=False, in_app=False, silent=True, label="pull now (silent)"),
        Category(PUSH_SUMMARY, mutable=False, in_app=False, label="more notifications waiting"),
        Category(PUSH_TEST, priority="critical", mutable=False, label="test notification"),
    )
}

MUTABLE = frozenset(name for name, c in ALL.items() if c.mutable)


def get(name: str) -> Category:
    """The category called `name`; an unknown name is a programming error."""
    try:
        return ALL[name]
    except KeyError:
        raise ValueError(f"unknown notification category {name!r}") from None

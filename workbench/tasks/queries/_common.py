"""What the task queries share: column lists, open statuses and the scope clause."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record
OPEN = ("pending", "in_progress", "submitted", "awaiting_confirmation")

_TASK = (
    "t.id, t.title, t.status, t.due_at, t.assignee_id, t.customer_id, t.template_id,"
    " t.template_version, t.dispatch_id, t.period_start, t.form_values, t.form_values_enc,"
    " t.started_at, t.submitted_at, t.done_at, t.cancelled_at, t.cancel_reason, t.created_at,"
    " t.updated_at,"
    " t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')"
    " and t.due_at < now() as overdue"
)
_VERSION = (
    "v.template_id as id, v.version, v.name, v.form, v.requires_customer_confirmation,"
    " v.sla_hours, v.reminders, v.recurrence, tt.owner_unit_id, v.created_at"
)


def _assignee_clause(own: bool) -> str:
    """$1 is the RM (own tasks) or the root of a branch head's subtree."""
    return (
        "t.assignee_id = $1"
        if own
        else "t.assignee_id = any(array(select s.id from subtree_users($1) s(id)))"
    )


def sees_template(unit: str, owner: str) -> str:
    """Whether the org unit `unit` (an alias of org_units) sees a template owned by `owner` (the
    owner unit's alias): the owner lies on the unit's path to the root, or below the unit. The
    one rule of template visibility, for callers (`template_visible`), dispatch targets and the
    assignees of a series' new periods alike."""
    return f"({unit}.path like {owner}.path || '%' or {owner}.path like {unit}.path || '%')"

"""Escalation of overdue work orders, run by the worker every minute.

A work order not yet resolved escalates when its `next_escalation_at` has passed: first at its
due time to the branch head over its assignee (level 1: the nearest active branch head at or
above the assignee's unit, not the assignee), then, if it is still not resolved one more SLA
period after that escalation, to the next branch head up (level 2). Never more than once per
level: the level and the next time move on in the same transaction that claims the row (FOR
UPDATE SKIP LOCKED), so workers running at once split the work and a rerun finds nothing.
Each escalation records an event and tells the branch head through push; with no branch head
left to tell, the level still moves on (recorded) so that nothing retries forever.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from workbench.db import Connection
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications.service import notify
from workbench.workorders import queries, sla

MAX_LEVEL = 2
BATCH = 200


async def escalate_due(conn: Connection, *, now: datetime | None = None, limit: int = BATCH) -> int:
    """Escalate up to `limit` work orders whose escalation is due (in the caller's transaction);
    the number escalated."""
    now = now or datetime.now(UTC)
    claimed = await queries.claim_escalations(conn, now=now, limit=limit)
    for row in claimed:
        level = row["escalation_level"] + 1
        target = await _target(conn, level=level, row=row)
        next_at = (
            sla.due_at(now, hours=row["sla_hours"], kind=row["sla_kind"])
            if level < MAX_LEVEL
            else None
        )
        await queries.mark_escalated(
            conn, row["id"], level=level, escalated_to=target, next_at=next_at, now=now
        )
        await queries.insert_event(
            conn, event_id=uuid7(), work_order_id=row["id"], kind="escalated", from_state=None,
            to_state=None, actor_id=None, note_enc=None, root_cause=None,
            data={"level": level, "to": str(target) if target else None}, now=now,
        )  # fmt: skip
        if target is not None:
            title = await queries.survey_title(conn, row["survey_id"])
            local_due = row["due_at"].astimezone(sla.BANK_ZONE).strftime("%m-%d %H:%M")
            await notify(
                conn,
                user_id=target,
                category=categories.WORK_ORDER_ESCALATED,
                title="工单逾期升级" if level == 1 else "工单逾期二次升级",
                body=f"“{title}”的预警工单已于 {local_due} 逾期未解决，请督办",
                dedupe_key=f"work_order:{row['id']}:escalated:{level}",
                data={"work_order_id": str(row["id"]), "level": level},
                subject_id=row["id"],
            )
    return len(claimed)


async def _target(conn: Connection, *, level: int, row: queries.Record) -> uuid.UUID | None:
    """Whom this level tells: level 1 the branch head over the assignee, level 2 the branch
    head above the one told at level 1 (or above the assignee's, if level 1 found none)."""
    assignee: uuid.UUID = row["assignee_id"]
    first = row["escalated_to_id"]
    if level == 1 or first is None:
        unit = await queries.user_unit(conn, assignee)
        if unit is None:
            return None
        head = await queries.nearest_branch_head(conn, unit, other_than=assignee)
        if level == 1 or head is None:
            return head
        first = head
    return await queries.branch_head_above(conn, first, other_than=assignee)

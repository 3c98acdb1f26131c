"""Escalation of overdue work orders, run by the worker every minute.

A work order not yet resolved escalates when its `next_escalation_at` has passed: first at its
due time to the branch head over its unit (level 1: the nearest active branch head at or above
the work order's unit, not the assignee), then, if it is still not resolved one more SLA period
after that escalation, to the next branch head up (level 2). Never more than once per level: the
level and the next time move on in the same transaction that claims the row (FOR UPDATE SKIP
LOCKED), so workers running at once split the work and a rerun finds nothing. Each escalation
records an event and tells the branch head through push; with no branch head left to tell, the
level still moves on (recorded) so that nothing retries forever.

Whom it escalates to and who reads it (`service`) follow one rule, the work order's unit: a
branch head reads the work orders of their subtree, and the one told is always over the unit,
so the push they get opens. The unit follows the work order's RM: it changes when a feed moves
the customer to another RM and when an admin moves the RM to another unit (`handover`, in the
same transaction), which re-points an escalation made already; a branch head moved away or
disabled hands the escalations made to them to the one now over the unit.
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
    # Not at the same moment as an admin change to staff: a head being disabled or moved hands
    # on the escalations made to them, and would miss one made meanwhile.
    await queries.hold_off_staff_changes(conn)
    claimed = await queries.claim_escalations(conn, now=now, limit=limit)
    for row in claimed:
        level = row["escalation_level"] + 1
        target = await _target(conn, level=level, row=row)
        next_at = (
            sla.due_at(
                now, hours=row["sla_hours"], kind=row["sla_kind"], calendar=sla.bank_calendar()
            )
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
            title = await queries.survey_title(
                conn, row["survey_id"], response_id=row["response_id"]
            )
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
    """Whom this level of a claimed work order tells (`target`)."""
    return await target(
        conn, level=level, unit_id=row["org_unit_id"], assignee_id=row["assignee_id"]
    )


async def target(
    conn: Connection, *, level: int, unit_id: uuid.UUID, assignee_id: uuid.UUID
) -> uuid.UUID | None:
    """The branch head an escalation of `level` tells for a work order of the unit `unit_id`
    assigned to `assignee_id`: level 1 the nearest active branch head at or above the unit,
    level 2 the nearest above that one's unit (never the assignee). Found from the work order's
    unit, which decides who reads it (and which `handover` keeps the RM's): whoever is told can
    open it."""
    return await queries.escalation_head(conn, unit_id, tier=level, other_than=assignee_id)

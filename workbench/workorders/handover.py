"""A customer moved to another RM takes their unfinished work orders along.

A bank feed moves a customer (a new `owner_login`, `workbench.customers.feeds`): the work orders
about them that are not closed yet (open, in progress, or resolved, which may still be reopened)
go where their alert rule would send them for the new owner: to the new RM (`owner_rm`), or to
the branch head nearest above the new RM's unit (`branch_head`), as when one is opened. The
former RM can no longer open the customer, and the new one would not know (as with tasks,
`workbench.tasks.handover`). The work order's unit becomes the new RM's, so the branch heads who
see it, and whom it escalates to when overdue, are the new unit's; one escalated already is
re-pointed to the branch head of that level over the new unit, who is told. Each records a
`handed_over` event (`data`: the assignee and unit before and after) and tells its new
assignee. Offline sync sees the move: the change log records every work order for whoever held
it before and holds it now (migration 0022), so it leaves the former holders' devices and
reaches the new ones'.

Closed work orders stay as they are (their history is the former RM's work), but their readers
are shown the customer (masked name, answers) only while they may see the customer
(`service`): the former RM and their branch head then see "*" and no answers, on their devices
too (sync is told to send those work orders again).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from workbench.db import Connection
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications.service import notify
from workbench.workorders import alerts, escalation, queries, sla

log = logging.getLogger("workbench.workorders.handover")
EVENT_KIND = "handed_over"


async def hand_over_unfinished(
    conn: Connection,
    moves: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    *,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Each (customer, former RM, new RM) a feed moved (in its transaction, after the move):
    the customers' unfinished work orders follow them to their new RM. The ones moved."""
    if not moves:
        return []
    now = now or datetime.now(UTC)
    customers = sorted({m[0] for m in moves})
    await queries.resend_closed(conn, customers)  # the former holders' copies lose the customer
    rows = await queries.unfinished_of_customers(conn, customers)
    moved: list[tuple[queries.Record, uuid.UUID, uuid.UUID, uuid.UUID | None]] = []
    for row in rows:
        target = await alerts.assignee_for(
            conn,
            assign_to=row["assign_to"],
            owner=row["owner_id"],
            owner_unit=row["owner_unit_id"],
            unit=row["owner_unit_id"],
        )
        if target is None:  # nobody over the new RM's unit either: it stays where it is
            log.warning(
                "customer moved but nobody to hand their work order to",
                extra={"work_order_id": str(row["id"])},
            )
            continue
        assignee, unit = target
        if (assignee, unit) == (row["assignee_id"], row["org_unit_id"]):
            continue
        level = row["escalation_level"]
        escalated_to = (
            await escalation.target(conn, level=level, unit_id=unit, assignee_id=assignee)
            if level
            else None
        )
        moved.append((row, assignee, unit, escalated_to))
    if not moved:
        return []
    await queries.hand_over(
        conn,
        work_order_ids=[row["id"] for row, *_ in moved],
        assignee_ids=[assignee for _, assignee, _, _ in moved],
        unit_ids=[unit for _, _, unit, _ in moved],
        escalated_to_ids=[to for *_, to in moved],
        now=now,
    )
    event_ids = [uuid7() for _ in moved]
    await queries.insert_system_events(
        conn,
        event_ids=event_ids,
        work_order_ids=[row["id"] for row, *_ in moved],
        kind=EVENT_KIND,
        datas=[_event_data(*m) for m in moved],
        now=now,
    )
    for event_id, (row, assignee, _, escalated_to) in zip(event_ids, moved, strict=True):
        await _tell(conn, row=row, assignee=assignee, escalated_to=escalated_to,
                    event_id=event_id, now=now)  # fmt: skip
    return [row["id"] for row, *_ in moved]


def _event_data(
    row: queries.Record, assignee: uuid.UUID, unit: uuid.UUID, escalated_to: uuid.UUID | None
) -> dict[str, Any]:
    """What the `handed_over` event records: why, and the assignee and unit before and after."""
    return {
        "reason": "customer_moved",
        "customer_owner": str(row["owner_id"]),
        "from": str(row["assignee_id"]),
        "to": str(assignee),
        "from_unit": str(row["org_unit_id"]),
        "to_unit": str(unit),
        **({"escalated_to": str(escalated_to)} if escalated_to else {}),
    }


async def _tell(
    conn: Connection,
    *,
    row: queries.Record,
    assignee: uuid.UUID,
    escalated_to: uuid.UUID | None,
    event_id: uuid.UUID,
    now: datetime,
) -> None:
    """Tell the new assignee (pushed; no customer data: the app fetches the work order) and,
    for one escalated already, the branch head now over it."""
    title = row["survey_title"]
    local_due = row["due_at"].astimezone(sla.BANK_ZONE).strftime("%m-%d %H:%M")
    late = row["due_at"] <= now and row["state"] in ("open", "in_progress")
    data = {"work_order_id": str(row["id"]), "due_at": row["due_at"].isoformat()}
    if assignee != row["assignee_id"]:
        await notify(
            conn,
            user_id=assignee,
            category=categories.WORK_ORDER,
            title="工单转交：客户已转至您名下" if assignee == row["owner_id"] else "工单转交",
            body=f"“{title}”的预警工单随客户转交给您，"
            + (f"已于 {local_due} 逾期，请尽快处理" if late else f"请在 {local_due} 前处理"),
            dedupe_key=f"work_order:{row['id']}:handed_over:{event_id}",
            data=data,
            subject_id=row["id"],
        )
    if escalated_to is not None and escalated_to not in (row["escalated_to_id"], assignee):
        level = row["escalation_level"]
        await notify(
            conn,
            user_id=escalated_to,
            category=categories.WORK_ORDER_ESCALATED,
            title="工单逾期升级" if level == 1 else "工单逾期二次升级",
            body=f"“{title}”的预警工单随客户转入，已于 {local_due} 逾期未解决，请督办",
            dedupe_key=f"work_order:{row['id']}:escalated:{level}:handed_over:{event_id}",
            data={**data, "level": level},
            subject_id=row["id"],
        )

"""Work-order SQL: handover: a moved customer's unfinished work orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.workorders.queries._common import ANSWERED_TITLE, Record


async def unfinished_of_customers(conn: Connection, customer_ids: list[uuid.UUID]) -> list[Record]:
    """The customers' work orders not closed yet, locked (in id order), each with its rule's
    `assign_to`, its survey's title and the customer's owner now (`owner_id`) and that RM's
    unit (`owner_unit_id`)."""
    return await conn.fetch(
        f"""
        select w.id, w.customer_id, w.assignee_id, w.org_unit_id, w.state, w.due_at,
               w.escalation_level, w.escalated_to_id, {ANSWERED_TITLE} as survey_title,
               r.assign_to, c.owner_id, o.org_unit_id as owner_unit_id
          from work_orders w
          join alert_rules r on r.id = w.rule_id
          join customers c on c.id = w.customer_id
          join users o on o.id = c.owner_id
         where w.customer_id = any($1::uuid[]) and w.state <> 'closed'
         order by w.id
           for update of w
        """,
        customer_ids,
    )


# What a hand-over reads of each unfinished work order it may move (joined as in
# `unfinished_of_customers`, the customer optional: a staff survey's has none).
_HANDED = f"""
    w.id, w.customer_id, w.assignee_id, w.org_unit_id, w.state, w.due_at, w.escalation_level,
    w.escalated_to_id, {ANSWERED_TITLE} as survey_title, r.assign_to, c.owner_id
"""


async def lock_staff_changes(conn: Connection) -> None:
    """Wait for, then hold until the transaction ends, the one lock every admin change to staff
    takes before it reads or writes anything of a user or their work orders (`handover`): two
    such changes take turns, and each later statement of the second one sees what the first
    committed (READ COMMITTED: a new snapshot per statement)."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('work-orders:staff-changes', 0))"
    )


async def hold_off_staff_changes(conn: Connection) -> None:
    """Wait for an admin change to staff under way to commit, then keep new ones waiting until
    this transaction ends (the shared side of `lock_staff_changes`: any number of these run
    at once). Taken by whatever picks a work order's holder from who is head or owner now."""
    await conn.execute(
        "select pg_advisory_xact_lock_shared(hashtextextended('work-orders:staff-changes', 0))"
    )


async def unfinished_of_rm(
    conn: Connection, rm_id: uuid.UUID, *, with_assigned: bool = True
) -> list[Record]:
    """The unfinished work orders a customer owner's move takes along, locked (in id order):
    those about a customer of theirs (whichever rule opened them, whoever holds them), and,
    `with_assigned` (they held them as an RM), the others assigned to them; each with its
    rule's `assign_to`, its survey's title, the customer's owner and the user's unit now
    (`rm_unit_id`)."""
    return await conn.fetch(
        f"""
        select {_HANDED}, m.org_unit_id as rm_unit_id
          from work_orders w
          join alert_rules r on r.id = w.rule_id
          left join customers c on c.id = w.customer_id
          join users m on m.id = $1
         where w.id in (select a.id from work_orders a
                         where $2 and a.assignee_id = $1 and a.state <> 'closed'
                        union
                        select b.id from customers o
                          join work_orders b on b.customer_id = o.id
                         where o.owner_id = $1 and b.state <> 'closed')
         order by w.id
           for update of w
        """,
        rm_id,
        with_assigned,
    )


async def unfinished_held_by(
    conn: Connection, head_id: uuid.UUID, *, only: list[uuid.UUID] | None = None
) -> list[Record]:
    """The unfinished work orders assigned or escalated to a branch head (`only`: of these),
    locked (in id order), with what `unfinished_of_rm` gives of each (no `rm_unit_id`)."""
    return await conn.fetch(
        f"""
        select {_HANDED}
          from work_orders w
          join alert_rules r on r.id = w.rule_id
          left join customers c on c.id = w.customer_id
         where (w.assignee_id = $1 or w.escalated_to_id = $1) and w.state <> 'closed'
           and ($2::uuid[] is null or w.id = any($2::uuid[]))
         order by w.id
           for update of w
        """,
        head_id,
        only,
    )


async def stale_holders_in_subtree(
    conn: Connection, unit_id: uuid.UUID
) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """Who holds unfinished work orders of the unit's subtree without being an active branch
    head over the work order's unit any more (disabled, given another role, moved elsewhere),
    each with those work orders' ids (in id order); holders in id order. An escalation counts
    whoever it was made to; an assignment counts except an RM's (an RM holds their customers'
    work orders, and a feed moves those)."""
    rows = await conn.fetch(
        """
        with unfinished as (
            select w.id, w.org_unit_id, w.assignee_id, w.escalated_to_id
              from work_orders w
             where w.org_unit_id in (select s.id from org_subtree($1) s(id))
               and w.state <> 'closed'
        ), held as (
            select u.id, u.org_unit_id, u.assignee_id as holder, false as escalation
              from unfinished u
            union all
            select u.id, u.org_unit_id, u.escalated_to_id, true
              from unfinished u
             where u.escalated_to_id is not null
        )
        select h.holder, array_agg(distinct h.id order by h.id) as work_order_ids
          from held h
          join org_units wu on wu.id = h.org_unit_id
          join users x on x.id = h.holder
          join org_units xu on xu.id = x.org_unit_id
         where (h.escalation or x.role <> 'rm')
           and not (x.active and x.role = 'branch_head'
                    and wu.path >= xu.path and wu.path < xu.path || '~')
         group by h.holder
         order by h.holder
        """,
        unit_id,
    )
    return [(r["holder"], list(r["work_order_ids"])) for r in rows]


async def hand_over(
    conn: Connection,
    *,
    work_order_ids: list[uuid.UUID],
    assignee_ids: list[uuid.UUID],
    unit_ids: list[uuid.UUID],
    escalated_to_ids: list[uuid.UUID | None],
    now: datetime,
) -> None:
    """Give each work order its new assignee, unit and branch head escalated to, at once."""
    await conn.execute(
        """
        update work_orders w
           set assignee_id = m.assignee_id, org_unit_id = m.unit_id,
               escalated_to_id = m.escalated_to_id, updated_at = $5
          from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[])
               as m(id, assignee_id, unit_id, escalated_to_id)
         where w.id = m.id
        """,
        work_order_ids,
        assignee_ids,
        unit_ids,
        escalated_to_ids,
        now,
    )


async def resend_closed(conn: Connection, customer_ids: list[uuid.UUID]) -> int:
    """Have the offline sync send the customers' closed work orders again to whoever holds them
    (their former RM and branch heads now read them without the customer): an update that
    changes no value, which the change log's trigger records all the same (migration 0022).
    How many."""
    done = await conn.execute(
        "update work_orders set updated_at = updated_at"
        " where customer_id = any($1::uuid[]) and state = 'closed'",
        customer_ids,
    )
    return int(done.split()[-1])


async def resend_closed_of_owner(conn: Connection, owner_id: uuid.UUID) -> int:
    """Have the offline sync send the closed work orders about an owner's customers again to
    whoever holds them: after the owner moved to another unit, the branch heads over the work
    orders' units may no longer see those customers (as `resend_closed`). How many."""
    done = await conn.execute(
        """
        update work_orders set updated_at = updated_at
         where state = 'closed'
           and customer_id in (select c.id from customers c where c.owner_id = $1)
        """,
        owner_id,
    )
    return int(done.split()[-1])


async def insert_system_events(
    conn: Connection,
    *,
    event_ids: list[uuid.UUID],
    work_order_ids: list[uuid.UUID],
    kind: str,
    datas: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Events of one kind without an actor or a note (the system's), one per work order."""
    await conn.execute(
        """
        insert into work_order_events (id, work_order_id, kind, data, created_at)
        select e.id, e.work_order_id, $3, e.data, $5
          from unnest($1::uuid[], $2::uuid[], $4::jsonb[]) as e(id, work_order_id, data)
        """,
        event_ids,
        work_order_ids,
        kind,
        datas,
        now,
    )

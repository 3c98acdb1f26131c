"""Work-order SQL: work orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.sql import Where
from workbench.workorders.queries._common import ANSWERED_TITLE, OPEN_STATES, Record


async def insert_work_order(
    conn: Connection,
    *,
    work_order_id: uuid.UUID,
    response_id: uuid.UUID,
    rule_id: uuid.UUID,
    survey_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    respondent_id: uuid.UUID | None,
    assignee_id: uuid.UUID,
    org_unit_id: uuid.UUID,
    sla_hours: int,
    sla_kind: str,
    due_at: datetime,
    now: datetime,
) -> bool:
    """Open a work order for the response; False (nothing changed) if it already has one."""
    inserted = await conn.fetchval(
        """
        insert into work_orders (id, response_id, rule_id, survey_id, customer_id, respondent_id,
                                 assignee_id, org_unit_id, sla_hours, sla_kind, due_at,
                                 next_escalation_at, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12)
        on conflict (response_id) do nothing
        returning true
        """,
        work_order_id, response_id, rule_id, survey_id, customer_id, respondent_id, assignee_id,
        org_unit_id, sla_hours, sla_kind, due_at, now,
    )  # fmt: skip
    return bool(inserted)


async def insert_event(
    conn: Connection,
    *,
    event_id: uuid.UUID,
    work_order_id: uuid.UUID,
    kind: str,
    from_state: str | None,
    to_state: str | None,
    actor_id: uuid.UUID | None,
    note_enc: bytes | None,
    root_cause: str | None,
    data: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        """
        insert into work_order_events (id, work_order_id, kind, from_state, to_state, actor_id,
                                       note_enc, root_cause, data, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        event_id, work_order_id, kind, from_state, to_state, actor_id, note_enc, root_cause,
        data, now,
    )  # fmt: skip


_ROW = f"""
    w.*, {ANSWERED_TITLE} as survey_title, a.name as assignee_name, c.external_id, c.name_enc
"""

_JOINS = """
      join users a on a.id = w.assignee_id
      left join customers c on c.id = w.customer_id
"""


def customer_shown(
    where: Where, *, user_id: uuid.UUID, scope_root: uuid.UUID | None, all_: bool
) -> str:
    """The column `customer_shown`: whether the reader may see the work order's customer, as
    the customer list scopes customers (an RM their own; a branch head those owned in their
    subtree; an admin any). A work order the reader still reads (a closed one of a customer
    since moved to another RM, or of an RM since moved to another branch: `handover` takes only
    unfinished ones along) does not show them the customer's name or answers. Needs the
    customer joined as `c`; the dashboard's work-order list applies it too."""
    if all_:
        return "true as customer_shown"
    if scope_root is not None:
        owners = f"array(select s.id from subtree_users({where.param(scope_root)}) s(id))"
        return f"coalesce(c.owner_id = any({owners}), false) as customer_shown"
    return f"coalesce(c.owner_id = {where.param(user_id)}, false) as customer_shown"


def readable(where: Where, *, user_id: uuid.UUID, scope_root: uuid.UUID | None, all_: bool) -> str:
    """The column `work_order_readable`: whether the reader may open the work order joined as
    `w` (none joined: false), by `_scope`'s rule. A work order that left the reader's reach
    (its RM moved to another branch: `handover`) is still shown as opened, with no link that
    would answer 404."""
    if all_:
        return "w.id is not null as work_order_readable"
    mine = f"w.assignee_id = {where.param(user_id)}"
    if scope_root is not None:
        unit = f"w.org_unit_id in (select u.id from org_subtree({where.param(scope_root)}) u(id))"
        return f"coalesce({unit} or {mine}, false) as work_order_readable"
    return f"coalesce({mine}, false) as work_order_readable"


def _scope(where: Where, *, user_id: uuid.UUID, scope_root: uuid.UUID | None, all_: bool) -> None:
    """Whose work orders a caller reads: all (admin), a subtree's plus their own (branch
    head), or only their own (anyone else)."""
    if all_:
        return
    if scope_root is not None:
        where.add(
            "(w.org_unit_id in (select u.id from org_subtree({}) u(id)) or w.assignee_id = {})",
            scope_root,
            user_id,
        )
    else:
        where.add("w.assignee_id = {}", user_id)


async def ids_in_scope(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
    ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[uuid.UUID]:
    """Ids of the work orders the reader may open, by `_scope` (the API's rule, which offline
    sync's partition holds too): among `ids`, or in id order after `after` (at most `limit`)."""
    where = Where()
    _scope(where, user_id=user_id, scope_root=scope_root, all_=all_)
    if ids is not None:
        where.add("w.id = any({}::uuid[])", ids)
        rows = await conn.fetch(f"select w.id from work_orders w where {where.sql}", *where.args)
    else:
        where.when(after, "w.id > {}")
        rows = await conn.fetch(
            f"select w.id from work_orders w where {where.sql}"
            f" order by w.id limit {where.param(limit)}",
            *where.args,
        )
    return [r["id"] for r in rows]


async def list_work_orders(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
    state: str | None,
    overdue_at: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    unit_id: uuid.UUID | None = None,
) -> list[Record]:
    """Work orders in scope, newest first; `overdue_at`: only those overdue at that time;
    `unit_id`: only those of that unit's subtree (a unit the caller may see)."""
    where = Where()
    _scope(where, user_id=user_id, scope_root=scope_root, all_=all_)
    where.when(state, "w.state = {}")
    where.when(unit_id, "w.org_unit_id in (select s.id from org_subtree({}) s(id))")
    if overdue_at is not None:
        where.add(f"w.state in {OPEN_STATES} and w.due_at < {{}}", overdue_at)
    if after is not None:
        where.add("(w.created_at, w.id) < ({}, {})", *after)
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"""
        select {_ROW}, {shown}
          from work_orders w {_JOINS}
         where {where.sql}
         order by w.created_at desc, w.id desc
         limit {where.param(limit)}
        """,
        *where.args,
    )


async def work_order_in_scope(
    conn: Connection,
    work_order_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
    for_update: bool = False,
) -> Record | None:
    where = Where()
    where.add("w.id = {}", work_order_id)
    _scope(where, user_id=user_id, scope_root=scope_root, all_=all_)
    # Locked alone first, then read in a new statement: locked in the join, a row a hand-over
    # gave another assignee while this waited would be checked again against the former
    # assignee's user row and be left out, a work order not found.
    if for_update and not await conn.fetchval(
        f"select true from work_orders w where {where.sql} for update", *where.args
    ):
        return None
    rows = await work_orders_in_scope(
        conn, [work_order_id], user_id=user_id, scope_root=scope_root, all_=all_
    )
    return rows[0] if rows else None


async def work_orders_by_id(
    conn: Connection,
    work_order_ids: list[uuid.UUID],
    *,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
) -> list[Record]:
    """These work orders (picked in scope by the caller), with `customer_shown` for the
    reader."""
    where = Where()
    where.add("w.id = any({}::uuid[])", work_order_ids)
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"select {_ROW}, {shown} from work_orders w {_JOINS} where {where.sql}", *where.args
    )


async def work_orders_in_scope(
    conn: Connection,
    work_order_ids: list[uuid.UUID],
    *,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
) -> list[Record]:
    """Those of these work orders the reader may open (by `_scope`, as `work_order_in_scope`),
    with `customer_shown` for the reader; in no particular order, ids out of scope or gone left
    out."""
    where = Where()
    where.add("w.id = any({}::uuid[])", work_order_ids)
    _scope(where, user_id=user_id, scope_root=scope_root, all_=all_)
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"select {_ROW}, {shown} from work_orders w {_JOINS} where {where.sql}", *where.args
    )


async def events_of(conn: Connection, work_order_ids: list[uuid.UUID]) -> list[Record]:
    """The events of these work orders, each work order's in the order they happened."""
    return await conn.fetch(
        """
        select e.*, u.name as actor_name
          from work_order_events e
          left join users u on u.id = e.actor_id
         where e.work_order_id = any($1::uuid[])
         order by e.work_order_id, e.created_at, e.id
        """,
        work_order_ids,
    )


async def responses_for_summary(conn: Connection, response_ids: list[uuid.UUID]) -> list[Record]:
    """These responses with the questions of the version each answered."""
    return await conn.fetch(
        """
        select r.id, r.answers, r.texts_enc, r.submitted_at, v.questions
          from survey_responses r
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
         where r.id = any($1::uuid[])
        """,
        response_ids,
    )


async def set_state(
    conn: Connection,
    work_order_id: uuid.UUID,
    *,
    state: str,
    root_cause: str | None,
    now: datetime,
) -> None:
    """Move to `state`; resolving stamps `resolved_at`, reopening clears it, closing stamps
    `closed_at` with the root cause."""
    await conn.execute(
        """
        update work_orders
           set state = $2, updated_at = $4,
               resolved_at = case when $2 = 'resolved' then $4
                                  when $2 = 'closed' then resolved_at end,
               closed_at = case when $2 = 'closed' then $4 end,
               root_cause = case when $2 = 'closed' then $3 end
         where id = $1
        """,
        work_order_id,
        state,
        root_cause,
        now,
    )

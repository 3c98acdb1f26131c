"""SQL of alert rules and work orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record

_OPEN_STATES = "('open', 'in_progress')"


# ---- the org tree: whom to assign to and escalate to ------------------------------------------

# The nearest active branch head at or above a unit, other than one user: the deepest unit on
# the path from the root that has one (as task overdue escalation finds it, push/queries).
_NEAREST_HEAD = """
    select h.id
      from org_units u
      join org_units hu on u.path >= hu.path and u.path < hu.path || '~'
      join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
     where u.id = $1 and h.id is distinct from $2 {extra}
     order by hu.depth desc, h.created_at, h.id
     limit 1
"""


async def nearest_branch_head(
    conn: Connection, unit_id: uuid.UUID, *, other_than: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The nearest active branch head at or above the unit (not `other_than`), or None."""
    found: uuid.UUID | None = await conn.fetchval(
        _NEAREST_HEAD.format(extra=""), unit_id, other_than
    )
    return found


async def escalation_head(
    conn: Connection, unit_id: uuid.UUID, *, tier: int, other_than: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The active branch head of the `tier`-th level of branch heads over a unit, counted from
    the unit up (1: the nearest at or above it; 2: the nearest above those), not `other_than`,
    or None. Each reads the unit's work orders: a branch head reads their subtree's, and the
    unit is in the subtree of every unit on its path (`_scope`)."""
    found: uuid.UUID | None = await conn.fetchval(
        """
        select t.id
          from (select h.id, h.created_at, dense_rank() over (order by hu.depth desc) as tier
                  from org_units u
                  join org_units hu on u.path >= hu.path and u.path < hu.path || '~'
                  join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
                 where u.id = $1 and h.id is distinct from $2) t
         where t.tier = $3
         order by t.created_at, t.id
         limit 1
        """,
        unit_id,
        other_than,
        tier,
    )
    return found


async def user_unit(conn: Connection, user_id: uuid.UUID) -> uuid.UUID | None:
    unit: uuid.UUID | None = await conn.fetchval(
        "select org_unit_id from users where id = $1 and active", user_id
    )
    return unit


# ---- responses and survey versions ---------------------------------------------------------------

_RESPONSE = """
    r.id, r.survey_id, r.version, r.customer_id, r.user_id, r.rm_id, r.org_unit_id, r.answers,
    r.texts_enc, r.submitted_at, c.owner_id, o.org_unit_id as owner_unit_id
"""


async def response(conn: Connection, response_id: uuid.UUID) -> Record | None:
    """A response with its customer's current owning RM and that RM's unit."""
    return await conn.fetchrow(
        f"""
        select {_RESPONSE}
          from survey_responses r
          left join customers c on c.id = r.customer_id
          left join users o on o.id = c.owner_id
         where r.id = $1
        """,
        response_id,
    )


async def responses_without_work_order(
    conn: Connection, survey_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[Record]:
    """The survey's responses in id order after `after`, with whether one has a work order."""
    return await conn.fetch(
        f"""
        select {_RESPONSE},
               exists (select 1 from work_orders w where w.response_id = r.id) as has_work_order
          from survey_responses r
          left join customers c on c.id = r.customer_id
          left join users o on o.id = c.owner_id
         where r.survey_id = $1 and ($2::uuid is null or r.id > $2)
         order by r.id
         limit $3
        """,
        survey_id,
        after,
        limit,
    )


async def count_responses(conn: Connection, survey_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "select count(*) from survey_responses where survey_id = $1", survey_id
    )
    return count


async def version_questions(conn: Connection, survey_id: uuid.UUID, version: int) -> Any:
    return await conn.fetchval(
        "select questions from survey_versions where survey_id = $1 and version = $2",
        survey_id,
        version,
    )


async def survey_for_rules(conn: Connection, survey_id: uuid.UUID) -> Record | None:
    """A survey with the questions of its latest published version (null before publishing)."""
    return await conn.fetchrow(
        """
        select s.id, s.title, s.audience, s.version, v.questions
          from surveys s
          left join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = $1
        """,
        survey_id,
    )


# ---- alert rules ---------------------------------------------------------------------------------

_RULE = """id, survey_id, question_key, op, value, assign_to, sla_hours, sla_kind, active,
           created_by, created_at, updated_at"""


async def active_rules(conn: Connection, survey_id: uuid.UUID) -> list[Record]:
    """The survey's active rules in the order they apply."""
    return await conn.fetch(
        f"select {_RULE} from alert_rules where survey_id = $1 and active order by created_at, id",
        survey_id,
    )


async def rule(conn: Connection, rule_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(f"select {_RULE} from alert_rules where id = $1", rule_id)


async def rules(conn: Connection, survey_id: uuid.UUID | None) -> list[Record]:
    if survey_id is None:
        return await conn.fetch(f"select {_RULE} from alert_rules order by created_at, id")
    return await conn.fetch(
        f"select {_RULE} from alert_rules where survey_id = $1 order by created_at, id",
        survey_id,
    )


async def insert_rule(
    conn: Connection,
    *,
    rule_id: uuid.UUID,
    survey_id: uuid.UUID,
    question_key: str,
    op: str,
    value: int | str,
    assign_to: str,
    sla_hours: int,
    sla_kind: str,
    active: bool,
    created_by: uuid.UUID,
    now: datetime,
) -> Record:
    row = await conn.fetchrow(
        f"""
        insert into alert_rules (id, survey_id, question_key, op, value, assign_to, sla_hours,
                                 sla_kind, active, created_by, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
        returning {_RULE}
        """,
        rule_id, survey_id, question_key, op, value, assign_to, sla_hours, sla_kind, active,
        created_by, now,
    )  # fmt: skip
    assert row is not None
    return row


async def update_rule(
    conn: Connection,
    rule_id: uuid.UUID,
    *,
    question_key: str,
    op: str,
    value: int | str,
    assign_to: str,
    sla_hours: int,
    sla_kind: str,
    active: bool,
    now: datetime,
) -> Record | None:
    return await conn.fetchrow(
        f"""
        update alert_rules
           set question_key = $2, op = $3, value = $4, assign_to = $5, sla_hours = $6,
               sla_kind = $7, active = $8, updated_at = $9
         where id = $1
        returning {_RULE}
        """,
        rule_id, question_key, op, value, assign_to, sla_hours, sla_kind, active, now,
    )  # fmt: skip


# ---- work orders ---------------------------------------------------------------------------------


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


# The title of the survey version the work order's answer answered (`w`), as it was published:
# never the draft's (`surveys.title`), which an author may be renaming before the next version.
_ANSWERED_TITLE = """
    (select v.title
       from survey_responses ar
       join survey_versions v on v.survey_id = ar.survey_id and v.version = ar.version
      where ar.id = w.response_id)
"""

_ROW = f"""
    w.*, {_ANSWERED_TITLE} as survey_title, a.name as assignee_name, c.external_id, c.name_enc
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
) -> list[Record]:
    """Work orders in scope, newest first; `overdue_at`: only those overdue at that time."""
    where = Where()
    _scope(where, user_id=user_id, scope_root=scope_root, all_=all_)
    where.when(state, "w.state = {}")
    if overdue_at is not None:
        where.add(f"w.state in {_OPEN_STATES} and w.due_at < {{}}", overdue_at)
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
    lock = "for update of w" if for_update else ""
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetchrow(
        f"select {_ROW}, {shown} from work_orders w {_JOINS} where {where.sql} {lock}",
        *where.args,
    )


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


async def events_of(conn: Connection, work_order_id: uuid.UUID) -> list[Record]:
    return await conn.fetch(
        """
        select e.*, u.name as actor_name
          from work_order_events e
          left join users u on u.id = e.actor_id
         where e.work_order_id = $1
         order by e.created_at, e.id
        """,
        work_order_id,
    )


async def response_for_summary(conn: Connection, response_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        """
        select r.id, r.answers, r.texts_enc, r.submitted_at, v.questions
          from survey_responses r
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
         where r.id = $1
        """,
        response_id,
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


# ---- handover: a moved customer's unfinished work orders ----------------------------------------


async def unfinished_of_customers(conn: Connection, customer_ids: list[uuid.UUID]) -> list[Record]:
    """The customers' work orders not closed yet, locked (in id order), each with its rule's
    `assign_to`, its survey's title and the customer's owner now (`owner_id`) and that RM's
    unit (`owner_unit_id`)."""
    return await conn.fetch(
        f"""
        select w.id, w.customer_id, w.assignee_id, w.org_unit_id, w.state, w.due_at,
               w.escalation_level, w.escalated_to_id, {_ANSWERED_TITLE} as survey_title,
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
    w.escalated_to_id, {_ANSWERED_TITLE} as survey_title, r.assign_to, c.owner_id
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


# ---- escalation ----------------------------------------------------------------------------------


async def claim_escalations(conn: Connection, *, now: datetime, limit: int) -> list[Record]:
    """Unresolved work orders whose next escalation is due, locked (others' claims skipped)."""
    return await conn.fetch(
        f"""
        select w.id, w.assignee_id, w.org_unit_id, w.escalation_level, w.escalated_to_id,
               w.sla_hours, w.sla_kind, w.due_at, w.survey_id, w.customer_id, w.response_id
          from work_orders w
         where w.state in {_OPEN_STATES} and w.next_escalation_at <= $1
         order by w.next_escalation_at
         limit $2
           for update skip locked
        """,
        now,
        limit,
    )


async def mark_escalated(
    conn: Connection,
    work_order_id: uuid.UUID,
    *,
    level: int,
    escalated_to: uuid.UUID | None,
    next_at: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        """
        update work_orders
           set escalation_level = $2, escalated_to_id = coalesce($3, escalated_to_id),
               last_escalated_at = $5, next_escalation_at = $4, updated_at = $5
         where id = $1
        """,
        work_order_id,
        level,
        escalated_to,
        next_at,
        now,
    )


async def survey_title(
    conn: Connection, survey_id: uuid.UUID, *, response_id: uuid.UUID | None = None
) -> str:
    """The title a work order's pushes and timeline show: that of the version the response
    `response_id` answered; without one, the survey's latest published version's. Never the
    draft's, which an author may be renaming before publishing it."""
    title: str | None = await conn.fetchval(
        """
        select coalesce(
                 (select v.title
                    from survey_responses r
                    join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
                   where r.id = $2 and r.survey_id = $1),
                 (select v.title
                    from surveys s
                    join survey_versions v on v.survey_id = s.id and v.version = s.version
                   where s.id = $1))
        """,
        survey_id,
        response_id,
    )
    return title or ""


# ---- root causes ---------------------------------------------------------------------------------


async def root_causes(conn: Connection, *, active_only: bool) -> list[Record]:
    return await conn.fetch(
        "select code, label, active from work_order_root_causes"
        " where active or not $1 order by position, code",
        active_only,
    )


async def root_cause(conn: Connection, code: str) -> Record | None:
    return await conn.fetchrow(
        "select code, label, active from work_order_root_causes where code = $1", code
    )


async def upsert_root_cause(conn: Connection, *, code: str, label: str, active: bool) -> Record:
    row = await conn.fetchrow(
        """
        insert into work_order_root_causes (code, label, active, position)
        values ($1, $2, $3, (select coalesce(max(position), 0) + 10 from work_order_root_causes))
        on conflict (code) do update
           set label = excluded.label, active = excluded.active, updated_at = now()
        returning code, label, active
        """,
        code,
        label,
        active,
    )
    assert row is not None
    return row


async def insert_root_cause(
    conn: Connection, *, code: str, label: str, active: bool
) -> Record | None:
    """A new root cause; None when one has that code already (it is left as it is)."""
    return await conn.fetchrow(
        """
        insert into work_order_root_causes (code, label, active, position)
        values ($1, $2, $3, (select coalesce(max(position), 0) + 10 from work_order_root_causes))
        on conflict (code) do nothing
        returning code, label, active
        """,
        code,
        label,
        active,
    )


async def work_orders_of_rule(conn: Connection, rule_id: uuid.UUID) -> list[Record]:
    """A rule's work orders, oldest first, with their assignee's role and unit (the demo)."""
    return await conn.fetch(
        """
        select w.id, w.created_at, w.assignee_id, a.role, a.org_unit_id
          from work_orders w
          join users a on a.id = w.assignee_id
         where w.rule_id = $1
         order by w.created_at, w.id
        """,
        rule_id,
    )

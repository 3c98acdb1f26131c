"""SQL of event rules: events in, tasks out, once per customer per window."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.customers.queries import hold_owner_accounts
from workbench.db import Connection
from workbench.tasks.queries._common import Record
from workbench.tasks.queries._dispatches import reminder_times

__all__ = [
    "active_rules",
    "customers_with_owner",
    "fire_rules",
    "firings",
    "forget_firings",
    "insert_rule",
    "record_events",
    "rule",
    "rules",
    "update_rule",
]


_RULE = "id, name, event_kind, field, op, value, template_id, within_days, due_in_hours, active"


async def insert_rule(conn: Connection, *, fields: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""
        insert into task_rules (id, name, event_kind, field, op, value, template_id,
                                within_days, due_in_hours, created_by)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        returning {_RULE}
        """,
        *fields.values(),
    )
    assert row is not None
    return row


async def rule(conn: Connection, rule_id: uuid.UUID, *, lock: bool = False) -> Record | None:
    """One rule; `lock`: held until the transaction ends (two edits at once keep both)."""
    return await conn.fetchrow(
        f"select {_RULE} from task_rules where id = $1{' for update' if lock else ''}", rule_id
    )


async def update_rule(conn: Connection, rule_id: uuid.UUID, *, fields: dict[str, Any]) -> Record:
    """Set a rule's columns (`name`, `event_kind`, `field`, `op`, `value`, `template_id`,
    `within_days`, `due_in_hours`, `active`: all of them)."""
    row = await conn.fetchrow(
        f"""
        update task_rules
           set name = $2, event_kind = $3, field = $4, op = $5, value = $6, template_id = $7,
               within_days = $8, due_in_hours = $9, active = $10
         where id = $1
        returning {_RULE}
        """,
        rule_id,
        fields["name"],
        fields["event_kind"],
        fields["field"],
        fields["op"],
        fields["value"],
        fields["template_id"],
        fields["within_days"],
        fields["due_in_hours"],
        fields["active"],
    )
    assert row is not None
    return row


async def forget_firings(conn: Connection, rule_id: uuid.UUID) -> None:
    """Open every customer's window of a rule again (its condition changed: what it fired on
    before is no reason to hold back what it fires on now). Its tasks stay."""
    await conn.execute("delete from task_rule_firings where rule_id = $1", rule_id)


async def rules(
    conn: Connection,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[Record]:
    """Every rule, the oldest first: those after the key `after` (created_at, id), at most
    `limit` (None: all), each with its key."""
    return await conn.fetch(
        f"""
        select {_RULE}, created_at from task_rules
         where $1::timestamptz is null or (created_at, id) > ($1::timestamptz, $2::uuid)
         order by created_at, id
         limit $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def active_rules(conn: Connection, kinds: list[str]) -> list[Record]:
    return await conn.fetch(
        f"select {_RULE} from task_rules where active and event_kind = any($1)", kinds
    )


async def customers_with_owner(
    conn: Connection, external_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The customers by external id (`external_id`, `id`, `owner_id`), with their owner when an
    active RM and the customer still with the bank (a closed customer gets no task; an owner
    disabled, or moved to another role with the customers not yet handed
    over, gets no task: `owner_id` None); their owners held until the transaction ends (as
    `customers.queries.hold_owners` holds them, in the feeds' order): a feed moving them has
    committed first, or waits and then hands the tasks fired over. Then the owners' users
    (`customers.queries.hold_owner_accounts`): an admin disabling one or changing their role
    has committed first (and is seen), or waits and then counts the tasks in the hand-over."""
    # Locked apart from the users: a row a feed moved while this waited is read again as the
    # feed left it, with its new owner; and the owner is read as an admin's change left them
    # (read in the statement locking the customer, a user is as that statement began).
    rows = await conn.fetch(
        """
        select c.external_id, c.id,
               case when c.closed_at is null then c.owner_id end as owner_id
          from customers c
         where c.external_id = any($1)
         order by c.external_id
           for key share
        """,
        external_ids,
    )
    owners = await hold_owner_accounts(conn, list({r["owner_id"] for r in rows}))
    return {
        r["external_id"]: {
            "external_id": r["external_id"],
            "id": r["id"],
            "owner_id": r["owner_id"] if _active_rm(owners.get(r["owner_id"])) else None,
        }
        for r in rows
    }


def _active_rm(user: Record | None) -> bool:
    return user is not None and user["active"] and user["role"] == "rm"


async def record_events(conn: Connection, *, columns: dict[str, list[Any]]) -> None:
    await conn.execute(
        """
        insert into integration_events (kind, customer_id, occurred_at, data)
        select * from unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::jsonb[])
        """,
        *columns.values(),
    )


async def firings(
    conn: Connection, *, rule_ids: list[uuid.UUID], customer_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], datetime]:
    """When each (rule, customer) pair (`rule_ids[i]`, `customer_ids[i]`) last fired, for the
    pairs that have."""
    rows = await conn.fetch(
        """
        select f.rule_id, f.customer_id, f.fired_at
          from task_rule_firings f
          join unnest($1::uuid[], $2::uuid[]) as w(rule_id, customer_id)
            on w.rule_id = f.rule_id and w.customer_id = f.customer_id
        """,
        rule_ids,
        customer_ids,
    )
    return {(r["rule_id"], r["customer_id"]): r["fired_at"] for r in rows}


async def fire_rules(conn: Connection, *, columns: dict[str, list[Any]]) -> int:
    """Create a task per firing: (rule, customer, owner, time), any number per pair, each at
    least the rule's window after the pair's one before (the caller works that out from
    `firings`). A pair's firings are claimed atomically, as a whole, only if the first of them
    lies a window after the pair's stored firing (the latest then stands for the pair), so
    concurrent batches never fire within one window; a rule switched off since the batch read
    it fires no more."""
    created: int = await conn.fetchval(
        f"""
        with wanted as (
            select w.*, uuid7() as task_id
              from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[])
                   as w(rule_id, customer_id, owner_id, fired_at)
             where exists (select 1 from task_rules r where r.id = w.rule_id and r.active)
        ), latest as (
            select distinct on (w.rule_id, w.customer_id) w.*
              from wanted w
             order by w.rule_id, w.customer_id, w.fired_at desc
        ), claimed as (
            insert into task_rule_firings as f (rule_id, customer_id, fired_at, task_id)
            select l.rule_id, l.customer_id, l.fired_at, l.task_id from latest l
            on conflict (rule_id, customer_id) do update
               set fired_at = excluded.fired_at, task_id = excluded.task_id
             where f.fired_at <= (
                       select min(w.fired_at) from wanted w
                        where w.rule_id = f.rule_id and w.customer_id = f.customer_id
                   ) - make_interval(days => (
                       select r.within_days from task_rules r where r.id = f.rule_id))
            returning f.rule_id, f.customer_id
        ), created as (
            insert into tasks (id, template_id, template_version, rule_id, assignee_id,
                               customer_id, title, due_at)
            select w.task_id, tt.id, tt.current_version, r.id, w.owner_id, c.customer_id,
                   v.name, now() + make_interval(hours => r.due_in_hours)
              from claimed c
              join wanted w on w.rule_id = c.rule_id and w.customer_id = c.customer_id
              join task_rules r on r.id = c.rule_id
              join task_templates tt on tt.id = r.template_id
              join task_template_versions v
                on v.template_id = tt.id and v.version = tt.current_version
            returning id, rule_id, customer_id, assignee_id, due_at, template_id,
                      template_version
        ), reminders as (
            insert into task_reminders (task_id, user_id, kind, offset_minutes, send_at)
            select c.id, c.assignee_id,
                   case when m.minutes = 0 then 'at_due' else 'before_due' end, m.minutes,
                   m.send_at
              from created c
              join task_template_versions v
                on v.template_id = c.template_id and v.version = c.template_version
             cross join lateral ({reminder_times("c.due_at", "v.reminders")}) m
            on conflict do nothing
        )
        select count(*) from created
        """,
        *columns.values(),
    )
    return created

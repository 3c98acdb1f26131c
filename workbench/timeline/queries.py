"""SQL of the customer timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


async def insert_entry(
    conn: Connection,
    *,
    entry_id: uuid.UUID,
    customer_id: uuid.UUID,
    occurred_at: datetime,
    kind: str,
    actor_id: uuid.UUID | None,
    text_enc: bytes | None,
    data: dict[str, Any],
    source: str,
    source_id: str,
) -> bool:
    """Insert once per (source, source_id); False when that event was already recorded."""
    inserted = await conn.fetchval(
        """
        insert into customer_timeline
               (id, customer_id, occurred_at, kind, actor_id, text_enc, data, source, source_id)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        on conflict do nothing
        returning true
        """,
        entry_id,
        customer_id,
        occurred_at,
        kind,
        actor_id,
        text_enc,
        data,
        source,
        source_id,
    )
    return bool(inserted)


async def insert_entries(
    conn: Connection,
    *,
    entry_ids: list[uuid.UUID],
    customer_ids: list[uuid.UUID],
    occurred_ats: list[datetime],
    kinds: list[str],
    datas: list[dict[str, Any]],
    source: str,
    source_ids: list[str],
) -> None:
    """Many text-less entries in one statement (e.g. the owner moves of a feed, what visitors of
    a batch of share hits did); each (source, source_id) once."""
    await conn.execute(
        """
        insert into customer_timeline (id, customer_id, occurred_at, kind, data, source, source_id)
        select i.id, i.customer_id, i.occurred_at, i.kind, i.data, $7, i.source_id
          from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::jsonb[],
                      $6::text[]) as i(id, customer_id, occurred_at, kind, data, source_id)
        on conflict (source, source_id) do nothing
        """,
        entry_ids,
        customer_ids,
        occurred_ats,
        kinds,
        datas,
        source_ids,
        source,
    )


async def entries(
    conn: Connection,
    customer_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """Newest first, keyset-paginated on (occurred_at, id)."""
    return await conn.fetch(
        """
        select id, occurred_at, kind, actor_id, text_enc, data
          from customer_timeline
         where customer_id = $1
           and ($2::timestamptz is null or (occurred_at, id) < ($2, $3::uuid))
         order by occurred_at desc, id desc
         limit $4
        """,
        customer_id,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )


async def entry_by_source(conn: Connection, *, source: str, source_id: str) -> Record | None:
    return await conn.fetchrow(
        """
        select id, customer_id, occurred_at, kind, actor_id, text_enc, data
          from customer_timeline where source = $1 and source_id = $2
        """,
        source,
        source_id,
    )


# The bank's day of a moment: Asia/Shanghai unless the database sets another (as survey results
# and the dashboard read it: `workbench.bank_timezone`).
_BANK_DAY = (
    "(({}) at time zone coalesce(nullif(current_setting('workbench.bank_timezone', true), ''),"
    " 'Asia/Shanghai'))::date"
)

# A done task counts as the contact it records: a visit when its form version asks where it
# took place (a location field), else a call (`task.done.visit` / `task.done.call`).
_CONTACT_KIND = """
    case when t.kind <> 'task.done' then t.kind
         when exists (
             select from tasks k
               join task_template_versions v on v.template_id = k.template_id
                                             and v.version = k.template_version
              where k.id = case when t.data ->> 'task_id' ~* '^[0-9a-f-]{36}$'
                                then (t.data ->> 'task_id')::uuid end
                and jsonb_path_exists(v.form, '$.fields[*] ? (@.type == "location")'))
         then 'task.done.visit'
         else 'task.done.call' end
"""


async def decayed_weight(
    conn: Connection,
    customer_id: uuid.UUID,
    *,
    kinds: list[str],
    contacts: list[str],
    weights: list[float],
    half_life_days: float,
    horizon_days: int,
) -> float:
    """Sum over the kinds of contact (`contacts`, one per kind in `kinds`) and bank days of the
    strongest entry's weight that day, halved for every `half_life_days` of its age, within the
    horizon: a contact of a kind counts once a day however many entries record it."""
    value = await conn.fetchval(
        f"""
        with entries as (
            select t.occurred_at, {_CONTACT_KIND} as kind
              from customer_timeline t
             where t.customer_id = $1
               and t.occurred_at > now() - make_interval(days => $6)
        ), daily as (
            select max(w.weight * power(0.5,
                       greatest(extract(epoch from now() - e.occurred_at), 0) / 86400.0 / $5))
                       as weight
              from entries e
              join unnest($2::text[], $3::text[], $4::float8[]) as w(kind, contact, weight)
                on w.kind = e.kind
             group by w.contact, {_BANK_DAY.format("e.occurred_at")}
        )
        select coalesce(sum(weight), 0) from daily
        """,
        customer_id,
        kinds,
        contacts,
        weights,
        half_life_days,
        horizon_days,
    )
    return float(value)

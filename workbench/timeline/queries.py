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


async def decayed_weight(
    conn: Connection,
    customer_id: uuid.UUID,
    *,
    kinds: list[str],
    weights: list[float],
    half_life_days: float,
    horizon_days: int,
) -> float:
    """Sum of kind weights, each halved for every `half_life_days` of age, within the horizon."""
    value = await conn.fetchval(
        """
        select coalesce(sum(w.weight * power(0.5,
                   greatest(extract(epoch from now() - t.occurred_at), 0) / 86400.0 / $4)), 0)
          from customer_timeline t
          join unnest($2::text[], $3::float8[]) as w(kind, weight) on w.kind = t.kind
         where t.customer_id = $1
           and t.occurred_at > now() - make_interval(days => $5)
        """,
        customer_id,
        kinds,
        weights,
        half_life_days,
        horizon_days,
    )
    return float(value)

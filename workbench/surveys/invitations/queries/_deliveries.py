"""Invitation SQL: deliveries: a survey sent to a list or a selection, claimed and walked
through by the worker in chunks of recipients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record

# A listed delivery's `recipients` are read here without the list itself (up to 100,000 ids,
# which each chunk would otherwise decode): `{"customer_ids": []}` says only which kind it is.
_DELIVERY = """
    d.id, d.survey_id, d.version, d.source, d.requested_by, d.status, d.total,
    d.done, d.skipped, d.error, d.created_at, d.started_at, d.finished_at, d.position,
    case when d.recipients ? 'org_unit_id' then d.recipients
         when d.recipients ? 'customer_ids' then '{"customer_ids": []}'::jsonb
         else '{"user_ids": []}'::jsonb end as recipients
"""


async def insert_delivery(
    conn: Connection,
    *,
    delivery_id: uuid.UUID,
    survey_id: uuid.UUID,
    version: int,
    source: str,
    requested_by: uuid.UUID,
    recipients: dict[str, Any],
    total: int,
    created_at: datetime,
) -> Record:
    return await conn.fetchrow(  # type: ignore[return-value]
        f"""
        insert into survey_deliveries as d (id, survey_id, version, source, requested_by,
                                            recipients, total, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        returning {_DELIVERY}
        """,
        delivery_id,
        survey_id,
        version,
        source,
        requested_by,
        recipients,
        total,
        created_at,
    )


async def delivery_in_scope(
    conn: Connection,
    *,
    survey_id: uuid.UUID,
    delivery_id: uuid.UUID,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    own_only: bool,
) -> Record | None:
    """A delivery the caller may follow: their own; for a branch head also those requested by
    staff of their subtree; for an admin any."""
    return await conn.fetchrow(
        f"""
        select {_DELIVERY} from survey_deliveries d
          join users r on r.id = d.requested_by
         where d.id = $1 and d.survey_id = $2
           and (d.requested_by = $3
                or (not $5 and ($4::uuid is null
                    or r.org_unit_id in (select s.id from org_subtree($4) s(id)))))
        """,
        delivery_id,
        survey_id,
        user_id,
        scope_root,
        own_only,
    )


async def claim_delivery(
    conn: Connection, delivery_id: uuid.UUID | None, *, passing_over: list[uuid.UUID] | None = None
) -> Record | None:
    """A delivery with recipients left (this one, or the oldest but those `passing_over`),
    locked for this transaction; None when there is none or another worker holds it."""
    if delivery_id is not None:
        return await conn.fetchrow(
            f"""select {_DELIVERY} from survey_deliveries d
                 where d.id = $1 and d.status in ('queued', 'running')
                 for update skip locked""",
            delivery_id,
        )
    return await conn.fetchrow(
        f"""select {_DELIVERY} from survey_deliveries d
             where d.status in ('queued', 'running') and d.id <> all($1::uuid[])
             order by d.created_at
             limit 1
             for update skip locked""",
        passing_over or [],
    )


async def start_delivery(conn: Connection, delivery_id: uuid.UUID, *, total: int) -> None:
    await conn.execute(
        """update survey_deliveries set status = 'running', total = $2,
                  started_at = coalesce(started_at, now())
            where id = $1""",
        delivery_id,
        total,
    )


async def advance_delivery(
    conn: Connection,
    delivery_id: uuid.UUID,
    *,
    position: uuid.UUID | None,
    done: int,
    skipped: int,
    finished: bool,
) -> Record:
    """Count a chunk's recipients and move the position past them (finished: the end)."""
    return await conn.fetchrow(  # type: ignore[return-value]
        f"""
        update survey_deliveries d
           set position = coalesce($2, d.position), done = d.done + $3, skipped = d.skipped + $4,
               status = case when $5 then 'done' else 'running' end,
               started_at = coalesce(d.started_at, now()),
               finished_at = case when $5 then now() end,
               total = case when $5 then greatest(d.total, d.done + $3 + d.skipped + $4)
                            else d.total end
         where d.id = $1
        returning {_DELIVERY}
        """,
        delivery_id,
        position,
        done,
        skipped,
        finished,
    )


async def fail_delivery(conn: Connection, delivery_id: uuid.UUID, error: str) -> Record | None:
    """End a delivery with recipients left as failed, saying why (a problem code); the row as
    it is now (None if it had ended already)."""
    return await conn.fetchrow(
        f"""update survey_deliveries d
               set status = 'failed', error = $2, finished_at = now(),
                   started_at = coalesce(d.started_at, now())
             where d.id = $1 and d.status in ('queued', 'running')
            returning {_DELIVERY}""",
        delivery_id,
        error[:500],
    )


async def count_recipients(conn: Connection, delivery: Record) -> int:
    recipients = delivery["recipients"]
    if "org_unit_id" in recipients:
        return int(
            await conn.fetchval(
                """select count(*) from customers c
                    where c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
                      and c.closed_at is null
                      and ($2::text is null or c.tags @> array[$2::text])""",
                uuid.UUID(recipients["org_unit_id"]),
                recipients.get("tag"),
            )
        )
    return int(
        await conn.fetchval(
            "select jsonb_array_length(d.recipients->$2) from survey_deliveries d where d.id = $1",
            delivery["id"],
            _kind(recipients),
        )
    )


def _kind(recipients: dict[str, Any]) -> str:
    return "customer_ids" if "customer_ids" in recipients else "user_ids"


async def next_recipients(
    conn: Connection, delivery: Record, *, after: uuid.UUID | None, offset: int, limit: int
) -> list[uuid.UUID]:
    """The next recipients of a delivery: of a selection, the customers in id order after
    `after`; of a list (distinct ids, as stored at creation), those from position `offset`."""
    recipients = delivery["recipients"]
    if "org_unit_id" in recipients:
        rows = await conn.fetch(
            """select c.id from customers c
                where c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
                  and c.closed_at is null
                  and ($2::text is null or c.tags @> array[$2::text])
                  and ($3::uuid is null or c.id > $3)
                order by c.id
                limit $4""",
            uuid.UUID(recipients["org_unit_id"]),
            recipients.get("tag"),
            after,
            limit,
        )
    else:
        rows = await conn.fetch(
            # The list is taken out of its row once (materialized): read per element from
            # the row, its whole stored value would be fetched again for each one.
            """with l as materialized (
                   select d.recipients->$2 as ids from survey_deliveries d where d.id = $1
               )
               select (l.ids->>g)::uuid as id
                 from l, generate_series($3::int, least($3 + $4, jsonb_array_length(l.ids)) - 1) g
                order by g""",
            delivery["id"],
            _kind(recipients),
            offset,
            limit,
        )
    return [r["id"] for r in rows]

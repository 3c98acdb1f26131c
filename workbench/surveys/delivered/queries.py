"""SQL of what a delivery answers its sender: the links its customers got or already held, a
delivery named by the sender's `Idempotency-Key`, and each recipient's outcome read again.

Scope: a delivery is read here by its id and its requester only (the caller checks who may
follow it); links are read for the customers a delivery lists.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


async def open_links_sent_by(
    conn: Connection,
    customer_ids: list[uuid.UUID],
    *,
    survey_id: uuid.UUID,
    sent_by: uuid.UUID,
    now: datetime,
) -> dict[uuid.UUID, uuid.UUID]:
    """The open (unanswered, unexpired) link to the survey that each of these customers holds
    from `sent_by`, newest first: customer id -> invitation id (customers holding none left
    out)."""
    rows = await conn.fetch(
        """select distinct on (i.customer_id) i.customer_id, i.id
             from survey_invitations i
            where i.customer_id = any($1::uuid[]) and i.survey_id = $2 and i.sent_by = $3
              and i.responded_at is null and i.expires_at > $4
            order by i.customer_id, i.sent_at desc, i.id desc""",
        customer_ids,
        survey_id,
        sent_by,
        now,
    )
    return {r["customer_id"]: r["id"] for r in rows}


async def lock_key(conn: Connection, delivery_id: uuid.UUID) -> None:
    """Hold the lock of a delivery named by an `Idempotency-Key` until the transaction ends:
    two requests with one key at once make one delivery (the second answers the first's)."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('survey-delivery:' || $1::uuid::text, 0))",
        delivery_id,
    )


async def delivery_of_key(
    conn: Connection,
    delivery_id: uuid.UUID,
    *,
    requested_by: uuid.UUID,
    survey_id: uuid.UUID,
    recipients: dict[str, Any],
) -> Record | None:
    """The delivery this requester made with this id (their key's), and whether it was asked
    for this survey and these recipients (`same`); None if there is none."""
    return await conn.fetchrow(
        """select d.id, d.survey_id, d.version, d.requested_by, d.status, d.total, d.done,
                  d.skipped, d.error, d.created_at, d.started_at, d.finished_at,
                  (d.recipients ?| array['customer_ids', 'user_ids']) as listed,
                  d.recipients ? 'customer_ids' as to_customers,
                  (d.survey_id = $3 and d.recipients = $4::jsonb) as same
             from survey_deliveries d
            where d.id = $1 and d.requested_by = $2""",
        delivery_id,
        requested_by,
        survey_id,
        recipients,
    )


# Each recipient a delivery lists (its `{ids}` key), in its order, with the invitation it made
# them, or else the link they held when it was sent: sent before it, then neither answered nor
# expired. `{column}` is the invitations' recipient column (customer_id or user_id).
_LISTED = """
        with d as materialized (
            select id, survey_id, created_at, recipients->'{ids}' as ids
              from survey_deliveries where id = $1
        ), listed as (
            select (x.value #>> '{{}}')::uuid as recipient_id, x.n
              from d, jsonb_array_elements(d.ids) with ordinality x(value, n)
        )
        select l.recipient_id, i.id as invitation_id, h.id as held_id, h.sent_by as held_by
          from listed l cross join d
          left join survey_invitations i
                 on i.delivery_id = d.id and i.{column} = l.recipient_id
          left join lateral (
              select o.id, o.sent_by from survey_invitations o
               where i.id is null and o.{column} = l.recipient_id and o.survey_id = d.survey_id
                 and o.sent_at <= d.created_at and o.expires_at > d.created_at
                 and (o.responded_at is null or o.responded_at > d.created_at)
               order by o.sent_at desc, o.id desc
               limit 1
          ) h on true
         order by l.n
        """


async def listed_customers(conn: Connection, delivery_id: uuid.UUID) -> list[Record]:
    """Each customer a delivery lists, in its order, with the invitation it made them
    (`invitation_id`), or else the link they held when it was sent (`held_id`, `held_by`)."""
    return await conn.fetch(_LISTED.format(ids="customer_ids", column="customer_id"), delivery_id)


async def listed_staff(conn: Connection, delivery_id: uuid.UUID) -> list[Record]:
    """Each staff member a delivery lists, in its order, with the invitation it made them, or
    else the one waiting in their inbox when it was sent (`held_id`, `held_by`)."""
    return await conn.fetch(_LISTED.format(ids="user_ids", column="user_id"), delivery_id)

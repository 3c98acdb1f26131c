"""Invitation SQL: the customer message log: the contact cap, the messages logged, and the
gateway's outbox read from them."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def capped_customers(
    conn: Connection, customer_ids: list[uuid.UUID], *, since: datetime, cap: int
) -> set[uuid.UUID]:
    """Those of these customers who got `cap` survey messages or more since `since`."""
    rows = await conn.fetch(
        """select m.customer_id from survey_messages m
            where m.customer_id = any($1::uuid[]) and m.created_at > $2
            group by m.customer_id
           having count(*) >= $3""",
        customer_ids,
        since,
        cap,
    )
    return {r["customer_id"] for r in rows}


async def insert_messages(
    conn: Connection,
    *,
    message_ids: list[uuid.UUID],
    customer_ids: list[uuid.UUID],
    invitation_ids: list[uuid.UUID],
    seqs: list[int],
    kind: str,
    created_at: datetime,
) -> list[uuid.UUID]:
    """Log messages (each (invitation, seq) once); the invitations whose message is new."""
    rows = await conn.fetch(
        """insert into survey_messages (id, customer_id, invitation_id, kind, seq, created_at)
           select m.id, m.customer_id, m.invitation_id, $5, m.seq, $6
             from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[])
                  as m(id, customer_id, invitation_id, seq)
           on conflict (invitation_id, seq) do nothing
           returning invitation_id""",
        message_ids,
        customer_ids,
        invitation_ids,
        seqs,
        kind,
        created_at,
    )
    return [r["invitation_id"] for r in rows]


async def messages_after(
    conn: Connection, *, after: tuple[datetime, uuid.UUID] | None, before: datetime, limit: int
) -> list[Record]:
    """Survey messages in the order they were made, after a (created_at, id) key and made
    before `before`; none to a customer the bank has closed (a message not read yet when they
    were closed is never sent: its link ended)."""
    return await conn.fetch(
        """
        select m.id, m.kind, m.seq, m.invitation_id, m.created_at, c.external_id,
               i.survey_id, i.expires_at, v.title
          from survey_messages m
          join customers c on c.id = m.customer_id and c.closed_at is null
          join survey_invitations i on i.id = m.invitation_id
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
         where ($1::timestamptz is null or (m.created_at, m.id) > ($1, $2))
           and m.created_at < $4
         order by m.created_at, m.id
         limit $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        before,
    )

"""Invitation SQL: invitations of customers and staff, and an invitation as its link opens it."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import INVITATION, Record


async def insert_customer_invitations(
    conn: Connection,
    *,
    invitation_ids: list[uuid.UUID],
    customer_ids: list[uuid.UUID],
    survey_id: uuid.UUID,
    version: int,
    delivery_id: uuid.UUID | None,
    sent_by: uuid.UUID,
    sent_at: datetime,
    expires_at: datetime,
    task_id: uuid.UUID | None = None,
) -> list[Record]:
    """Invite customers (each once per delivery, or once per task): the new invitations'
    (id, customer_id). The owning RM and their unit are recorded as they are now. A customer
    the bank has closed is invited to nothing (closed while a delivery was under way, or the
    customer of a task started before and done after)."""
    return await conn.fetch(
        """
        insert into survey_invitations (id, survey_id, version, delivery_id, customer_id, rm_id,
                                        org_unit_id, sent_by, task_id, sent_at, expires_at)
        select i.id, $3, $4, $5, c.id, c.owner_id, u.org_unit_id, $6, $7, $8, $9
          from unnest($1::uuid[], $2::uuid[]) as i(id, customer_id)
          join customers c on c.id = i.customer_id and c.closed_at is null
          join users u on u.id = c.owner_id
        on conflict do nothing
        returning id, customer_id
        """,
        invitation_ids,
        customer_ids,
        survey_id,
        version,
        delivery_id,
        sent_by,
        task_id,
        sent_at,
        expires_at,
    )


async def insert_user_invitations(
    conn: Connection,
    *,
    invitation_ids: list[uuid.UUID],
    user_ids: list[uuid.UUID],
    survey_id: uuid.UUID,
    version: int,
    delivery_id: uuid.UUID,
    sent_by: uuid.UUID,
    sent_at: datetime,
    expires_at: datetime,
) -> list[Record]:
    """Invite staff members (each once per delivery): the new invitations' (id, user_id)."""
    return await conn.fetch(
        """
        insert into survey_invitations (id, survey_id, version, delivery_id, user_id,
                                        org_unit_id, sent_by, sent_at, expires_at)
        select i.id, $3, $4, $5, u.id, u.org_unit_id, $6, $7, $8
          from unnest($1::uuid[], $2::uuid[]) as i(id, user_id)
          join users u on u.id = i.user_id
        on conflict do nothing
        returning id, user_id
        """,
        invitation_ids,
        user_ids,
        survey_id,
        version,
        delivery_id,
        sent_by,
        sent_at,
        expires_at,
    )


async def invitation(
    conn: Connection, invitation_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    """An invitation with its version's title and questions, the name of whoever sent it, and
    the name of the RM the customer's page names (`rm_name`): the customer's RM now (a feed may
    have moved them on since the link was sent) while active, else the RM the invitation was
    made for (who shared it, or the customer's RM when it was sent) while active, else null
    (the page names no one rather than someone gone; a staff invitation names no RM), and
    `customer_closed`: whether the bank has closed its customer. `lock`: held until the
    transaction ends, so that one submission at a time goes on."""
    return await conn.fetchrow(
        f"""
        select {INVITATION}, s.name as sender_name, coalesce(o.name, r.name) as rm_name,
               c.closed_at is not null as customer_closed
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join users s on s.id = i.sent_by
          left join customers c on c.id = i.customer_id
          left join users o on o.id = c.owner_id and o.active
          left join users r on r.id = i.rm_id and r.active
         where i.id = $1
         {"for update of i" if lock else ""}
        """,
        invitation_id,
    )


async def invitations_of_delivery(
    conn: Connection, delivery_id: uuid.UUID, *, customer_ids: list[uuid.UUID]
) -> list[Record]:
    return await conn.fetch(
        """select id, customer_id from survey_invitations
            where delivery_id = $1 and customer_id = any($2::uuid[])""",
        delivery_id,
        customer_ids,
    )


async def end_links_of(conn: Connection, customer_ids: list[uuid.UUID]) -> None:
    """The unanswered survey links of these customers end now (the bank closed them): they
    are reminded no more, and a link the customer was told had expired stays so if the bank
    reopens them (as their verification links)."""
    if customer_ids:
        await conn.execute(
            "update survey_invitations set expires_at = least(expires_at, now())"
            " where customer_id = any($1::uuid[]) and responded_at is null"
            " and expires_at > now()",
            customer_ids,
        )

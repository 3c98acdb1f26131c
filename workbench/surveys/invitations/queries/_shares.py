"""Invitation SQL: shares: a link an RM hands over themselves, named by the app's `client_ref`,
and the links whose poster a caller may show."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import INVITATION, Record


async def insert_share_invitation(
    conn: Connection,
    *,
    invitation_id: uuid.UUID,
    customer_id: uuid.UUID,
    survey_id: uuid.UUID,
    version: int,
    sent_by: uuid.UUID,
    sent_at: datetime,
    expires_at: datetime,
    channel: str,
) -> bool:
    """An invitation an RM hands over themselves (a share); False if its id exists already."""
    row = await conn.fetchrow(
        """
        insert into survey_invitations (id, survey_id, version, customer_id, rm_id, org_unit_id,
                                        sent_by, sent_at, expires_at, share_channel)
        select $1, $3, $4, c.id, c.owner_id, u.org_unit_id, $5, $6, $7, $8
          from customers c join users u on u.id = c.owner_id
         where c.id = $2 and c.closed_at is null
        on conflict do nothing
        returning id
        """,
        invitation_id,
        customer_id,
        survey_id,
        version,
        sent_by,
        sent_at,
        expires_at,
        channel,
    )
    return row is not None


async def share_invitation(
    conn: Connection, invitation_id: uuid.UUID, *, sent_by: uuid.UUID | None,
    scope_root: uuid.UUID | None, now: datetime,
) -> Record | None:  # fmt: skip
    """A customer link whose poster the caller may show: its QR code is the customer's link,
    so only while the link is open (unanswered, unexpired) and the customer still the caller's
    to see. For an RM (`sent_by`): a link they sent (a share, or by their delivery or a task
    they did: sharing the survey answers it as their share, workbench.surveys.sharing) to a
    customer of theirs now. For a branch head (`scope_root`): a share (made without a delivery
    or a task) sent in their subtree, to a customer an RM of their subtree holds now. Another's
    link, an answered or expired one, or one to a customer moved on is no one's to hand out.
    `rm_name`: the RM the link's page names (`invitation`'s rule: the customer's RM now while
    active, else the invitation's RM while active, else null)."""
    return await conn.fetchrow(
        f"""
        select {INVITATION}, s.name as sender_name, coalesce(o.name, r.name) as rm_name
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join users s on s.id = i.sent_by
          join customers c on c.id = i.customer_id
          left join users o on o.id = c.owner_id and o.active
          left join users r on r.id = i.rm_id and r.active
         where i.id = $1 and i.responded_at is null and i.expires_at > $4
           and ($2::uuid is null or (i.sent_by = $2 and c.owner_id = $2))
           and ($3::uuid is null
                or (i.org_unit_id in (select o.id from org_subtree($3) o(id))
                    and c.owner_id = any(array(select u.id from subtree_users($3) u(id)))))
           and ($2::uuid is not null or (i.delivery_id is null and i.task_id is null))
        """,
        invitation_id,
        sent_by,
        scope_root,
        now,
    )


async def insert_share_ref(
    conn: Connection,
    *,
    client_ref: uuid.UUID,
    invitation_id: uuid.UUID,
    sent_by: uuid.UUID,
    channel: str,
) -> None:
    """Name the survey share by the app's `client_ref` (the caller holds the ref's lock)."""
    await conn.execute(
        """insert into survey_share_refs (client_ref, invitation_id, sent_by, channel)
           values ($1, $2, $3, $4) on conflict do nothing""",
        client_ref,
        invitation_id,
        sent_by,
        channel,
    )


async def share_by_ref(
    conn: Connection, client_ref: uuid.UUID, *, legacy_id: uuid.UUID
) -> Record | None:
    """The survey share the app named with this `client_ref`, whoever sent it (the caller
    compares the sender), with the channel the request under this ref asked for (`ref_channel`,
    compared with a resend) and the link's own (`share_channel`, answered): from
    survey_share_refs, else a share made before them, whose id is `legacy_id` (the ref's
    channel unknown: null)."""
    return await conn.fetchrow(
        """
        select i.id, i.survey_id, i.customer_id, r.sent_by, i.sent_at, r.channel as ref_channel,
               i.share_channel
          from survey_share_refs r join survey_invitations i on i.id = r.invitation_id
         where r.client_ref = $1
        union all
        select i.id, i.survey_id, i.customer_id, i.sent_by, i.sent_at, null, i.share_channel
          from survey_invitations i
         where i.id = $2 and i.customer_id is not null and i.delivery_id is null
           and i.task_id is null
           and not exists (select from survey_share_refs r where r.client_ref = $1)
        """,
        client_ref,
        legacy_id,
    )

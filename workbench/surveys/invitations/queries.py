"""SQL of survey delivery and answers: deliveries, invitations, the customer message log (the
contact cap and the gateway's outbox), reminders, responses and the staff inbox.

Scope is applied here, in SQL: an RM reaches their own customers; a branch head customers owned
by RMs of their subtree and the staff of their subtree; an admin (no scope root) everyone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record

# A listed delivery's `recipients` are read here without the list itself (up to 100,000 ids,
# which each chunk would otherwise decode): `{"customer_ids": []}` says only which kind it is.
_DELIVERY = """
    d.id, d.survey_id, d.version, d.source, d.requested_by, d.status, d.total,
    d.done, d.skipped, d.error, d.created_at, d.started_at, d.finished_at, d.position,
    case when d.recipients ? 'org_unit_id' then d.recipients
         when d.recipients ? 'customer_ids' then '{"customer_ids": []}'::jsonb
         else '{"user_ids": []}'::jsonb end as recipients
"""


# ---- surveys ---------------------------------------------------------------------------------


async def survey_to_send(
    conn: Connection, survey_id: uuid.UUID, *, hold: bool = False
) -> Record | None:
    """A survey ever published (published now, or archived since), with its latest version and
    its status: the caller refuses an archived one as what it is, not as a survey not found.
    `hold`: the survey's row share-locked until the transaction ends (see `survey_status`)."""
    if hold:
        # Locked alone first, then read in a new statement: locked in the join, a row a
        # publishing updated while this waited would be checked again against the version
        # joined before it (the one it replaced) and be left out, a survey not found.
        await conn.execute("select from surveys where id = $1 for share", survey_id)
    return await conn.fetchrow(
        """
        select s.id, s.audience, s.status, s.version, v.title
          from surveys s
          join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = $1 and s.status in ('published', 'archived') and s.version > 0
        """,
        survey_id,
    )


async def survey_status(conn: Connection, survey_id: uuid.UUID) -> str | None:
    """The survey's status, its row share-locked until the transaction ends: an archiving
    (which updates the row) waits for this transaction to end, or ended before it and is seen
    here. So invitations sent in the transaction are sent before the survey is archived."""
    status: str | None = await conn.fetchval(
        "select status from surveys where id = $1 for share", survey_id
    )
    return status


async def surveys_after_template(conn: Connection, template_id: uuid.UUID) -> list[Record]:
    """Published customer surveys sent when a task of this template is done (their rows
    share-locked until the transaction ends: an archiving comes before the send or after)."""
    return await conn.fetch(
        """
        select s.id, s.version from surveys s
         where s.after_template_id = $1 and s.status = 'published' and s.version > 0
           and s.audience = 'customer'
         order by s.id
         for share of s
        """,
        template_id,
    )


# ---- scope -----------------------------------------------------------------------------------


async def customers_in_scope(
    conn: Connection,
    customer_ids: list[uuid.UUID],
    *,
    owner_id: uuid.UUID | None,
    scope_root: uuid.UUID | None,
) -> set[uuid.UUID]:
    """Which of these customers the caller reaches (own; owned in their subtree; any)."""
    if owner_id is not None:
        rows = await conn.fetch(
            "select id from customers where owner_id = $1 and id = any($2::uuid[])",
            owner_id,
            customer_ids,
        )
    elif scope_root is not None:
        rows = await conn.fetch(
            """select c.id from customers c
                where c.id = any($2::uuid[])
                  and c.owner_id = any(array(select u.id from subtree_users($1) u(id)))""",
            scope_root,
            customer_ids,
        )
    else:
        rows = await conn.fetch("select id from customers where id = any($1::uuid[])", customer_ids)
    return {r["id"] for r in rows}


async def customers_by_external_id(
    conn: Connection, external_ids: list[str], *, scope_root: uuid.UUID | None
) -> dict[str, uuid.UUID]:
    """external id -> id of these customers the caller reaches (owned in the subtree; any)."""
    rows = await conn.fetch(
        """select c.external_id, c.id from customers c
            where c.external_id = any($1::text[])
              and ($2::uuid is null
                   or c.owner_id = any(array(select u.id from subtree_users($2) u(id))))""",
        external_ids,
        scope_root,
    )
    return {r["external_id"]: r["id"] for r in rows}


async def users_in_scope(
    conn: Connection, user_ids: list[uuid.UUID], *, scope_root: uuid.UUID | None
) -> set[uuid.UUID]:
    """Which of these active staff members are in the caller's subtree (any, for an admin)."""
    rows = await conn.fetch(
        """select u.id from users u
            where u.id = any($1::uuid[]) and u.active
              and ($2::uuid is null
                   or u.org_unit_id = any(array(select s.id from org_subtree($2) s(id))))""",
        user_ids,
        scope_root,
    )
    return {r["id"] for r in rows}


async def unit_in_scope(
    conn: Connection, unit_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> bool:
    return bool(
        await conn.fetchval(
            """select exists (select from org_units o where o.id = $1
                 and ($2::uuid is null or o.id in (select s.id from org_subtree($2) s(id))))""",
            unit_id,
            scope_root,
        )
    )


async def units_in_scope(conn: Connection, *, scope_root: uuid.UUID | None) -> list[Record]:
    """The org units a caller may send to (their subtree), in tree order, for the console."""
    return await conn.fetch(
        """select o.id, o.name, o.path from org_units o
            where $1::uuid is null or o.id in (select s.id from org_subtree($1) s(id))
            order by o.path""",
        scope_root,
    )


async def any_customers(conn: Connection, unit_id: uuid.UUID, *, tag: str | None) -> bool:
    """Whether a selection (a unit's customers, those with `tag` if given) holds anyone: the
    customers `next_recipients` would walk through."""
    return bool(
        await conn.fetchval(
            """select exists (select from customers c
                where c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
                  and ($2::text is null or c.tags @> array[$2::text]))""",
            unit_id,
            tag,
        )
    )


async def staff_of_subtree(conn: Connection, unit_id: uuid.UUID) -> list[uuid.UUID]:
    """The active staff members of a unit's subtree (a staff survey sent to a unit)."""
    rows = await conn.fetch(
        """select u.id from users u
            where u.active and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
            order by u.id""",
        unit_id,
    )
    return [r["id"] for r in rows]


# ---- deliveries ------------------------------------------------------------------------------


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


# ---- the contact cap -------------------------------------------------------------------------


async def lock_contacts(conn: Connection, customer_ids: list[uuid.UUID]) -> None:
    """Hold each customer's contact lock until the transaction ends (always in the same order,
    so two deliveries reaching the same customers wait for each other instead of deadlocking)."""
    await conn.execute(
        """select pg_advisory_xact_lock(k.key)
             from (select distinct hashtextextended('survey-contact:' || c::text, 0) as key
                     from unnest($1::uuid[]) c
                    order by 1) k""",
        customer_ids,
    )


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


async def holding_open_links(
    conn: Connection, customer_ids: list[uuid.UUID], *, survey_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Those of these customers who hold a link to the survey they have not answered and that
    has not expired (by each customer's invitations, newest first)."""
    rows = await conn.fetch(
        """select distinct i.customer_id from survey_invitations i
            where i.customer_id = any($1::uuid[]) and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3""",
        customer_ids,
        survey_id,
        now,
    )
    return {r["customer_id"] for r in rows}


async def open_links(
    conn: Connection, customer_id: uuid.UUID, *, survey_id: uuid.UUID, now: datetime
) -> list[Record]:
    """The customer's unanswered, unexpired invitations to the survey, newest first."""
    return await conn.fetch(
        """select i.id, i.delivery_id, i.task_id, i.sent_by, i.sent_at, i.expires_at,
                  i.share_channel
             from survey_invitations i
            where i.customer_id = $1 and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3
            order by i.sent_at desc, i.id desc""",
        customer_id,
        survey_id,
        now,
    )


async def lock_inboxes(conn: Connection, user_ids: list[uuid.UUID]) -> None:
    """Hold each staff member's survey lock until the transaction ends (in the same order, as
    `lock_contacts`), so two deliveries to the same people invite each of them once."""
    await conn.execute(
        """select pg_advisory_xact_lock(k.key)
             from (select distinct hashtextextended('survey-inbox:' || u::text, 0) as key
                     from unnest($1::uuid[]) u
                    order by 1) k""",
        user_ids,
    )


async def holding_open_invitations(
    conn: Connection, user_ids: list[uuid.UUID], *, survey_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Those of these staff members who have the survey in their inbox: not answered, not
    expired."""
    rows = await conn.fetch(
        """select distinct i.user_id from survey_invitations i
            where i.user_id = any($1::uuid[]) and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3""",
        user_ids,
        survey_id,
        now,
    )
    return {r["user_id"] for r in rows}


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


# ---- invitations -----------------------------------------------------------------------------


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
    (id, customer_id). The owning RM and their unit are recorded as they are now."""
    return await conn.fetch(
        """
        insert into survey_invitations (id, survey_id, version, delivery_id, customer_id, rm_id,
                                        org_unit_id, sent_by, task_id, sent_at, expires_at)
        select i.id, $3, $4, $5, c.id, c.owner_id, u.org_unit_id, $6, $7, $8, $9
          from unnest($1::uuid[], $2::uuid[]) as i(id, customer_id)
          join customers c on c.id = i.customer_id
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
         where c.id = $2
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


_INVITATION = """
    i.id, i.survey_id, i.version, i.delivery_id, i.customer_id, i.user_id, i.rm_id,
    i.org_unit_id, i.sent_by, i.task_id, i.sent_at, i.expires_at, i.reminders, i.responded_at,
    v.title, v.audience, v.questions
"""


async def invitation(
    conn: Connection, invitation_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    """An invitation with its version's title and questions and the name of whoever sent it
    (`lock`: held until the transaction ends, so that one submission at a time goes on)."""
    return await conn.fetchrow(
        f"""
        select {_INVITATION}, s.name as sender_name, r.name as rm_name
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join users s on s.id = i.sent_by
          left join users r on r.id = i.rm_id
         where i.id = $1
         {"for update of i" if lock else ""}
        """,
        invitation_id,
    )


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
    link, an answered or expired one, or one to a customer moved on is no one's to hand out."""
    return await conn.fetchrow(
        f"""
        select {_INVITATION}, s.name as sender_name
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join users s on s.id = i.sent_by
          join customers c on c.id = i.customer_id
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


async def invitations_of_delivery(
    conn: Connection, delivery_id: uuid.UUID, *, customer_ids: list[uuid.UUID]
) -> list[Record]:
    return await conn.fetch(
        """select id, customer_id from survey_invitations
            where delivery_id = $1 and customer_id = any($2::uuid[])""",
        delivery_id,
        customer_ids,
    )


# ---- reminders -------------------------------------------------------------------------------


async def due_reminders(
    conn: Connection, *, before: datetime, now: datetime, max_reminders: int, limit: int
) -> list[Record]:
    """Unanswered, unexpired invitations of surveys not archived, last contacted before
    `before`, reminded fewer than `max_reminders` times, locked for this transaction (other
    workers skip them; their surveys' rows share-locked, so an archiving waits for the
    reminders or comes before them and stops them)."""
    return await conn.fetch(
        """
        select i.id, i.customer_id, i.user_id, i.reminders, i.survey_id, v.title
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join surveys s on s.id = i.survey_id
         where i.responded_at is null and i.customer_id is not null
           and i.sent_at < $1
           and i.expires_at > $2 and i.reminders < $3
           and coalesce(i.last_reminded_at, i.sent_at) < $1
           and s.status <> 'archived'
         order by i.sent_at
         limit $4
         for update of i skip locked
         for share of s
        """,
        before,
        now,
        max_reminders,
        limit,
    )


async def mark_reminded(conn: Connection, invitation_ids: list[uuid.UUID], *, at: datetime) -> None:
    await conn.execute(
        """update survey_invitations set reminders = reminders + 1, last_reminded_at = $2
            where id = any($1::uuid[])""",
        invitation_ids,
        at,
    )


# ---- the outbox ------------------------------------------------------------------------------


async def messages_after(
    conn: Connection, *, after: tuple[datetime, uuid.UUID] | None, before: datetime, limit: int
) -> list[Record]:
    """Survey messages in the order they were made, after a (created_at, id) key and made
    before `before`."""
    return await conn.fetch(
        """
        select m.id, m.kind, m.seq, m.invitation_id, m.created_at, c.external_id,
               i.survey_id, i.expires_at, v.title
          from survey_messages m
          join customers c on c.id = m.customer_id
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


# ---- responses -------------------------------------------------------------------------------


async def insert_response(
    conn: Connection,
    *,
    response_id: uuid.UUID,
    invitation: Record,
    rm_id: uuid.UUID | None,
    answers: dict[str, Any],
    texts_enc: bytes | None,
    submitted_at: datetime,
) -> bool:
    """Store the answer and mark the invitation answered; False if it was answered already."""
    row = await conn.fetchrow(
        """
        with stored as (
            insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                          user_id, rm_id, org_unit_id, answers, texts_enc,
                                          submitted_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            on conflict (invitation_id) do nothing
            returning invitation_id
        )
        update survey_invitations i set responded_at = $11
          from stored where i.id = stored.invitation_id
        returning i.id
        """,
        response_id,
        invitation["id"],
        invitation["survey_id"],
        invitation["version"],
        invitation["customer_id"],
        invitation["user_id"],
        rm_id,
        invitation["org_unit_id"],
        answers,
        texts_enc,
        submitted_at,
    )
    return row is not None


async def customer_owner(conn: Connection, customer_id: uuid.UUID) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.fetchval(
        "select owner_id from customers where id = $1", customer_id
    )
    return owner


async def add_customer_tags(conn: Connection, customer_id: uuid.UUID, tags: list[str]) -> None:
    """Add tags of the product's (a survey answer's) the customer does not have yet, in the given
    order. They are kept apart from the bank's (`product_tags`), which a bank feed replaces, and
    shown with them (`tags`: the bank's, then the product's the bank did not give)."""
    await conn.execute(
        """update customers c
              set bank_tags = coalesce(c.bank_tags,
                                       customer_tags_without(c.tags, c.product_tags)),
                  product_tags = c.product_tags || customer_tags_without($2, c.product_tags),
                  tags = c.tags || customer_tags_without($2, c.tags),
                  updated_at = now()
            where c.id = $1 and not c.product_tags @> $2::text[]""",
        customer_id,
        tags,
    )


# ---- the staff inbox -------------------------------------------------------------------------


async def inbox(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """My unanswered, unexpired invitations, newest first."""
    return await conn.fetch(
        """
        select i.id, i.survey_id, i.version, i.sent_at, i.expires_at, v.title,
               jsonb_array_length(v.questions) as questions
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
         where i.user_id = $1 and i.responded_at is null and i.expires_at > $2
           and ($3::timestamptz is null or (i.sent_at, i.id) < ($3, $4))
         order by i.sent_at desc, i.id desc
         limit $5
        """,
        user_id,
        now,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )

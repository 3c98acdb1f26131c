"""SQL of offline sync: the change log, the partition's rows, offline clients, the feed.

A partition's rows are selected with the same scope every API query applies: an RM's own
customers (and their holdings and notes), own tasks; a branch head adds the tasks of their org
subtree's users; templates as GET /task-templates lists them; products; own notifications as
the notification centre lists them; brochures as the catalogue lists them (live now, owned by a
unit on the user's path to the root).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from workbench.brochures.queries import _ON_VIEWERS_PATH
from workbench.brochures.queries import LIVE as _LIVE
from workbench.customers.queries import _SUMMARY as _CUSTOMER
from workbench.db import Connection
from workbench.tasks.queries._common import _TASK, _VERSION

Record = asyncpg.Record
EVERYONE = uuid.UUID(int=0)  # user_id of changes every partition holds

# $1: the caller; $2: their org subtree's root when they see its users' tasks, else null.
_TASK_SCOPE = (
    "(t.assignee_id = $1 or ($2::uuid is not null and t.assignee_id = any(array("
    "select s.id from subtree_users($2) s(id)))))"
)
_SUBTREE_TASKS = (
    "t.assignee_id = any(array[$1::uuid] || array(select s.id from subtree_users($2) s(id)))"
)
_TEMPLATE_SCOPE = "($2 or me.path like owner.path || '%' or owner.path like me.path || '%')"
_NOTIFICATION_VISIBLE = "n.in_app and n.created_at <= now() and n.push_status <> 'withdrawn'"
_NOTIFICATION = "n.id, n.category, n.title, n.body, n.data, n.created_at, n.read_at"
_NOTE = "t.id, t.customer_id, t.occurred_at, t.kind, t.actor_id, t.text_enc"


async def horizon(conn: Connection) -> int:
    """xmin of a fresh snapshot: every transaction below it has finished."""
    return int(await conn.fetchval("select pg_snapshot_xmin(pg_current_snapshot())::text"))


async def changes_after(
    conn: Connection,
    *,
    users: list[uuid.UUID],
    subtree_root: uuid.UUID | None,
    txid: int,
    seq: int,
    below_txid: int,
    limit: int,
) -> list[Record]:
    """The partition's changes after (txid, seq) of transactions below `below_txid`, in order.
    With `subtree_root`, the tasks of that subtree's users too (a branch head)."""
    return await conn.fetch(
        """
        select l.txid::text::bigint as txid, l.seq, l.user_id, l.entity, l.entity_key
          from sync_log l
         where (l.user_id = any($1::uuid[])
                or ($2::uuid is not null and l.entity = 'task'
                    and l.user_id = any(array(select s.id from subtree_users($2) s(id)))))
           and l.txid >= $3::text::xid8 and (l.txid, l.seq) > ($3::text::xid8, $4::bigint)
           and l.txid < $5::text::xid8
         order by l.txid, l.seq
         limit $6
        """,
        users,
        subtree_root,
        str(txid),
        seq,
        str(below_txid),
        limit,
    )


# ---- rows of the partition: by key (for changes) and in key order (initial sync) --------------


# Initial sync walks an RM's customers richest first, along the list's own index
# (owner_id, aum desc, id desc); holdings and notes follow the same walk. An AUM that changes
# mid-walk is a change after the sync's start position: the catch-up sends that row again.
# First pages and later pages are separate statements, so that a cached generic plan still
# starts the index scan at the keyset position.


async def customers(
    conn: Connection, owner: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: tuple[Decimal, uuid.UUID] | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    if ids is not None:
        return await conn.fetch(
            f"select {_CUSTOMER} from customers c where c.owner_id = $1 and c.id = any($2)",
            owner, ids,
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_CUSTOMER} from customers c where c.owner_id = $1
             order by c.aum desc, c.id desc limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_CUSTOMER} from customers c
         where c.owner_id = $1 and (c.aum, c.id) < ($2, $3)
         order by c.aum desc, c.id desc limit $4
        """,
        owner, after[0], after[1], limit,
    )  # fmt: skip


# A holding has nothing to mask: its wire row (mobile_contracts SyncHolding) is built here, in
# PostgreSQL, as the JSON msgspec would write (amount as a decimal string), 40,000 at a time.
_HOLDING = (
    "h.customer_id || ':' || h.product_code as key, json_build_object('id', h.customer_id"
    " || ':' || h.product_code, 'customer_id', h.customer_id, 'product_code', h.product_code,"
    " 'amount', h.amount::text, 'as_of', h.as_of)::text as row_json"
)


async def holdings(
    conn: Connection, owner: uuid.UUID, *, keys: list[tuple[uuid.UUID, str]] | None = None,
    after: tuple[Decimal, uuid.UUID, str] | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By key, or in the customers' walk then by product (`c.aum`, as text, comes along to
    resume)."""
    if keys is not None:
        return await conn.fetch(
            f"""
            select {_HOLDING}, c.aum::text as aum
              from unnest($2::uuid[], $3::text[]) k(customer_id, product_code)
              join holdings h using (customer_id, product_code)
              join customers c on c.id = h.customer_id and c.owner_id = $1
            """,
            owner, [k[0] for k in keys], [k[1] for k in keys],
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_HOLDING}, c.aum::text as aum
              from customers c join holdings h on h.customer_id = c.id
             where c.owner_id = $1
             order by c.aum desc, c.id desc, h.product_code limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_HOLDING}, c.aum::text as aum
          from customers c join holdings h on h.customer_id = c.id
         where c.owner_id = $1 and (c.aum, c.id) <= ($2, $3)
           and ((c.aum, c.id) < ($2, $3) or h.product_code > $4)
         order by c.aum desc, c.id desc, h.product_code limit $5
        """,
        owner, after[0], after[1], after[2], limit,
    )  # fmt: skip


async def notes(
    conn: Connection, owner: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: tuple[Decimal, uuid.UUID, datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id, or in the customers' walk then newest first (the timeline's own index)."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select {_NOTE}, c.aum::text as aum
              from customer_timeline t join customers c on c.id = t.customer_id
             where c.owner_id = $1 and t.source = 'note' and t.id = any($2)
            """,
            owner, ids,
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_NOTE}, c.aum::text as aum
              from customers c join customer_timeline t on t.customer_id = c.id
             where c.owner_id = $1 and t.source = 'note'
             order by c.aum desc, c.id desc, t.occurred_at desc, t.id desc limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_NOTE}, c.aum::text as aum
          from customers c join customer_timeline t on t.customer_id = c.id
         where c.owner_id = $1 and t.source = 'note' and (c.aum, c.id) <= ($2, $3)
           and ((c.aum, c.id) < ($2, $3) or (t.occurred_at, t.id) < ($4, $5))
         order by c.aum desc, c.id desc, t.occurred_at desc, t.id desc limit $6
        """,
        owner, after[0], after[1], after[2], after[3], limit,
    )  # fmt: skip


async def tasks(
    conn: Connection, user: uuid.UUID, subtree_root: uuid.UUID | None, *,
    ids: list[uuid.UUID] | None = None, after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id, or oldest first along (assignee_id, created_at) (a branch head: with the tasks
    of their subtree's users)."""
    if ids is not None:
        return await conn.fetch(
            f"select {_TASK} from tasks t where {_TASK_SCOPE} and t.id = any($3)",
            user, subtree_root, ids,
        )  # fmt: skip
    scope = "t.assignee_id = $1" if subtree_root is None else _SUBTREE_TASKS
    args: list[Any] = [user] if subtree_root is None else [user, subtree_root]
    keyset = ""
    if after is not None:
        keyset = f" and (t.created_at, t.id) > (${len(args) + 1}, ${len(args) + 2})"
        args += [after[0], after[1]]
    return await conn.fetch(
        f"""
        select {_TASK} from tasks t where {scope}{keyset}
         order by t.created_at, t.id limit ${len(args) + 1}
        """,
        *args, limit,
    )  # fmt: skip


async def template_versions(
    conn: Connection, pairs: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], Record]:
    """The form versions the given tasks were issued with."""
    rows = await conn.fetch(
        f"""
        select {_VERSION}
          from unnest($1::uuid[], $2::int[]) k(template_id, version)
          join task_template_versions v using (template_id, version)
          join task_templates tt on tt.id = v.template_id
        """,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(r["id"], r["version"]): r for r in rows}


async def templates(
    conn: Connection, org_unit_id: uuid.UUID, everything: bool, *,
    ids: list[uuid.UUID] | None = None, after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """Current versions of the templates GET /task-templates lists for this org unit."""
    return await conn.fetch(
        f"""
        select {_VERSION} from task_templates tt
          join task_template_versions v
            on v.template_id = tt.id and v.version = tt.current_version
          join org_units owner on owner.id = tt.owner_unit_id
          join org_units me on me.id = $1
         where {_TEMPLATE_SCOPE}
           and ($3::uuid[] is null or tt.id = any($3))
           and ($4::uuid is null or tt.id > $4)
         order by tt.id limit $5
        """,
        org_unit_id, everything, ids, after, limit,
    )  # fmt: skip


_PRODUCT = "code, name, category, risk_level, active"


async def products(
    conn: Connection, *, codes: list[str] | None = None, after: str | None = None,
    limit: int | None = None,
) -> list[Record]:  # fmt: skip
    if codes is not None:
        return await conn.fetch(f"select {_PRODUCT} from products where code = any($1)", codes)
    return await conn.fetch(
        f"""
        select {_PRODUCT} from products
         where ($1::text is null or code collate "C" > $1)
         order by code collate "C" limit $2
        """,
        after, limit,
    )  # fmt: skip


async def notifications(
    conn: Connection, user: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    if ids is not None:
        return await conn.fetch(
            f"""
            select {_NOTIFICATION} from notifications n
             where n.user_id = $1 and {_NOTIFICATION_VISIBLE} and n.id = any($2)
            """,
            user, ids,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_NOTIFICATION} from notifications n
         where n.user_id = $1 and {_NOTIFICATION_VISIBLE} and ($2::uuid is null or n.id > $2)
         order by n.id limit $3
        """,
        user, after, limit,
    )  # fmt: skip


# A brochure as the catalogue shows it: its live version (until the sooner of its live_until and
# the start of the version replacing it), the product's facts, and each page's image (hex) with
# the source image's size, in page order, as [[image, width, height], ...].
_BROCHURE = """
    v.brochure_id, v.version, v.title, v.product_code, v.talk_track, v.tags, v.live_from,
    least(v.live_until, v.replaced_at) as live_until, v.published_at,
    p.name as product_name, p.category, p.risk_level,
    (select json_agg(json_build_array(encode(u.sha, 'hex'), coalesce(i.width, 0),
                                      coalesce(i.height, 0)) order by u.n)
       from unnest(v.pages) with ordinality u(sha, n)
       left join brochure_images i on i.sha256 = u.sha) as pages
"""
# A window edge: when a published version goes live (its live_from, else its publication) or
# expires (its live_until). Both are indexed (migration 0012) for range scans. A version handing
# over to a published one (see brochures.queries.LIVE) ends at that one's start, an edge already,
# or at its own live_until when that comes first (indexed in migration 0033).
_STARTS = "coalesce(v.live_from, v.published_at)"
_HANDOVER_ENDS = "v.live_until < v.replaced_at"


async def brochures(
    conn: Connection, viewer_unit_id: uuid.UUID, now: datetime, *,
    ids: list[uuid.UUID] | None = None, after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id: for each id that is not a brochure, or is one the viewer's unit may see, a row
    (`brochure_id` null unless a version of it is live at `now`); brochures of other units
    give no row. Else the live brochures the viewer may see, in id order (initial sync)."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select k.id as key, {_BROCHURE}
              from unnest($1::uuid[]) k(id)
              left join brochures b on b.id = k.id
              left join brochure_versions v
                on v.brochure_id = b.id and {_LIVE.format("$3")}
              left join products p on p.code = v.product_code
             where b.id is null or {_ON_VIEWERS_PATH.format("$2")}
            """,
            ids, viewer_unit_id, now,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select v.brochure_id as key, {_BROCHURE}
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
         where {_LIVE.format("$2")} and {_ON_VIEWERS_PATH.format("$1")}
           and ($3::uuid is null or v.brochure_id > $3)
         order by v.brochure_id limit $4
        """,
        viewer_unit_id, now, after, limit,
    )  # fmt: skip


async def brochure_edges(
    conn: Connection, viewer_unit_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID],
    until: datetime, limit: int,
) -> list[Record]:  # fmt: skip
    """Window edges of published versions (and of those handing over to them) after `after`
    (time, brochure id) up to `until`, of brochures the viewer may see, in (time, id) order:
    (at, brochure_id). Only brochures with an edge in that range are read."""
    return await conn.fetch(
        f"""
        select e.at, e.brochure_id
          from (select {_STARTS} as at, v.brochure_id
                  from brochure_versions v
                 where v.status = 'published' and ({_STARTS}, v.brochure_id) > ($2, $3)
                   and {_STARTS} <= $4
                union all
                select v.live_until, v.brochure_id
                  from brochure_versions v
                 where v.status = 'published' and v.live_until is not null
                   and (v.live_until, v.brochure_id) > ($2, $3) and v.live_until <= $4
                union all
                select v.live_until, v.brochure_id
                  from brochure_versions v
                 where {_HANDOVER_ENDS}
                   and (v.live_until, v.brochure_id) > ($2, $3) and v.live_until <= $4) e
          join brochures b on b.id = e.brochure_id
         where {_ON_VIEWERS_PATH.format("$1")}
         order by e.at, e.brochure_id
         limit $5
        """,
        viewer_unit_id, after[0], after[1], until, limit,
    )  # fmt: skip


async def window_edges_around(
    conn: Connection, at: datetime
) -> tuple[datetime | None, datetime | None]:
    """The last window edge of any published version at or before `at`, and the first after
    it (None: there is none): no edge lies strictly between them."""
    row = await conn.fetchrow(
        f"""
        select greatest(
                 (select {_STARTS} from brochure_versions v
                   where v.status = 'published' and {_STARTS} <= $1
                   order by 1 desc limit 1),
                 (select v.live_until from brochure_versions v
                   where v.status = 'published' and v.live_until is not null
                     and v.live_until <= $1
                   order by 1 desc limit 1),
                 (select v.live_until from brochure_versions v
                   where {_HANDOVER_ENDS} and v.live_until <= $1
                   order by 1 desc limit 1)) as prev,
               least(
                 (select {_STARTS} from brochure_versions v
                   where v.status = 'published' and {_STARTS} > $1
                   order by 1 limit 1),
                 (select v.live_until from brochure_versions v
                   where v.status = 'published' and v.live_until is not null
                     and v.live_until > $1
                   order by 1 limit 1),
                 (select v.live_until from brochure_versions v
                   where {_HANDOVER_ENDS} and v.live_until > $1
                   order by 1 limit 1)) as next
        """,
        at,
    )
    assert row is not None
    return row["prev"], row["next"]


# ---- surveys (schema 4) ------------------------------------------------------------------------

# A customer survey the viewer may send: published, owned by a unit on the viewer's path to the
# root (as brochures); its latest published version.
_SENDABLE = "s.status = 'published' and s.audience = 'customer'"
_SURVEY_ON_PATH = """
    exists (select from org_units me join org_units owner on owner.id = s.owner_unit_id
             where me.id = {0} and me.path like owner.path || '%')
"""
_SURVEY_VERSION = "v.survey_id, v.version, v.title, v.audience, v.questions, v.published_at"
# A staff survey the user is invited to answer: not answered, not expired.
_OPEN_INVITATION = "i.responded_at is null and i.expires_at > {0}"
_INVITATION = "i.id as invitation_id, i.sent_at, i.expires_at"


async def sendable_surveys(
    conn: Connection, viewer_unit_id: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id: a row for each id that is no survey or one on the viewer's path (`survey_id` null
    unless the viewer may send it now); surveys of other units give no row. Else the customer
    surveys the viewer may send, in id order."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select k.id as key, {_SURVEY_VERSION}
              from unnest($1::uuid[]) k(id)
              left join surveys s on s.id = k.id
              left join survey_versions v
                on v.survey_id = s.id and v.version = s.version and {_SENDABLE}
             where s.id is null or {_SURVEY_ON_PATH.format("$2")}
            """,
            ids, viewer_unit_id,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select s.id as key, {_SURVEY_VERSION}
          from surveys s
          join survey_versions v on v.survey_id = s.id and v.version = s.version
         where {_SENDABLE} and {_SURVEY_ON_PATH.format("$1")}
           and ($2::uuid is null or s.id > $2)
         order by s.id limit $3
        """,
        viewer_unit_id, after, limit,
    )  # fmt: skip


async def survey_invitations(
    conn: Connection, user: uuid.UUID, now: datetime, *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id: the user's invitations among `ids` (`survey_id` null unless open at `now`). Else
    the user's open invitations in id order."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select i.id as key, {_INVITATION}, {_SURVEY_VERSION}
              from survey_invitations i
              left join survey_versions v
                on v.survey_id = i.survey_id and v.version = i.version
               and {_OPEN_INVITATION.format("$3")}
             where i.user_id = $1 and i.id = any($2)
            """,
            user, ids, now,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select i.id as key, {_INVITATION}, {_SURVEY_VERSION}
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
         where i.user_id = $1 and {_OPEN_INVITATION.format("$2")}
           and ($3::uuid is null or i.id > $3)
         order by i.id limit $4
        """,
        user, now, after, limit,
    )  # fmt: skip


# ---- work orders (schema 4) ---------------------------------------------------------------------

# $1: the user; $2: their org subtree's root when they are a branch head (its units' work
# orders), else null. The same holders the change log records (migration 0022).
_WORK_ORDER_SCOPE = (
    "(w.assignee_id = $1 or w.escalated_to_id = $1 or ($2::uuid is not null and w.org_unit_id"
    " in (select s.id from org_subtree($2) s(id))))"
)


async def work_orders(
    conn: Connection, user: uuid.UUID, subtree_root: uuid.UUID | None, *,
    ids: list[uuid.UUID] | None = None, after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[uuid.UUID]:  # fmt: skip
    """Ids of the partition's work orders: among `ids`, or in id order after `after`."""
    if ids is not None:
        rows = await conn.fetch(
            f"select w.id from work_orders w where {_WORK_ORDER_SCOPE} and w.id = any($3)",
            user, subtree_root, ids,
        )  # fmt: skip
    else:
        rows = await conn.fetch(
            f"""
            select w.id from work_orders w
             where {_WORK_ORDER_SCOPE} and ($3::uuid is null or w.id > $3)
             order by w.id limit $4
            """,
            user, subtree_root, after, limit,
        )  # fmt: skip
    return [r["id"] for r in rows]


async def text_questions(conn: Connection, response_id: uuid.UUID) -> set[str]:
    """Keys of the text questions of the version a response answered."""
    rows = await conn.fetch(
        """
        select q ->> 'key' as key
          from survey_responses r
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version,
               jsonb_array_elements(v.questions) q
         where r.id = $1 and q ->> 'type' = 'text'
        """,
        response_id,
    )
    return {r["key"] for r in rows}


# ---- offline clients -----------------------------------------------------------------------------


async def lock_client(
    conn: Connection, user_id: uuid.UUID, client_id: str, ids: list[int]
) -> set[int]:
    """Which of `ids` the client was answered for before, its row locked until the transaction
    ends (a retry racing the first push waits, then answers `duplicate`)."""
    await conn.execute(
        """
        insert into sync_clients (user_id, client_id, last_mutation_id) values ($1, $2, 0)
        on conflict do nothing
        """,
        user_id,
        client_id,
    )
    answered: list[int] = await conn.fetchval(
        """
        select array(select i from unnest($3::bigint[]) i where i <@ answered)
          from sync_clients where user_id = $1 and client_id = $2
           for update
        """,
        user_id,
        client_id,
        ids,
    )
    return set(answered)


async def save_client(
    conn: Connection, user_id: uuid.UUID, client_id: str, answered: list[int], *, kept_gaps: int
) -> int:
    """Add `answered` to the ids the client was answered for; its last answered id. The set
    stays small: it keeps its `kept_gaps` newest ranges, and the older ones become one from id
    1 (the gaps between them count as answered: only a mutation that arrives after that many
    later separated ones could be answered as a duplicate)."""
    last: int = await conn.fetchval(
        """
        update sync_clients c
           set answered = coalesce((
                   select range_agg(case when k <= $4 then r else int8range(1, upper(r)) end)
                     from (select r, row_number() over (order by lower(r) desc) as k
                             from unnest(c.answered + coalesce(
                                      (select range_agg(int8range(i, i + 1))
                                         from unnest($3::bigint[]) i), '{}')) r) parts
               ), '{}'),
               last_mutation_id = greatest(last_mutation_id,  -- greatest skips a null
                                           (select max(i) from unnest($3::bigint[]) i)),
               updated_at = now()
         where user_id = $1 and client_id = $2
        returning last_mutation_id
        """,
        user_id,
        client_id,
        answered,
        kept_gaps,
    )
    return last


# ---- the feed: tails the whole log to tell apps to pull ----------------------------------------


FEED_LOCK = 0x73796E63  # 'sync': held by the one worker whose feed loop leads


async def take_lead(conn: Connection) -> bool:
    """Lead the feed while this connection lives (or until `give_up_lead`)."""
    led: bool = await conn.fetchval("select pg_try_advisory_lock($1)", FEED_LOCK)
    return led


async def give_up_lead(conn: Connection) -> None:
    await conn.execute("select pg_advisory_unlock($1)", FEED_LOCK)


async def feed_position(conn: Connection) -> tuple[int, int]:
    """Where the feed stands ((0, 0): the start of the log, should the row ever be gone)."""
    row = await conn.fetchrow("select txid::text::bigint as txid, seq from sync_feed")
    return (row["txid"], row["seq"]) if row else (0, 0)


async def feed_changes(
    conn: Connection, *, txid: int, seq: int, below_txid: int, limit: int
) -> list[Record]:
    """Who each change after the feed's position is for (the nil uuid: everyone)."""
    return await conn.fetch(
        """
        select l.txid::text::bigint as txid, l.seq, l.user_id, l.entity
          from sync_log l
         where l.txid >= $1::text::xid8 and (l.txid, l.seq) > ($1::text::xid8, $2::bigint)
           and l.txid < $3::text::xid8
         order by l.txid, l.seq
         limit $4
        """,
        str(txid),
        seq,
        str(below_txid),
        limit,
    )


async def save_feed_position(conn: Connection, txid: int, seq: int) -> None:
    await conn.execute(
        """
        insert into sync_feed (txid, seq) values ($1::text::xid8, $2)
        on conflict (id) do update set txid = excluded.txid, seq = excluded.seq
        """,
        str(txid),
        seq,
    )


async def branch_heads_above(conn: Connection, user_ids: list[uuid.UUID]) -> list[Record]:
    """For each user, the branch heads whose subtree holds them: (user_id, head_id)."""
    return await conn.fetch(
        """
        select u.id as user_id, h.id as head_id
          from users u
          join org_units uu on uu.id = u.org_unit_id
          join org_units hu on uu.path like hu.path || '%'
          join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
         where u.id = any($1)
        """,
        user_ids,
    )


async def answers_of(
    conn: Connection, user_id: uuid.UUID, client_id: str, ids: list[int]
) -> dict[int, Record]:
    """What the client was answered for these ids, as kept (`digest`, `answer`: None when
    applied), by id; ids answered before the answers were kept (or purged since) are absent."""
    rows = await conn.fetch(
        """
        select mutation_id, digest, answer from sync_answers
         where user_id = $1 and client_id = $2 and mutation_id = any($3::bigint[])
        """,
        user_id,
        client_id,
        ids,
    )
    return {r["mutation_id"]: r for r in rows}


async def save_answers(
    conn: Connection,
    user_id: uuid.UUID,
    client_id: str,
    answers: list[tuple[int, bytes, bytes | None]],
) -> None:
    """Keep each answered mutation's (id, digest, answer as JSON or None)."""
    if not answers:
        return
    ids, digests, texts = zip(*answers, strict=True)
    await conn.execute(
        """
        insert into sync_answers (user_id, client_id, mutation_id, digest, answer)
        select $1, $2, a.id, a.digest, a.answer::jsonb
          from unnest($3::bigint[], $4::bytea[], $5::text[]) as a(id, digest, answer)
        on conflict do nothing
        """,
        user_id,
        client_id,
        list(ids),
        list(digests),
        [t.decode() if t is not None else None for t in texts],
    )


async def purge_answers(conn: Connection, *, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` kept answers older than the retention; the number deleted."""
    return await _purge(conn, "sync_answers", "answered_at", older_than_days, batch)


async def purge_changes(conn: Connection, *, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` changes older than the retention; the number deleted."""
    return await _purge(conn, "sync_log", "changed_at", older_than_days, batch)


async def _purge(conn: Connection, table: str, stamp: str, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` rows of `table` whose `stamp` is older than the days given (the
    names are this module's constants, never input); the number deleted."""
    result: str = await conn.execute(
        f"""
        delete from {table}
         where ctid = any(array(select ctid from {table}
                                 where {stamp} < now() - make_interval(days => $1)
                                 limit $2))
        """,
        older_than_days,
        batch,
    )
    return int(result.rsplit(" ", 1)[-1])

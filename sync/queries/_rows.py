"""Rows of a partition: by key (for changes) and in key order (initial sync)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sync.queries._common import Record
from workbench.brochures.queries import _ON_VIEWERS_PATH
from workbench.brochures.queries import LIVE as _LIVE
from workbench.customers.queries import _SUMMARY as _CUSTOMER
from workbench.customers.queries import ACTIVE as _ACTIVE
from workbench.db import Connection
from workbench.tasks.queries._common import _TASK, _VERSION

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
_HELD = "h.amount > 0"  # a position at 0 is closed (sold): not on the device


# ---- rows of the partition: by key (for changes) and in key order (initial sync) --------------


# Initial sync walks an RM's customers richest first, along the list's own index
# (owner_id, aum desc, id desc); holdings and notes follow the same walk. An AUM that changes
# mid-walk is a change after the sync's start position: the catch-up sends that row again.
# A customer who left the bank (closed) is in no partition, and neither are their holdings and
# notes; nor is a position at 0 (sold). Read by key, such a row is missing: a delete.
# First pages and later pages are separate statements, so that a cached generic plan still
# starts the index scan at the keyset position.


async def customers(
    conn: Connection, owner: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: tuple[Decimal, uuid.UUID] | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    if ids is not None:
        return await conn.fetch(
            f"select {_CUSTOMER} from customers c"
            f" where c.owner_id = $1 and c.id = any($2) and {_ACTIVE}",
            owner, ids,
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_CUSTOMER} from customers c where c.owner_id = $1 and {_ACTIVE}
             order by c.aum desc, c.id desc limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_CUSTOMER} from customers c
         where c.owner_id = $1 and {_ACTIVE} and (c.aum, c.id) < ($2, $3)
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
              join customers c on c.id = h.customer_id and c.owner_id = $1 and {_ACTIVE}
             where {_HELD}
            """,
            owner, [k[0] for k in keys], [k[1] for k in keys],
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_HOLDING}, c.aum::text as aum
              from customers c join holdings h on h.customer_id = c.id
             where c.owner_id = $1 and {_ACTIVE} and {_HELD}
             order by c.aum desc, c.id desc, h.product_code limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_HOLDING}, c.aum::text as aum
          from customers c join holdings h on h.customer_id = c.id
         where c.owner_id = $1 and {_ACTIVE} and {_HELD} and (c.aum, c.id) <= ($2, $3)
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
             where c.owner_id = $1 and {_ACTIVE} and t.source = 'note' and t.id = any($2)
            """,
            owner, ids,
        )  # fmt: skip
    if after is None:
        return await conn.fetch(
            f"""
            select {_NOTE}, c.aum::text as aum
              from customers c join customer_timeline t on t.customer_id = c.id
             where c.owner_id = $1 and {_ACTIVE} and t.source = 'note'
             order by c.aum desc, c.id desc, t.occurred_at desc, t.id desc limit $2
            """,
            owner, limit,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select {_NOTE}, c.aum::text as aum
          from customers c join customer_timeline t on t.customer_id = c.id
         where c.owner_id = $1 and {_ACTIVE} and t.source = 'note'
           and (c.aum, c.id) <= ($2, $3)
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

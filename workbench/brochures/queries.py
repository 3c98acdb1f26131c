"""SQL of product brochures: the only place that talks to PostgreSQL about them.

Scope is applied here, in SQL: staff (marketing, compliance) see the brochures owned by units of
their subtree (admins: all); RMs and branch heads see the live versions of brochures owned by a
unit on their path to the root (head office brochures reach everyone).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record

_VERSION = """
    v.brochure_id, v.version, v.title, v.product_code, v.talk_track, v.tags, v.pages,
    v.content_hash, v.status, v.approved_hash, v.reject_reason, v.live_from, v.live_until,
    v.created_by, v.created_at, v.submitted_by, v.submitted_at, v.reviewed_by, v.reviewed_at,
    v.published_by, v.published_at, v.replaced_at, v.updated_at, v.edited_by,
    v.approved_risk_level, v.requested_from, v.requested_until, v.approved_from,
    v.approved_until, v.unpublished_by, v.unpublished_at, v.unpublish_reason, v.withdrawn
"""
# `product_active`: whether the bank still offers the product (a brochure of a withdrawn one is
# not live; staff views still list it).
_PRODUCT = "p.name as product_name, p.category, p.risk_level, p.active as product_active"
# The published version of the brochure (`pv`), beside another of its versions.
_PUBLISHED = """
    pv.version as published_version, pv.live_from as published_from,
    pv.live_until as published_until, pv.published_at as published_on
"""
# The version live now (`lw`, in its live window: the published one, or a superseded one until
# the published one starts), beside another of the brochure's versions; `in_window`: IN_WINDOW
# formatted with now's parameter. The subquery's own `v` (which IN_WINDOW names) is the
# candidate version, hiding the outer query's `v`.
_LIVE_NOW = """
          left join lateral (select v.version, v.live_until, v.replaced_at
                               from brochure_versions v
                              where v.brochure_id = b.id and {in_window}
                              order by v.version desc limit 1) lw on true
"""
_LIVE_NOW_COLUMNS = """
    lw.version as live_version, lw.live_until as live_version_until,
    lw.replaced_at as live_version_replaced_at
"""
# A version's live window: a published version from live_from (or its publication) until
# live_until (or ever); a version superseded by one published to start later stays in its own
# window until that start (replaced_at), so the two hand over with no gap and no overlap.
IN_WINDOW = "(v.status = 'published' or (v.status = 'superseded' and v.replaced_at > {0})) " \
    "and coalesce(v.live_from, v.published_at) <= {0} " \
    "and (v.live_until is null or v.live_until > {0})"  # fmt: skip
# What is live, the one rule every reader applies (catalogue, GET by id, page downloads, new
# shares, share pages and posters, sync, media packs): a version in its live window whose product
# the bank still offers (`products.active`, from the product feed) at the risk level compliance
# approved it at (`approved_risk_level`). A product withdrawn, or given another risk level by the
# feed, takes its brochures off everywhere at once; offered again (at the approved level), they
# are back while their window holds; at a new level, once compliance approves them at it.
LIVE = f"({IN_WINDOW} " \
    "and exists (select from products live_p where live_p.code = v.product_code" \
    " and live_p.active and live_p.risk_level = v.approved_risk_level))"  # fmt: skip
# Of a staff list's row (latest version `v` and its product `p`, published version `pv`, brochure
# `b`): why compliance withdrew the brochure, while that is their last decision on it (no
# approval since); whether the product's risk level is no longer the one the approval RMs would
# get it under was given at (the published version's, else the latest version's if approved).
_HELD = """
    (select case when r.decision = 'withdrawn' then r.reason end from brochure_reviews r
      where r.brochure_id = b.id order by r.id desc limit 1) as withdrawal_reason,
    coalesce(case when pv.version is not null
                  then pv.approved_risk_level is distinct from
                       (select pp.risk_level from products pp where pp.code = pv.product_code)
                  else v.status in ('approved', 'unpublished') and v.approved_hash = v.content_hash
                       and v.approved_risk_level is distinct from p.risk_level end, false)
        as risk_changed
"""
# The viewer's unit is the owner unit or below it.
_ON_VIEWERS_PATH = """
    exists (select from org_units me join org_units owner on owner.id = b.owner_unit_id
             where me.id = {0} and me.path like owner.path || '%')
"""
# The owner unit is the staff member's unit or below it (no root: the whole bank).
_IN_STAFF_SCOPE = """
    ({0}::uuid is null or b.owner_unit_id in (select s.id from org_subtree({0}) s(id)))
"""


async def insert_brochure(
    conn: Connection, *, brochure_id: uuid.UUID, owner_unit_id: uuid.UUID, created_by: uuid.UUID
) -> None:
    await conn.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure_id,
        owner_unit_id,
        created_by,
    )


async def insert_version(conn: Connection, fields: dict[str, Any]) -> None:
    columns = ", ".join(fields)
    values = ", ".join(f"${n}" for n in range(1, len(fields) + 1))
    await conn.execute(
        f"insert into brochure_versions ({columns}) values ({values})", *fields.values()
    )


async def update_version(
    conn: Connection, brochure_id: uuid.UUID, version: int, fields: dict[str, Any]
) -> None:
    """Set the given columns of one version (and its updated_at)."""
    sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(fields, start=3))
    await conn.execute(
        f"update brochure_versions set {sets}, updated_at = now()"
        " where brochure_id = $1 and version = $2",
        brochure_id,
        version,
        *fields.values(),
    )


async def staff_brochure(
    conn: Connection, brochure_id: uuid.UUID, *, scope_root: uuid.UUID | None, lock: bool = False
) -> Record | None:
    """The brochure (owner, creator), if in the staff member's scope; locked for a change."""
    return await conn.fetchrow(
        f"""
        select b.id, b.owner_unit_id, b.created_by, b.created_at
          from brochures b
         where b.id = $1 and {_IN_STAFF_SCOPE.format("$2")}
         {"for update of b" if lock else ""}
        """,
        brochure_id,
        scope_root,
    )


async def versions(conn: Connection, brochure_id: uuid.UUID) -> list[Record]:
    """Every version of a brochure, newest first, with its product's facts."""
    return await conn.fetch(
        f"""
        select {_VERSION}, {_PRODUCT}
          from brochure_versions v join products p on p.code = v.product_code
         where v.brochure_id = $1
         order by v.version desc
        """,
        brochure_id,
    )


async def staff_list(
    conn: Connection,
    *,
    scope_root: uuid.UUID | None,
    statuses: list[str] | None,
    q: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime,
) -> list[Record]:
    """Brochures of the staff member's scope by their latest version, most recently changed
    first, with the published version and the one live `now`; `statuses` filters on the latest
    version's status (`live`... are derived later)."""
    where = Where()
    where.add(_IN_STAFF_SCOPE, scope_root)
    where.when(statuses, "v.status = any({}::text[])")
    if q:
        where.add("strpos(lower(v.title), lower({})) > 0", q)
    if after is not None:
        where.add("(v.updated_at, v.brochure_id) < ({}, {})", *after)
    live_now = _LIVE_NOW.format(in_window=IN_WINDOW.format(where.param(now)))
    return await conn.fetch(
        f"""
        select {_VERSION}, {_PRODUCT}, b.owner_unit_id, {_PUBLISHED}, {_LIVE_NOW_COLUMNS},
               {_HELD}
          from brochures b
          join lateral (select * from brochure_versions lv where lv.brochure_id = b.id
                         order by lv.version desc limit 1) v on true
          join products p on p.code = v.product_code
          left join brochure_versions pv on pv.brochure_id = b.id and pv.status = 'published'
          {live_now}
         where {where.sql}
         order by v.updated_at desc, v.brochure_id desc
         limit {where.param(limit)}
        """,
        *where.args,
    )


async def review_queue(
    conn: Connection, *, scope_root: uuid.UUID | None, now: datetime
) -> list[Record]:
    """Versions waiting for compliance, oldest submission first, with the published version and
    the one live `now`."""
    return await conn.fetch(
        f"""
        select {_VERSION}, {_PRODUCT}, b.owner_unit_id, {_PUBLISHED}, {_LIVE_NOW_COLUMNS},
               {_HELD}
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
          left join brochure_versions pv on pv.brochure_id = b.id and pv.status = 'published'
          {_LIVE_NOW.format(in_window=IN_WINDOW.format("$2"))}
         where v.status = 'pending_review' and {_IN_STAFF_SCOPE.format("$1")}
         order by v.submitted_at, v.brochure_id
        """,
        scope_root,
        now,
    )


async def review_count(conn: Connection, *, scope_root: uuid.UUID | None) -> int:
    """How many versions wait for compliance in the staff member's scope."""
    count: int = await conn.fetchval(
        f"""
        select count(*)
          from brochure_versions v join brochures b on b.id = v.brochure_id
         where v.status = 'pending_review' and {_IN_STAFF_SCOPE.format("$1")}
        """,
        scope_root,
    )
    return count


async def first_pages(
    conn: Connection,
    versions: list[tuple[uuid.UUID, int]],
    *,
    scope_root: uuid.UUID | None,
) -> list[Record]:
    """The first page image of these versions (brochure id, version) of the staff member's
    scope."""
    return await conn.fetch(
        f"""
        select v.brochure_id, v.version, v.pages[1] as image
          from unnest($1::uuid[], $2::int[]) k(brochure_id, version)
          join brochure_versions v on v.brochure_id = k.brochure_id and v.version = k.version
          join brochures b on b.id = v.brochure_id
         where {_IN_STAFF_SCOPE.format("$3")}
        """,
        [brochure for brochure, _ in versions],
        [version for _, version in versions],
        scope_root,
    )


async def user_names(conn: Connection, user_ids: list[uuid.UUID]) -> list[Record]:
    """The names of the staff who made, reviewed or published versions."""
    return await conn.fetch("select id, name from users where id = any($1::uuid[])", user_ids)


async def catalogue(
    conn: Connection,
    *,
    viewer_unit_id: uuid.UUID,
    now: datetime,
    category: str | None,
    tag: str | None,
    max_risk: int | None,
    q: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """Live versions the viewer may see, newest publication first."""
    where = Where()
    where.add(LIVE, now)
    where.add(_ON_VIEWERS_PATH, viewer_unit_id)
    where.when(category, "p.category = {}")
    where.when(tag, "v.tags ? {}")
    where.when(max_risk, "p.risk_level <= {}")
    if q:
        where.add(
            "(strpos(lower(v.title), lower({0})) > 0 or strpos(lower(p.name), lower({0})) > 0"
            " or strpos(lower(v.product_code), lower({0})) > 0"
            " or strpos(lower(v.talk_track), lower({0})) > 0)",
            q,
        )
    if after is not None:
        where.add("(v.published_at, v.brochure_id) < ({}, {})", *after)
    return await conn.fetch(
        f"""
        select {_VERSION}, {_PRODUCT}
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
         where {where.sql}
         order by v.published_at desc, v.brochure_id desc
         limit {where.param(limit)}
        """,
        *where.args,
    )


async def live_version(
    conn: Connection, brochure_id: uuid.UUID, *, viewer_unit_id: uuid.UUID, now: datetime
) -> Record | None:
    """The live version of one brochure, if the viewer may see it now."""
    return await conn.fetchrow(
        f"""
        select {_VERSION}, {_PRODUCT}
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
         where v.brochure_id = $1 and {LIVE.format("$3")} and {_ON_VIEWERS_PATH.format("$2")}
        """,
        brochure_id,
        viewer_unit_id,
        now,
    )


async def live_versions_of(
    conn: Connection, brochure_ids: list[uuid.UUID], *, now: datetime
) -> list[Record]:
    """The versions among these brochures in their live window now, whether or not their product
    is still offered, with their owner unit: publishing decides by it which version hands over
    to the new one (so a brochure of a product withdrawn for a while comes back as it would
    have been). What RMs, links and devices see is `LIVE`."""
    return await conn.fetch(
        f"""
        select {_VERSION}, {_PRODUCT}, b.owner_unit_id
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
         where v.brochure_id = any($1::uuid[]) and {IN_WINDOW.format("$2")}
        """,
        brochure_ids,
        now,
    )


async def product(conn: Connection, code: str) -> Record | None:
    return await conn.fetchrow(
        "select code, name, category, risk_level, active from products where code = $1", code
    )


async def customer_risk(
    conn: Connection, customer_id: uuid.UUID, *, owner_id: uuid.UUID
) -> int | None:
    """The assessed risk level (1-5) of one of this RM's own customers."""
    level: int | None = await conn.fetchval(
        "select risk_level from customers where id = $1 and owner_id = $2", customer_id, owner_id
    )
    return level


async def images(conn: Connection, shas: list[bytes]) -> list[Record]:
    """Width and height of source images."""
    return await conn.fetch(
        "select sha256, width, height from brochure_images where sha256 = any($1::bytea[])", shas
    )


async def any_image_uploaded_by(conn: Connection, shas: list[bytes], user_id: uuid.UUID) -> bool:
    """Whether the user uploaded any of these page images (first, as images are stored once)."""
    found: bool = await conn.fetchval(
        "select exists (select from brochure_images where sha256 = any($1::bytea[])"
        " and uploaded_by = $2)",
        shas,
        user_id,
    )
    return found


async def any_brochure(conn: Connection) -> bool:
    found: bool = await conn.fetchval("select exists (select from brochures)")
    return found


async def products(conn: Connection) -> list[Record]:
    """Every active product (for the demo brochures and the console's product choice)."""
    return await conn.fetch(
        "select code, name, category, risk_level from products where active order by code"
    )


async def user_for_login(conn: Connection, login: str) -> Record | None:
    return await conn.fetchrow(
        "select id, role, org_unit_id from users where lower(login) = lower($1) and active", login
    )

"""SQL of brochure media packs: what is live for an RM, its fingerprint, and the packs' rows.

What is live for an RM is what their catalogue shows (`workbench.brochures.queries`): the
published version of each brochure owned by a unit on their path to the root, within its live
window at `now`, of a product the bank still offers (`LIVE`: a product withdrawn changes the
fingerprint, and the pack is rebuilt without its brochures). A pack holds one rendition spec
(the WebP of a size) of every page.

A pack is served only to its owner, and only while they are an active RM (`held_by`): the worker
rebuilds the packs of active RMs alone, so the last pack of a user who is no RM any more (another
role now, or disabled) still lists the brochures withdrawn since, and must not reach them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from sync.packages.queries import PACKAGE_COLUMNS
from workbench.brochures.queries import LIVE
from workbench.db import Connection

Record = asyncpg.Record


def held_by(pack: str, user: str) -> str:
    """SQL: the package `pack` (an offline_packages alias) is a media pack `user` (a parameter)
    may have now: they own it and are an active RM."""
    return f"""(
        {pack}.owner_id = {user}
        and exists (select 1 from users holder
                     where holder.id = {pack}.owner_id and holder.role = 'rm' and holder.active)
    )"""


# Each brochure a pack would hold as one text item: the live ones whose pages' renditions are all
# ready (`media.PackBrochure.complete`), each as id, version, content hash and the ready
# rendition key of every page in order; $1 is now, $2 the rendition spec. A brochure still left
# out has no item: a rendition of it becoming ready changes nothing until the last one does.
_LIVE_ITEMS = f"""
    live_items as (
        select v.brochure_id, owner.path as owner_path,
               v.brochure_id::text || ':' || v.version || ':' || encode(v.content_hash, 'hex')
               || ':' || coalesce(built.keys, '') as item
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join org_units owner on owner.id = b.owner_unit_id
         cross join lateral (
               select string_agg(r.blob_key, ',' order by p.n) as keys,
                      count(*) filter (where r.blob_key is null) as missing
                 from unnest(v.pages) with ordinality p(sha, n)
                 left join brochure_renditions r
                        on r.image_sha256 = p.sha and r.spec = $2 and r.status = 'ready'
               ) built
         where {LIVE.format("$1")} and built.missing = 0
    )
"""
# The fingerprint of each unit that has active RMs ($3: one RM only, or null for all): SHA-256
# (hex) over the sorted items of the brochures live there; the same for every RM of the unit.
_FINGERPRINTS = f"""
    with {_LIVE_ITEMS},
    rm_units as (
        select distinct u.org_unit_id from users u
         where u.role = 'rm' and u.active and ($3::uuid is null or u.id = $3)
    ),
    prints as (
        select unit.id as unit_id,
               encode(sha256(convert_to(
                   coalesce(string_agg(i.item, '|' order by i.brochure_id), ''), 'UTF8'
               )), 'hex') as fingerprint
          from rm_units
          join org_units unit on unit.id = rm_units.org_unit_id
          left join live_items i on unit.path like i.owner_path || '%'
         group by unit.id
    )
"""


async def stale_packs(
    conn: Connection,
    *,
    app_id: str,
    spec: str,
    now: datetime,
    renew_before: datetime,
    limit: int,
) -> list[Record]:
    """Active RMs whose last pack of `app_id` was built from another catalogue than the one live
    for them now, or expires before `renew_before`, or who have none: (owner_id, fingerprint)."""
    return await conn.fetch(
        f"""
        {_FINGERPRINTS}
        select u.id as owner_id, p.fingerprint
          from users u
          join prints p on p.unit_id = u.org_unit_id
          left join lateral (
              select o.catalogue_fingerprint, o.expires_at from offline_packages o
               where o.owner_id = u.id and o.app_id = $4
               order by o.version desc limit 1
          ) last on true
         where u.role = 'rm' and u.active
           and (last.catalogue_fingerprint is distinct from p.fingerprint
                or last.expires_at < $5)
         order by u.id
         limit $6
        """,
        now,
        spec,
        None,
        app_id,
        renew_before,
        limit,
    )


async def fingerprint_of(
    conn: Connection, owner_id: uuid.UUID, *, spec: str, now: datetime
) -> str | None:
    """The fingerprint of what is live for this RM now (None: not an active RM)."""
    value: str | None = await conn.fetchval(
        f"""
        {_FINGERPRINTS}
        select p.fingerprint from users u join prints p on p.unit_id = u.org_unit_id
         where u.id = $3
        """,
        now,
        spec,
        owner_id,
    )
    return value


async def live_pages(
    conn: Connection, owner_id: uuid.UUID, *, spec: str, now: datetime
) -> list[Record]:
    """Every page of every brochure live for this RM now, with its rendition's blob key when
    that is built: brochure id, version, title, page number (from 1), blob_key (or null)."""
    return await conn.fetch(
        f"""
        select v.brochure_id, v.version, v.title, p.n::int as page, r.blob_key
          from users me
          join org_units mine on mine.id = me.org_unit_id
          join org_units owner on mine.path like owner.path || '%'
          join brochures b on b.owner_unit_id = owner.id
          join brochure_versions v on v.brochure_id = b.id
         cross join lateral unnest(v.pages) with ordinality p(sha, n)
          left join brochure_renditions r
                 on r.image_sha256 = p.sha and r.spec = $2 and r.status = 'ready'
         where me.id = $3 and me.role = 'rm' and me.active and {LIVE.format("$1")}
         order by v.brochure_id, p.n
        """,
        now,
        spec,
        owner_id,
    )


async def try_lock_pack(conn: Connection, owner_id: uuid.UUID, app_id: str) -> bool:
    """Hold this RM's pack of `app_id` for the transaction, unless another worker holds it."""
    held: bool = await conn.fetchval(
        "select pg_try_advisory_xact_lock(hashtext('media-pack'), hashtext($1::uuid::text || $2))",
        owner_id,
        app_id,
    )
    return held


async def lock_catalogue(conn: Connection, app_id: str, fingerprint: str) -> None:
    """Wait for and hold, for the transaction, the building of `app_id` packs of this catalogue:
    a second RM with the same catalogue then finds the first one's pack, committed, to share."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('media-pack:' || $1 || ':' || $2, 0))",
        app_id,
        fingerprint,
    )


async def last_pack(conn: Connection, owner_id: uuid.UUID, app_id: str) -> Record | None:
    """The RM's newest pack of `app_id`."""
    return await conn.fetchrow(
        """
        select id, app_id, version, sha256, size, blob_key, signature, key_id, issued_at,
               expires_at, catalogue_fingerprint
          from offline_packages
         where owner_id = $1 and app_id = $2
         order by version desc limit 1
        """,
        owner_id,
        app_id,
    )


async def current_pack(conn: Connection, user_id: uuid.UUID, app_id: str) -> Record | None:
    """The newest pack of `app_id` this user may have now (theirs, while they are an active RM;
    None for anyone else, whatever packs they owned as an RM)."""
    return await conn.fetchrow(
        f"""
        select p.id, p.app_id, p.version, p.sha256, p.size, p.blob_key, p.signature, p.key_id,
               p.issued_at, p.expires_at, p.catalogue_fingerprint
          from offline_packages p
         where p.owner_id = $1 and p.app_id = $2 and {held_by("p", "$1")}
         order by p.version desc limit 1
        """,
        user_id,
        app_id,
    )


async def package_for_download(
    conn: Connection, *, package_id: uuid.UUID, user_id: uuid.UUID
) -> Record | None:
    """The package if this user may download it: any H5 package (no owner); a media pack only
    its owner, while they are an active RM."""
    return await conn.fetchrow(
        f"""
        select {PACKAGE_COLUMNS} from offline_packages p
         where p.id = $1 and (p.owner_id is null or {held_by("p", "$2")})
        """,
        package_id,
        user_id,
    )


async def next_version(conn: Connection, app_id: str) -> int:
    """A version of `app_id` above every pack of it so far; call it holding the RM's pack lock.

    So each RM's versions only go up. No app-wide lock is taken (builds of different RMs run in
    parallel): two RMs' packs built at once may get the same number, which the table allows (a
    version is unique per app id and owner) and no device can tell, each seeing only its own."""
    version: int = await conn.fetchval(
        "select coalesce(max(version), 0) + 1 from offline_packages where app_id = $1", app_id
    )
    return version


async def shared_pack(
    conn: Connection, *, app_id: str, fingerprint: str, above: int, fresh_until: datetime
) -> Record | None:
    """The newest pack of `app_id` built (for any RM) from this catalogue, if its version is
    above `above` and it does not expire before `fresh_until`."""
    return await conn.fetchrow(
        """
        select version, sha256, size, blob_key, manifest, signature, key_id, min_app_version,
               issued_at, expires_at
          from offline_packages
         where app_id = $1 and catalogue_fingerprint = $2 and version > $3 and expires_at >= $4
         order by version desc limit 1
        """,
        app_id,
        fingerprint,
        above,
        fresh_until,
    )


async def insert_pack(conn: Connection, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    values = ", ".join(f"${n}" for n in range(1, len(row) + 1))
    await conn.execute(
        f"insert into offline_packages ({columns}) values ({values})",
        *row.values(),
    )

"""SQL of gray releases, the `latest` resolution and install reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from workbench.app_version import AppVersion
from workbench.db import Connection

_RELEASE = """
    r.id, r.app_id, r.package_id, p.version, r.state, r.percent, r.org_unit_ids, r.user_ids,
    r.within_release_ids, r.created_at, r.updated_at
"""


def _in_audience(alias: str) -> str:
    """Whether release `alias` names the user ($2, in org unit $3, sticky bucket $4) by its own
    percentage, org subtrees or user list."""
    return f"""({alias}.percent * 100 > $4
                or $2 = any({alias}.user_ids)
                or exists (select from org_units root, org_units mine
                            where root.id = any({alias}.org_unit_ids) and mine.id = $3
                              and mine.path >= root.path and mine.path < root.path || '~'))"""


# A release includes a user when its own audience names them and, for a roll-forward release,
# so does every release it is within (its files' release and the rolled-back release's own).
INCLUDES = f"""{_in_audience("r")}
           and not exists (select from offline_releases w
                            where w.id = any(r.within_release_ids)
                              and not {_in_audience("w")})"""


async def package_for_release(conn: Connection, package_id: uuid.UUID) -> asyncpg.Record | None:
    """An H5 package (media packs are served to their owner, never released), locked."""
    return await conn.fetchrow(
        """select id, app_id, version, kind from offline_packages
            where id = $1 and kind = 'h5' for update""",
        package_id,
    )


async def open_release(conn: Connection, package_id: uuid.UUID) -> asyncpg.Record | None:
    """The active or paused release of a package, locked."""
    return await conn.fetchrow(
        f"""select {_RELEASE}
              from offline_releases r join offline_packages p on p.id = r.package_id
             where r.package_id = $1 and r.state in ('active', 'paused')
             for update of r""",
        package_id,
    )


async def latest_release(conn: Connection, package_id: uuid.UUID) -> asyncpg.Record | None:
    """The package's most recent release of any state, locked."""
    return await conn.fetchrow(
        f"""select {_RELEASE}
              from offline_releases r join offline_packages p on p.id = r.package_id
             where r.package_id = $1
             order by r.created_at desc, r.id desc limit 1
             for update of r""",
        package_id,
    )


async def higher_open_version(conn: Connection, *, app_id: str, above: int) -> int | None:
    """The highest version of the app id's open (active or paused) releases above `above`."""
    version = await conn.fetchval(
        """select max(p.version)
             from offline_releases r join offline_packages p on p.id = r.package_id
            where r.app_id = $1 and r.state in ('active', 'paused') and p.version > $2
              and p.owner_id is null""",
        app_id,
        above,
    )
    return None if version is None else int(version)


async def active_releases_below(
    conn: Connection, *, app_id: str, below_version: int
) -> list[asyncpg.Record]:
    """The app id's active H5 releases below that version, lowest first, with what re-issuing
    their files needs: what the users of a release at that version were answered before it."""
    return await conn.fetch(
        """select r.id as release_id, r.within_release_ids, p.id, p.version, p.kind,
                  p.blob_key, p.min_app_version
             from offline_releases r join offline_packages p on p.id = r.package_id
            where r.app_id = $1 and r.state = 'active' and p.version < $2
              and p.owner_id is null and p.kind = 'h5'
            order by p.version""",
        app_id,
        below_version,
    )


async def insert_release(
    conn: Connection,
    *,
    release_id: uuid.UUID,
    app_id: str,
    package_id: uuid.UUID,
    percent: Decimal,
    org_unit_ids: Sequence[uuid.UUID],
    user_ids: Sequence[uuid.UUID],
    created_by: uuid.UUID,
    within_release_ids: Sequence[uuid.UUID] = (),
) -> None:
    await conn.execute(
        """insert into offline_releases
               (id, app_id, package_id, state, percent, org_unit_ids, user_ids, created_by,
                within_release_ids)
           values ($1, $2, $3, 'active', $4, $5, $6, $7, $8)""",
        release_id,
        app_id,
        package_id,
        percent,
        list(org_unit_ids),
        list(user_ids),
        created_by,
        list(within_release_ids),
    )


async def widen_release(
    conn: Connection,
    release_id: uuid.UUID,
    *,
    percent: Decimal,
    org_unit_ids: Sequence[uuid.UUID],
    user_ids: Sequence[uuid.UUID],
) -> None:
    await conn.execute(
        """update offline_releases
              set percent = $2, org_unit_ids = $3, user_ids = $4, updated_at = now()
            where id = $1""",
        release_id,
        percent,
        list(org_unit_ids),
        list(user_ids),
    )


async def set_state(conn: Connection, release_id: uuid.UUID, state: str) -> None:
    await conn.execute(
        "update offline_releases set state = $2, updated_at = now() where id = $1",
        release_id,
        state,
    )


async def release(conn: Connection, release_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""select {_RELEASE}
              from offline_releases r join offline_packages p on p.id = r.package_id
             where r.id = $1""",
        release_id,
    )
    assert row is not None
    return row


async def known_units(conn: Connection, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch("select id from org_units where id = any($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


async def known_users(conn: Connection, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch("select id from users where id = any($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


# A dotted app version as an array that compares numerically (1.10.0 above 1.9.0), trailing
# zero parts dropped first ("2.3" is "2.3.0"), as the app's verifier compares them.
def _version_array(expression: str) -> str:
    return f"string_to_array(regexp_replace({expression}, '(\\.0+)+$', ''), '.')::numeric[]"


async def package_for_user(
    conn: Connection,
    *,
    app_id: str,
    user_id: uuid.UUID,
    org_unit_id: uuid.UUID,
    bucket: int,
    app_version: AppVersion | None,
    now: datetime,
) -> asyncpg.Record | None:
    """The highest H5 version among the app id's active releases that include this user: listed,
    in one of the release's org subtrees, or in by the sticky bucket (`bucket` < percent x 100),
    and in every release a roll-forward release is within (`INCLUDES`).

    Only a package the app can install: its manifest not expired at `now`, and its
    `min_app_version` at most `app_version` (None: any; a pre-release is below its release)."""
    return await conn.fetchrow(
        f"""
        select p.id, p.version, p.sha256, p.size, p.signature, p.key_id, r.id as release_id
          from offline_releases r
          join offline_packages p on p.id = r.package_id and p.kind = 'h5'
         where r.app_id = $1 and r.state = 'active'
           and {INCLUDES}
           and p.expires_at > $6
           and ($5::text is null
                or {_version_array("p.min_app_version")} < {_version_array("$5::text")}
                or ({_version_array("p.min_app_version")} = {_version_array("$5::text")}
                    and $7::boolean))
         order by p.version desc
         limit 1
        """,
        app_id,
        user_id,
        org_unit_id,
        bucket,
        None if app_version is None else app_version.dotted,
        now,
        app_version is None or app_version.released,
    )


async def withdrawn(conn: Connection, *, app_id: str, sha256: str) -> bool:
    """Whether the H5 package hashing to `sha256` was rolled back and is not released again."""
    return bool(
        await conn.fetchval(
            """select exists (
                   select from offline_packages p
                    where p.app_id = $1 and p.sha256 = $2 and p.kind = 'h5'
                      and exists (select from offline_releases r
                                   where r.package_id = p.id and r.state = 'rolled_back')
                      and not exists (select from offline_releases r
                                       where r.package_id = p.id
                                         and r.state in ('active', 'paused')))""",
            app_id,
            sha256,
        )
    )


async def issued_package(conn: Connection, *, app_id: str, sha256: str) -> asyncpg.Record | None:
    """The H5 package of the app id the server issued with that file hash (a device's `current`)."""
    return await conn.fetchrow(
        """select id, version, sha256, size, signature, key_id from offline_packages
            where app_id = $1 and sha256 = $2 and kind = 'h5' and owner_id is null""",
        app_id,
        sha256,
    )


async def offered_package(
    conn: Connection,
    *,
    app_id: str,
    version: int,
    sha256: str,
    user_id: uuid.UUID,
    org_unit_id: uuid.UUID,
    bucket: int,
) -> asyncpg.Record | None:
    """The H5 package of that app id, version and hash if a release of it (active, paused or
    rolled back) includes this user: one `latest` could have answered them."""
    return await conn.fetchrow(
        f"""select p.id from offline_packages p
             where p.app_id = $1 and p.version = $5 and p.sha256 = $6 and p.kind = 'h5'
               and exists (select from offline_releases r
                            where r.package_id = p.id and {INCLUDES})""",
        app_id,
        user_id,
        org_unit_id,
        bucket,
        version,
        sha256,
    )


async def upsert_install(
    conn: Connection,
    *,
    device_id: str,
    user_id: uuid.UUID,
    app_id: str,
    version: int,
    sha256: str,
) -> asyncpg.Record | None:
    """Record what the device installed; None when the device is not this user's."""
    return await conn.fetchrow(
        """
        insert into offline_package_installs (device_id, user_id, app_id, version, sha256)
        select d.device_id, $2, $3, $4, $5 from devices d
         where d.device_id = $1 and d.user_id = $2
        on conflict (device_id, app_id) do update
           set user_id = excluded.user_id, version = excluded.version,
               sha256 = excluded.sha256, reported_at = now()
        returning device_id, app_id, version, sha256, reported_at
        """,
        device_id,
        user_id,
        app_id,
        version,
        sha256,
    )


# ---- the console -------------------------------------------------------------------------------


async def h5_packages(conn: Connection, *, per_app: int) -> list[asyncpg.Record]:
    """The H5 packages of every app id, newest version first: the `per_app` highest versions of
    each, and every package whose release is open (active or paused), however old."""
    return await conn.fetch(
        """select p.id, p.app_id, p.version, p.size, p.sha256, p.key_id, p.min_app_version,
                  p.expires_at, p.created_at
             from (select o.*, row_number() over (partition by o.app_id
                                                   order by o.version desc) as place
                     from offline_packages o where o.kind = 'h5') p
            where p.place <= $1
               or exists (select from offline_releases r
                           where r.package_id = p.id and r.state in ('active', 'paused'))
            order by p.app_id, p.version desc""",
        per_app,
    )


async def releases_of_apps(
    conn: Connection, app_ids: Sequence[str], *, package_ids: Sequence[uuid.UUID]
) -> list[asyncpg.Record]:
    """The open releases of the app ids, and the others (rolled back) of the packages listed."""
    return await conn.fetch(
        f"""select {_RELEASE}
              from offline_releases r join offline_packages p on p.id = r.package_id
             where r.app_id = any($1::text[])
               and (r.state in ('active', 'paused') or r.package_id = any($2::uuid[]))
             order by r.app_id, p.version desc, r.created_at desc""",
        list(app_ids),
        list(package_ids),
    )


async def names_of(
    conn: Connection, *, units: Sequence[uuid.UUID], users: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        """select id, name from org_units where id = any($1::uuid[])
           union all
           select id, name || '（' || login || '）' from users where id = any($2::uuid[])""",
        list(units),
        list(users),
    )
    return {r["id"]: r["name"] for r in rows}


async def adoption(conn: Connection, app_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Devices reporting each version, per app id (revoked devices left out), and whether a
    release of that version was rolled back."""
    return await conn.fetch(
        """select a.*,
                  exists (select from offline_releases r
                            join offline_packages p on p.id = r.package_id
                           where r.app_id = a.app_id and p.version = a.version
                             and r.state = 'rolled_back') as rolled_back
             from (select i.app_id, i.version, count(*) as devices,
                          max(i.reported_at) as last_reported
                     from offline_package_installs i
                     join devices d on d.device_id = i.device_id and d.revoked_at is null
                    where i.app_id = any($1::text[])
                    group by i.app_id, i.version) a
            order by a.app_id, a.version desc""",
        list(app_ids),
    )


async def on_rolled_back(
    conn: Connection, app_ids: Sequence[str], *, limit: int
) -> list[asyncpg.Record]:
    """Devices still reporting a package whose release was rolled back (and never released
    again), with who uses them."""
    return await conn.fetch(
        """
        select i.app_id, i.version, i.device_id, i.reported_at, u.name as user_name,
               u.login, d.platform, d.model
          from offline_package_installs i
          join devices d on d.device_id = i.device_id and d.revoked_at is null
          join users u on u.id = i.user_id
          join offline_packages p on p.app_id = i.app_id and p.sha256 = i.sha256
         where i.app_id = any($1::text[])
           and exists (select from offline_releases r
                        where r.package_id = p.id and r.state = 'rolled_back')
           and not exists (select from offline_releases r
                            where r.package_id = p.id and r.state in ('active', 'paused'))
         order by i.app_id, i.reported_at desc
         limit $2
        """,
        list(app_ids),
        limit,
    )


def as_dicts(rows: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


async def org_units(conn: Connection) -> list[asyncpg.Record]:
    """Every org unit in tree order, for the release form (admins see the whole bank)."""
    return await conn.fetch(
        """with recursive tree as (
               select id, name, depth, array[name] as place from org_units
                where parent_id is null
               union all
               select c.id, c.name, c.depth, tree.place || c.name
                 from org_units c join tree on c.parent_id = tree.id)
           select id, name, depth from tree order by place"""
    )


async def users_by_login(conn: Connection, logins: Sequence[str]) -> dict[str, uuid.UUID]:
    rows = await conn.fetch(
        "select lower(login) as login, id from users where lower(login) = any($1::text[])",
        [login.lower() for login in logins],
    )
    return {r["login"]: r["id"] for r in rows}

"""SQL of diff packages (`offline_package_diffs`), for sync.packages.diffs."""

from __future__ import annotations

import uuid

import asyncpg

from sync.packages.media_pack.queries import held_by
from workbench.db import Connection

_COLUMNS = "d.id, d.from_sha256, d.to_package_id, d.sha256, d.size, d.blob_key"


async def stored(
    conn: Connection, *, from_sha256: str, to_package_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {_COLUMNS} from offline_package_diffs d"
        " where d.from_sha256 = $1 and d.to_package_id = $2",
        from_sha256,
        to_package_id,
    )


async def base_and_target(
    conn: Connection, *, target_package_id: uuid.UUID, installed_sha256: str
) -> asyncpg.Record | None:
    """The target package's file, and the newest older package of the same app id, kind and
    owner whose file is the installed one (none: not a base the server issued)."""
    return await conn.fetchrow(
        """
        select t.size as target_size, t.blob_key as target_key, t.sha256 as target_sha256,
               b.blob_key as base_key
          from offline_packages t
          join offline_packages b
            on b.sha256 = $2 and b.app_id = t.app_id and b.kind = t.kind
           and b.owner_id is not distinct from t.owner_id and b.version < t.version
         where t.id = $1
         order by b.version desc
         limit 1
        """,
        target_package_id,
        installed_sha256,
    )


async def insert(
    conn: Connection,
    *,
    id: uuid.UUID,
    base_sha256: str,
    target_package_id: uuid.UUID,
    sha256: str,
    size: int,
    key: str,
) -> asyncpg.Record | None:
    """The new row, or None when another instance stored it first."""
    return await conn.fetchrow(
        f"""
        insert into offline_package_diffs as d
               (id, from_sha256, to_package_id, sha256, size, blob_key)
        values ($1, $2, $3, $4, $5, $6)
        on conflict (from_sha256, to_package_id) do nothing
        returning {_COLUMNS}
        """,
        id,
        base_sha256,
        target_package_id,
        sha256,
        size,
        key,
    )


async def same_files(
    conn: Connection, *, base_sha256: str, target_sha256: str
) -> asyncpg.Record | None:
    """A diff already built between these two package files, under any target row."""
    return await conn.fetchrow(
        """
        select d.sha256, d.size, d.blob_key from offline_package_diffs d
          join offline_packages p on p.id = d.to_package_id
         where d.from_sha256 = $1 and p.sha256 = $2
         limit 1
        """,
        base_sha256,
        target_sha256,
    )


async def downloadable(
    conn: Connection, *, diff_id: uuid.UUID, user_id: uuid.UUID
) -> asyncpg.Record | None:
    """A diff's file, if this user may download it: one to an H5 package everyone, one to a
    media pack its owner only, while they are an active RM (`media_pack.queries.held_by`)."""
    return await conn.fetchrow(
        f"""
        select d.blob_key, d.sha256 from offline_package_diffs d
          join offline_packages p on p.id = d.to_package_id
         where d.id = $1 and (p.owner_id is null or {held_by("p", "$2")})
        """,
        diff_id,
        user_id,
    )

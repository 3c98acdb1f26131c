"""SQL of offline package rows: the only place that talks to PostgreSQL about packages.

H5 packages are the bank's app resources (every signed-in user may download them); a media pack
is its owner's alone: `package_for_download` finds it only for that owner.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record

PACKAGE_COLUMNS = """
    p.id, p.app_id, p.version, p.kind, p.owner_id, p.sha256, p.size, p.blob_key, p.manifest,
    p.signature, p.key_id, p.min_app_version, p.issued_at, p.expires_at, p.created_by,
    p.created_at
"""


async def lock_app(conn: Connection, app_id: str) -> None:
    """Serialise version assignment per app id until the transaction ends (every instance)."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('offline_packages:' || $1, 0))", app_id
    )


async def next_version(conn: Connection, app_id: str) -> int:
    """The next version of the app id; call under `lock_app`."""
    latest = await conn.fetchval(
        "select max(version) from offline_packages where app_id = $1", app_id
    )
    return int(latest or 0) + 1


async def latest_shared_package(conn: Connection, app_id: str) -> Record | None:
    """The app id's highest version not owned by one user (an H5 package); call under
    `lock_app`."""
    return await conn.fetchrow(
        f"""
        select {PACKAGE_COLUMNS} from offline_packages p
         where p.app_id = $1 and p.owner_id is null
         order by p.version desc
         limit 1
        """,
        app_id,
    )


async def insert_package(
    conn: Connection,
    *,
    package_id: uuid.UUID,
    app_id: str,
    version: int,
    kind: str,
    owner_id: uuid.UUID | None,
    sha256: str,
    size: int,
    blob_key: str,
    manifest: dict[str, Any],
    signature: str,
    key_id: str,
    min_app_version: str,
    issued_at: datetime,
    expires_at: datetime,
    created_by: uuid.UUID | None,
) -> Record:
    row = await conn.fetchrow(
        f"""
        insert into offline_packages as p (id, app_id, version, kind, owner_id, sha256, size,
            blob_key, manifest, signature, key_id, min_app_version, issued_at, expires_at,
            created_by)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        returning {PACKAGE_COLUMNS}
        """,
        package_id, app_id, version, kind, owner_id, sha256, size, blob_key, manifest,
        signature, key_id, min_app_version, issued_at, expires_at, created_by,
    )  # fmt: skip
    assert row is not None
    return row


async def list_packages(
    conn: Connection,
    *,
    app_id: str | None,
    kind: str | None = "h5",
    limit: int = 100,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[Record]:
    """Packages newest first (of one app id, or all), without media packs unless asked; those
    after the (created_at, id) `before` of a page's last row when given."""
    return await conn.fetch(
        f"""
        select {PACKAGE_COLUMNS} from offline_packages p
         where ($1::text is null or p.app_id = $1) and ($2::text is null or p.kind = $2)
           and ($4::timestamptz is null or (p.created_at, p.id) < ($4, $5::uuid))
         order by p.created_at desc, p.id desc
         limit $3
        """,
        app_id,
        kind,
        limit,
        before[0] if before else None,
        before[1] if before else None,
    )


async def package(conn: Connection, package_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        f"select {PACKAGE_COLUMNS} from offline_packages p where p.id = $1", package_id
    )


async def package_for_download(
    conn: Connection, *, package_id: uuid.UUID, user_id: uuid.UUID
) -> Record | None:
    """The package if this user may download it: any H5 package, a media pack only its owner."""
    return await conn.fetchrow(
        f"""
        select {PACKAGE_COLUMNS} from offline_packages p
         where p.id = $1 and (p.owner_id is null or p.owner_id = $2)
        """,
        package_id,
        user_id,
    )

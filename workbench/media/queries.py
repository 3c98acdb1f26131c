"""SQL of the media package: source images and their renditions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


async def image_blob_key(conn: Connection, sha256: bytes) -> str | None:
    key: str | None = await conn.fetchval(
        "select blob_key from brochure_images where sha256 = $1", sha256
    )
    return key


async def insert_image(
    conn: Connection,
    *,
    sha256: bytes,
    blob_key: str,
    fmt: str,
    width: int,
    height: int,
    byte_size: int,
    uploaded_by: uuid.UUID | None,
) -> None:
    """The source image's row, unless the same image is already recorded."""
    await conn.execute(
        """
        insert into brochure_images (sha256, blob_key, format, width, height, byte_size,
                                     uploaded_by)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (sha256) do nothing
        """,
        sha256,
        blob_key,
        fmt,
        width,
        height,
        byte_size,
        uploaded_by,
    )


async def insert_renditions(conn: Connection, sha256: bytes, specs: Sequence[str]) -> None:
    """A pending row per spec the image does not have yet."""
    await conn.execute(
        """
        insert into brochure_renditions (image_sha256, spec)
        select $1, spec from unnest($2::text[]) as s (spec)
        on conflict (image_sha256, spec) do nothing
        """,
        sha256,
        list(specs),
    )


async def add_missing_renditions(conn: Connection, specs: Sequence[str]) -> int:
    """A pending row for every image and current spec that has none (after a spec changed)."""
    status: str = await conn.execute(
        """
        insert into brochure_renditions (image_sha256, spec)
        select i.sha256, s.spec from brochure_images i cross join unnest($1::text[]) as s (spec)
         where not exists (select from brochure_renditions r
                            where r.image_sha256 = i.sha256 and r.spec = s.spec)
        on conflict (image_sha256, spec) do nothing
        """,
        list(specs),
    )
    return int(status.rsplit(" ", 1)[-1])


async def renditions_of(conn: Connection, shas: Sequence[bytes]) -> list[Record]:
    return await conn.fetch(
        """
        select image_sha256, spec, status, blob_key, width, height, byte_size, error, attempts
          from brochure_renditions
         where image_sha256 = any($1::bytea[])
        """,
        list(shas),
    )


async def ready_renditions_of(conn: Connection, shas: Sequence[bytes]) -> list[Record]:
    """The built renditions of these images: what a page shows (readers need nothing else)."""
    return await conn.fetch(
        """
        select image_sha256, spec, blob_key, width, height
          from brochure_renditions
         where image_sha256 = any($1::bytea[]) and status = 'ready'
        """,
        list(shas),
    )


async def give_up_abandoned(conn: Connection, *, max_attempts: int) -> int:
    """Fail the renditions whose builder stopped (lease ran out) on their last attempt: a
    source that kills the worker is not tried for ever."""
    status: str = await conn.execute(
        """
        update brochure_renditions
           set status = 'failed', claimed_until = null, updated_at = now(),
               error = 'the worker stopped while building it, ' || attempts || ' times'
         where status = 'pending' and attempts >= $1 and claimed_until < now()
        """,
        max_attempts,
    )
    return int(status.rsplit(" ", 1)[-1])


async def claim_renditions(
    conn: Connection, *, limit: int, lease_seconds: int, max_attempts: int, specs: Sequence[str]
) -> list[Record]:
    """Lease the pending renditions of one image (the one waiting longest; at most `limit`
    rows) that nobody holds: a claim is what one build does next, never a queue of images that
    would wait out its lease if the worker died. Concurrent claims skip each other's rows (SKIP
    LOCKED) and a held lease excludes a row until it runs out. Each claim counts as an attempt;
    `attempts` identifies the claim. Rows of specs no longer built (`specs` are the current
    ones) are left alone."""
    return await conn.fetch(
        """
        with image as (
            select image_sha256 from brochure_renditions
             where status = 'pending' and attempts < $3 and spec = any($4::text[])
               and (claimed_until is null or claimed_until < now())
             order by updated_at, image_sha256, spec
             limit 1
             for update skip locked
        ), due as (
            select r.image_sha256, r.spec from brochure_renditions r
              join image on image.image_sha256 = r.image_sha256
             where r.status = 'pending' and r.attempts < $3 and r.spec = any($4::text[])
               and (r.claimed_until is null or r.claimed_until < now())
             order by r.spec
             limit $1
             for update of r skip locked
        )
        update brochure_renditions r
           set claimed_until = now() + make_interval(secs => $2), attempts = r.attempts + 1
          from due, brochure_images i
         where r.image_sha256 = due.image_sha256 and r.spec = due.spec
           and i.sha256 = due.image_sha256
        returning r.image_sha256, r.spec, r.attempts, i.blob_key as source_key
        """,
        limit,
        lease_seconds,
        max_attempts,
        list(specs),
    )


async def mark_ready(
    conn: Connection,
    *,
    sha256: bytes,
    spec: str,
    attempt: int,
    blob_key: str,
    width: int,
    height: int,
    byte_size: int,
) -> bool:
    """Record a built rendition; False if this claim is no longer the row's latest (its lease
    ran out and another worker took it)."""
    status: str = await conn.execute(
        """
        update brochure_renditions
           set status = 'ready', blob_key = $4, width = $5, height = $6, byte_size = $7,
               error = null, claimed_until = null, updated_at = now()
         where image_sha256 = $1 and spec = $2 and attempts = $3 and status = 'pending'
        """,
        sha256,
        spec,
        attempt,
        blob_key,
        width,
        height,
        byte_size,
    )
    return status.endswith(" 1")


async def mark_failed(
    conn: Connection,
    *,
    sha256: bytes,
    spec: str,
    attempt: int,
    error: str,
    max_attempts: int,
    retry_seconds: int,
) -> str | None:
    """Record a failed attempt: `failed` after the last one, else pending again after
    `retry_seconds`. The row's new status, or None if this claim is no longer its latest."""
    status: str | None = await conn.fetchval(
        """
        update brochure_renditions
           set status = case when attempts >= $5 then 'failed' else 'pending' end,
               claimed_until = case when attempts >= $5 then null
                                    else now() + make_interval(secs => $6) end,
               error = $4, updated_at = now()
         where image_sha256 = $1 and spec = $2 and attempts = $3 and status = 'pending'
        returning status
        """,
        sha256,
        spec,
        attempt,
        error,
        max_attempts,
        retry_seconds,
    )
    return status


async def release_claim(
    conn: Connection,
    *,
    sha256: bytes,
    spec: str,
    attempt: int,
    retry_seconds: int,
    error: str = "waiting for the blob store",
) -> None:
    """Give a claim back without counting it as an attempt (the blob store did not answer, the
    worker is stopping); a row this claim no longer holds, or already recorded, is left."""
    await conn.execute(
        """
        update brochure_renditions
           set attempts = attempts - 1, claimed_until = now() + make_interval(secs => $4),
               error = $5, updated_at = now()
         where image_sha256 = $1 and spec = $2 and attempts = $3 and status = 'pending'
           and claimed_until > now()
        """,
        sha256,
        spec,
        attempt,
        retry_seconds,
        error,
    )

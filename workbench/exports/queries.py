"""The exports' SQL: requests, the worker's claims and progress, expiry.

Every read for a page names the requester (`requested_by = $user`): an export is only ever
visible to the user who asked for it (anyone else, an admin too: not found), and says whether
it has expired (`expired`: `expires_at <= now()`), whether or not `expire_exports` has deleted it
yet: its file is never served after that moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

_COLUMNS = """id, requested_by, table_key, params, format, state, rows_done, rows_total, sheets,
    file_key, file_parts, size, filename, reason, attempts, created_at, started_at,
    finished_at, expires_at"""
# What a page reads of an export: its columns and whether it has expired (by the database's clock,
# so every page, the status and the file agree on the moment).
_READ = f"{_COLUMNS}, expires_at <= now() as expired"


async def requester(conn: Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    """The requesting user's role and unit as they are now (the worker's caller), if active."""
    return await conn.fetchrow(
        "select id, role, org_unit_id from users where id = $1 and active", user_id
    )


async def create_or_join(
    conn: Connection,
    *,
    export_id: uuid.UUID,
    user_id: uuid.UUID,
    table_key: str,
    params: dict[str, str],
    fmt: str,
    rows_total: int,
    filename: str,
    expires_at: datetime,
) -> tuple[asyncpg.Record, bool]:
    """A new queued export, or the one of the same request still queued or running (joined):
    (its row, whether it is new)."""
    made = await conn.fetchrow(
        f"""insert into exports (id, requested_by, table_key, params, format, rows_total,
                                 filename, expires_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8)
            on conflict (requested_by, table_key, params, format)
               where state in ('queued', 'running') do nothing
            returning {_COLUMNS}""",
        export_id, user_id, table_key, params, fmt, rows_total, filename, expires_at,
    )  # fmt: skip
    if made is not None:
        return made, True
    # Joined, it is kept as long as this request would keep it (asked again, it is wanted again).
    joined = await conn.fetchrow(
        f"""update exports set expires_at = greatest(expires_at, $5)
             where requested_by = $1 and table_key = $2 and params = $3 and format = $4
               and state in ('queued', 'running')
         returning {_COLUMNS}""",
        user_id, table_key, params, fmt, expires_at,
    )  # fmt: skip
    if joined is None:  # finished between the two statements: ask again
        return await create_or_join(
            conn, export_id=export_id, user_id=user_id, table_key=table_key, params=params,
            fmt=fmt, rows_total=rows_total, filename=filename, expires_at=expires_at,
        )  # fmt: skip
    return joined, False


async def mine(conn: Connection, export_id: uuid.UUID, user_id: uuid.UUID) -> asyncpg.Record | None:
    """The export if this user asked for it, with whether it has expired (`expired`)."""
    return await conn.fetchrow(
        f"select {_READ} from exports where id = $1 and requested_by = $2",
        export_id, user_id,
    )  # fmt: skip


async def list_mine(conn: Connection, user_id: uuid.UUID, *, limit: int) -> list[asyncpg.Record]:
    """The user's exports, newest first, each with whether it has expired (`expired`)."""
    return await conn.fetch(
        f"""select {_READ} from exports where requested_by = $1
             order by created_at desc, id desc limit $2""",
        user_id, limit,
    )  # fmt: skip


async def claim(
    conn: Connection, export_id: uuid.UUID | None, *, token: uuid.UUID, lease_seconds: float
) -> asyncpg.Record | None:
    """Take one export to build (this one, or the oldest waiting): queued, or running with its
    lease run out (its worker died). Two workers never take the same one (SKIP LOCKED)."""
    return await conn.fetchrow(
        f"""with next as (
                select id from exports
                 where state in ('queued', 'running')
                   and (state = 'queued' or lease_until < now())
                   and ($1::uuid is null or id = $1)
                 order by created_at
                 limit 1
                   for update skip locked
            )
            update exports e
               set state = 'running', claim = $2, attempts = e.attempts + 1,
                   lease_until = now() + make_interval(secs => $3),
                   started_at = coalesce(e.started_at, now()), rows_done = 0
              from next
             where e.id = next.id
         returning {", ".join("e." + c.strip() for c in _COLUMNS.split(","))}""",
        export_id, token, lease_seconds,
    )  # fmt: skip


async def progress(
    conn: Connection,
    export_id: uuid.UUID,
    *,
    token: uuid.UUID,
    rows_done: int,
    lease_seconds: float,
) -> bool:
    """Write progress and renew the lease; False if this worker no longer holds the claim."""
    found = await conn.fetchval(
        """update exports set rows_done = $3, lease_until = now() + make_interval(secs => $4)
            where id = $1 and claim = $2 and state = 'running'
        returning true""",
        export_id, token, rows_done, lease_seconds,
    )  # fmt: skip
    return bool(found)


async def finish(
    conn: Connection,
    export_id: uuid.UUID,
    *,
    token: uuid.UUID,
    rows_done: int,
    sheets: int,
    file_key: str,
    file_parts: int,
    size: int,
) -> bool:
    """Mark the export done with its stored file; False if the claim was lost."""
    found = await conn.fetchval(
        """update exports
              set state = 'done', rows_done = $3, rows_total = $3, sheets = $4, file_key = $5,
                  file_parts = $6, size = $7, finished_at = now(), claim = null,
                  lease_until = null, reason = null
            where id = $1 and claim = $2 and state = 'running'
        returning true""",
        export_id, token, rows_done, sheets, file_key, file_parts, size,
    )  # fmt: skip
    return bool(found)


async def fail(conn: Connection, export_id: uuid.UUID, *, token: uuid.UUID, reason: str) -> None:
    """Mark the export failed with a reason for its page."""
    await conn.execute(
        """update exports set state = 'failed', reason = $3, finished_at = now(), claim = null,
                              lease_until = null
            where id = $1 and claim = $2 and state = 'running'""",
        export_id, token, reason[:500],
    )  # fmt: skip


async def fail_worn_out(conn: Connection, *, max_attempts: int) -> list[uuid.UUID]:
    """Exports whose workers died `max_attempts` times: failed (never claimed again)."""
    rows = await conn.fetch(
        """update exports set state = 'failed', finished_at = now(), claim = null,
                              lease_until = null, reason = '导出多次中断，请缩小范围后重试。'
            where state = 'running' and lease_until < now() and attempts >= $1
        returning id""",
        max_attempts,
    )
    return [r["id"] for r in rows]


async def expired(conn: Connection, *, limit: int) -> list[asyncpg.Record]:
    """Exports past their expiry, with their files, held for deletion (SKIP LOCKED)."""
    return await conn.fetch(
        """select id, file_key, file_parts from exports
            where expires_at <= now() and state <> 'running'
            order by expires_at
            limit $1
              for update skip locked""",
        limit,
    )


async def delete(conn: Connection, export_ids: list[uuid.UUID]) -> None:
    await conn.execute("delete from exports where id = any($1::uuid[])", export_ids)


def params_of(row: Any) -> dict[str, str]:
    """The stored params of an export row."""
    return dict(row["params"] or {})

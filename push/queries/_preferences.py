"""SQL of notification preferences."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime, time

from push.queries._common import Record
from workbench.db import Connection


async def preferences(conn: Connection, user_ids: Sequence[uuid.UUID]) -> list[Record]:
    return await conn.fetch(
        """
        select user_id, quiet_start, quiet_end, time_zone, muted_categories, updated_at
          from notification_preferences where user_id = any($1)
        """,
        list(user_ids),
    )


class Keep(enum.Enum):
    """A preference the change leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


async def change_preferences(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    quiet: tuple[time, time] | Keep | None = KEEP,
    time_zone: str | Keep | None = KEEP,
    muted: list[str] | Keep = KEEP,
) -> Record:
    """Write only the preferences given (a new row takes the defaults for the others) and
    return the row as it now is. The upsert locks the row until the transaction ends, so
    overlapping changes apply one after the other, each on top of the other's."""
    row = await conn.fetchrow(
        """
        insert into notification_preferences as p (user_id, quiet_start, quiet_end, time_zone,
                                                   muted_categories)
        values ($1, $3, $4, $6, coalesce($8::text[], '{}'))
        on conflict (user_id) do update
           set quiet_start = case when $2 then excluded.quiet_start else p.quiet_start end,
               quiet_end = case when $2 then excluded.quiet_end else p.quiet_end end,
               time_zone = case when $5 then excluded.time_zone else p.time_zone end,
               muted_categories = case when $7 then excluded.muted_categories
                                       else p.muted_categories end,
               updated_at = now()
        returning user_id, quiet_start, quiet_end, time_zone, muted_categories, updated_at
        """,
        user_id,
        quiet is not KEEP,
        *((None, None) if quiet is KEEP or quiet is None else quiet),
        time_zone is not KEEP,
        None if time_zone is KEEP else time_zone,
        muted is not KEEP,
        None if muted is KEEP else muted,
    )
    assert row is not None
    return row


async def lock_preferences(
    conn: Connection, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """The users' preference versions (`updated_at`), their rows held against changes until the
    caller's transaction ends (a change under way is waited for)."""
    rows = await conn.fetch(
        """
        select user_id, updated_at from notification_preferences
         where user_id = any($1) order by user_id for share
        """,
        list(user_ids),
    )
    return {r["user_id"]: r["updated_at"] for r in rows}


async def retime_held(
    conn: Connection, user_id: uuid.UUID, *, until: datetime | None, release: Sequence[str]
) -> int:
    """Re-time the user's notifications held for quiet hours after their preferences changed:
    to `until` (the new window's end), or to now when there is no window covering now or the
    category is in `release` (muted: the next round settles it). How many moved."""
    result: str = await conn.execute(
        """
        with held as (
            select id, case when category = any($3::text[]) then now()
                            else coalesce($2, now()) end as send_at
              from notifications
             where user_id = $1 and push_status = 'pending' and push_reason = 'quiet_hours'
               and send_at > now()
        )
        update notifications n
           set send_at = held.send_at
          from held
         where n.id = held.id and n.send_at <> held.send_at
        """,
        user_id,
        until,
        list(release),
    )
    return int(result.rsplit(" ", 1)[-1])

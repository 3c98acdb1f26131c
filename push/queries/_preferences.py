"""SQL of notification preferences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import time

from push.queries._common import Record
from workbench.db import Connection


async def preferences(conn: Connection, user_ids: Sequence[uuid.UUID]) -> list[Record]:
    return await conn.fetch(
        """
        select user_id, quiet_start, quiet_end, time_zone, muted_categories
          from notification_preferences where user_id = any($1)
        """,
        list(user_ids),
    )


async def save_preferences(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    quiet_start: time | None,
    quiet_end: time | None,
    time_zone: str | None,
    muted: list[str],
) -> None:
    await conn.execute(
        """
        insert into notification_preferences (user_id, quiet_start, quiet_end, time_zone,
                                              muted_categories)
        values ($1, $2, $3, $4, $5)
        on conflict (user_id) do update
           set quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
               time_zone = excluded.time_zone, muted_categories = excluded.muted_categories,
               updated_at = now()
        """,
        user_id,
        quiet_start,
        quiet_end,
        time_zone,
        muted,
    )

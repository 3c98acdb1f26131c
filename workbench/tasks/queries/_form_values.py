"""SQL of sealing the answers of tasks submitted before migration 0058, stored in clear."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.tasks.queries._common import Record

__all__ = ["clear_form_values", "store_sealed_form_values"]


async def clear_form_values(conn: Connection, *, after: uuid.UUID, limit: int) -> list[Record]:
    """The next `limit` tasks after id `after` whose answers are in clear, (id, form_values),
    locked until the transaction ends (NO KEY UPDATE: reminders and attachments can still be
    added); tasks another transaction holds are skipped (the next run takes them)."""
    return await conn.fetch(
        """
        select id, form_values from tasks
         where form_values is not null and id > $1
         order by id limit $2
           for no key update skip locked
        """,
        after,
        limit,
    )


async def store_sealed_form_values(
    conn: Connection, *, ids: list[uuid.UUID], sealed: list[bytes]
) -> int:
    """Put each task's encrypted answers in place of its answers in clear (a task that has its
    answers encrypted already keeps those); how many tasks changed. Nothing else of the task
    moves (not `updated_at`): it reads the same, so its sync trigger records nothing."""
    status: str = await conn.execute(
        """
        update tasks t
           set form_values_enc = coalesce(t.form_values_enc, s.sealed), form_values = null
          from unnest($1::uuid[], $2::bytea[]) as s(id, sealed)
         where t.id = s.id and t.form_values is not null
        """,
        ids,
        sealed,
    )
    return int(status.rsplit(" ", 1)[-1])

"""Work orders in their holders' partitions (schema 4)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from workbench.db import Connection
from workbench.workorders import queries as work_order_queries

# ---- work orders (schema 4) ---------------------------------------------------------------------


async def work_orders(
    conn: Connection, scope: Mapping[str, Any], *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[uuid.UUID]:  # fmt: skip
    """Ids of the partition's work orders: among `ids`, or in id order after `after`. Exactly
    those the API lets the caller open (`scope`: `workbench.workorders.service.reader_scope`;
    one rule for both), not one merely escalated to them: a branch head who moved away can no
    longer open what stayed escalated to them. The change log records more holders (migration
    0022: whoever it is escalated to, too); such a key is answered as a delete."""
    return await work_order_queries.ids_in_scope(conn, **scope, ids=ids, after=after, limit=limit)


async def text_questions(
    conn: Connection, response_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """Keys of the text questions of the version each response answered, by response id (one
    with none: an empty set)."""
    rows = await conn.fetch(
        """
        select r.id, q ->> 'key' as key
          from survey_responses r
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version,
               jsonb_array_elements(v.questions) q
         where r.id = any($1::uuid[]) and q ->> 'type' = 'text'
        """,
        response_ids,
    )
    keys: dict[uuid.UUID, set[str]] = {response_id: set() for response_id in response_ids}
    for r in rows:
        keys[r["id"]].add(r["key"])
    return keys

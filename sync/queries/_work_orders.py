"""Work orders in their holders' partitions (schema 4)."""

from __future__ import annotations

import uuid

from workbench.db import Connection

# ---- work orders (schema 4) ---------------------------------------------------------------------

# $1: the user; $2: their org subtree's root when they are a branch head (its units' work
# orders), else null. The same holders the change log records (migration 0022).
_WORK_ORDER_SCOPE = (
    "(w.assignee_id = $1 or w.escalated_to_id = $1 or ($2::uuid is not null and w.org_unit_id"
    " in (select s.id from org_subtree($2) s(id))))"
)


async def work_orders(
    conn: Connection, user: uuid.UUID, subtree_root: uuid.UUID | None, *,
    ids: list[uuid.UUID] | None = None, after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[uuid.UUID]:  # fmt: skip
    """Ids of the partition's work orders: among `ids`, or in id order after `after`."""
    if ids is not None:
        rows = await conn.fetch(
            f"select w.id from work_orders w where {_WORK_ORDER_SCOPE} and w.id = any($3)",
            user, subtree_root, ids,
        )  # fmt: skip
    else:
        rows = await conn.fetch(
            f"""
            select w.id from work_orders w
             where {_WORK_ORDER_SCOPE} and ($3::uuid is null or w.id > $3)
             order by w.id limit $4
            """,
            user, subtree_root, after, limit,
        )  # fmt: skip
    return [r["id"] for r in rows]


async def text_questions(conn: Connection, response_id: uuid.UUID) -> set[str]:
    """Keys of the text questions of the version a response answered."""
    rows = await conn.fetch(
        """
        select q ->> 'key' as key
          from survey_responses r
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version,
               jsonb_array_elements(v.questions) q
         where r.id = $1 and q ->> 'type' = 'text'
        """,
        response_id,
    )
    return {r["key"] for r in rows}

"""Team progress for branch heads: per RM assigned, done, overdue, completion rate and median
hours to done, for a period and a subtree — one query per request, however many RMs."""

from __future__ import annotations

import uuid
from datetime import datetime

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.identity import queries as identity_queries
from workbench.tasks import queries


async def team_progress(
    conn: Connection,
    *,
    caller: Caller,
    org_unit_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> wire.TeamProgress:
    if end <= start:
        error = DomainError("`to` must be after `from`")
        error.code = "progress.bad_period"
        raise error
    root = org_unit_id or caller.org_unit_id
    if not await identity_queries.org_unit_in_scope(conn, root, scope_root=caller.scope_root):
        raise NotFound("org_unit")
    rows = await queries.team_progress(conn, root=root, start=start, end=end)
    return wire.TeamProgress(
        org_unit_id=root,
        from_=start,
        to=end,
        rows=[
            wire.ProgressRow(
                rm_id=r["rm_id"],
                name=r["name"],
                org_unit_id=r["org_unit_id"],
                assigned=r["assigned"],
                done=r["done"],
                overdue=r["overdue"],
                completion_rate=round(r["done"] / r["assigned"], 4) if r["assigned"] else 0.0,
                median_hours_to_done=(
                    round(r["median_hours_to_done"], 2)
                    if r["median_hours_to_done"] is not None
                    else None
                ),
            )
            for r in rows
        ],
    )

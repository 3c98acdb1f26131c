"""Team progress for branch heads: per RM assigned, done, overdue, completion rate and median
hours to done, for a period and a subtree.

Assigned, done and overdue come from the dashboard's query (`workbench.dashboard.queries.
rm_counts`, on the per-RM per-bank-day task rollup), so this API and the dashboard, its exports
and the monthly report count the same; the median has its own query over the done tasks."""

from __future__ import annotations

import uuid
from datetime import datetime

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.dashboard import queries
from workbench.dashboard.numbers import rate
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.identity import queries as identity_queries


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
    rows = await queries.rm_counts(conn, root=root, start=start, end=end)
    medians = await queries.median_hours_to_done(conn, root=root, start=start, end=end)
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
                completion_rate=rate(r["done"], r["assigned"]),
                median_hours_to_done=(
                    round(medians[r["rm_id"]], 2) if r["rm_id"] in medians else None
                ),
            )
            for r in rows
        ],
    )

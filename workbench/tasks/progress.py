"""Team progress for branch heads: per RM assigned, done, overdue, completion rate and median
hours to done, for a period and a subtree. Assigned are the RM's tasks created in the period
that were not cancelled (an expired task counts, not done); completion is done / assigned.

Assigned, done and overdue come from the dashboard's query (`workbench.dashboard.queries.
rm_counts`, on the per-RM per-bank-day task rollup), so this API and the dashboard, its exports
and the monthly report count the same; the median has its own query over the done tasks. A
period is checked as `/funnels` checks one: `to` after `from`, at most 366 days."""

from __future__ import annotations

import uuid
from datetime import datetime

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.dashboard import queries
from workbench.dashboard.numbers import rate
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.funnels import views as funnel_views
from workbench.identity import queries as identity_queries


class BadPeriod(DomainError):
    """The period cannot be counted: `to` not after `from`, or longer than MAX_PERIOD (as
    `/funnels` and the survey results refuse it, with this API's own code and its status of
    old, 400: the released contract documents `progress.bad_period` as a 400)."""

    status, code, title = 400, "progress.bad_period", "The period is not usable"


MAX_PERIOD = funnel_views.MAX_PERIOD  # 366 days, as /funnels and the survey results


def check_period(start: datetime, end: datetime) -> None:
    """BadPeriod unless `start` < `end` at most MAX_PERIOD apart (the same rules and words as
    `workbench.funnels.views.funnel`)."""
    if end <= start:
        raise BadPeriod("`to` must be after `from`")
    if end - start > MAX_PERIOD:
        raise BadPeriod(f"a period spans at most {MAX_PERIOD.days} days")


async def team_progress(
    conn: Connection,
    *,
    caller: Caller,
    org_unit_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> wire.TeamProgress:
    check_period(start, end)
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

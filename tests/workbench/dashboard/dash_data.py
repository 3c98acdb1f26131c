"""Builders for the dashboard tests: callers of the demo bank, a connection with the app's JSON
codecs, tasks dispatched through the API and arranged in time, and the rollup recounted from the
tasks themselves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from mobile_contracts.v1.identity import Role
from tests.tasks_data import create_template, dispatch, unit, user
from workbench.access import Caller
from workbench.db import use_json_codecs
from workbench.ids import uuid7

TZ = "Asia/Shanghai"


def caller(login: str, role: Role, unit_key: str) -> Caller:
    return Caller(
        user_id=user(login), role=role, org_unit_id=unit(unit_key), session_id=uuid7(),
        device_id="test",
    )  # fmt: skip


BH_EAST = caller("bh.east", Role.BRANCH_HEAD, "branch-east")
BH_WEST = caller("bh.west", Role.BRANCH_HEAD, "branch-west")
ADMIN = caller("admin", Role.ADMIN, "head-office")


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await use_json_codecs(conn)
    return conn


async def dispatch_tasks(client: Any, admin: dict[str, str], unit_key: str, times: int) -> None:
    """`times` dispatches of one task to each RM of the unit, through the API."""
    template = await create_template(client, admin)
    for n in range(times):
        await dispatch(client, admin, template["id"], org_unit=unit_key, title=f"拜访{n}")


async def tasks_of(db: Any, login: str) -> list[uuid.UUID]:
    rows = await db.fetch("select id from tasks where assignee_id = $1 order by id", user(login))
    return [r["id"] for r in rows]


async def arrange(
    db: Any,
    task_id: uuid.UUID,
    *,
    created_at: datetime | None = None,
    status: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Put a task's history where a test needs it (the rollup's triggers follow)."""
    await db.execute(
        """update tasks set created_at = coalesce($2, created_at), status = coalesce($3, status),
                            done_at = case when coalesce($3, status) = 'done'
                                           then coalesce(done_at, coalesce($2, created_at)
                                                                  + interval '1 hour') end,
                            due_at = coalesce($4, due_at)
            where id = $1""",
        task_id, created_at, status, due_at,
    )  # fmt: skip


async def rollup(db: Any) -> set[tuple[Any, ...]]:
    """The rollups' rows that count something: ("day", assignee, day, assigned, done,
    cancelled) and ("week", assignee, Monday, assigned, done, cancelled)."""
    rows = await db.fetch(
        """select 'day', assignee_id, day, assigned, done, cancelled from dashboard_task_days
            where assigned <> 0 or done <> 0 or cancelled <> 0
           union all
           select 'week', assignee_id, week, assigned, done, cancelled from dashboard_task_weeks
            where assigned <> 0 or done <> 0 or cancelled <> 0"""
    )
    return {tuple(r) for r in rows}


async def recount(db: Any) -> set[tuple[Any, ...]]:
    """The rollups as the tasks say they should be: assigned every task not cancelled, done
    those done, cancelled those cancelled (the rows that count something, as `rollup` reads
    them)."""
    rows = await db.fetch(
        """select * from (
               select 'day', assignee_id, survey_day(created_at),
                      count(*) filter (where status <> 'cancelled') as assigned,
                      count(*) filter (where status = 'done') as done,
                      count(*) filter (where status = 'cancelled') as cancelled
                 from tasks group by 2, 3
               union all
               select 'week', assignee_id,
                      survey_day(created_at)
                        - (extract(isodow from survey_day(created_at))::int - 1),
                      count(*) filter (where status <> 'cancelled'),
                      count(*) filter (where status = 'done'),
                      count(*) filter (where status = 'cancelled')
                 from tasks group by 2, 3) r
            where r.assigned <> 0 or r.done <> 0 or r.cancelled <> 0"""
    )
    return {tuple(r) for r in rows}

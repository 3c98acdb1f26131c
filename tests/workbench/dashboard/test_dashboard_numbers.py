"""The dashboard's numbers on the demo bank (two branches of two teams of two RMs): the rollup
kept exactly as tasks change, completion and ranks within the chosen unit, weeks with nothing,
a cancelled task no longer assigned to its RM, and a branch head who never sees the other
branch."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import (
    ADMIN,
    BH_EAST,
    TZ,
    arrange,
    connect,
    dispatch_tasks,
    recount,
    rollup,
    tasks_of,
)
from workbench.dashboard import numbers
from workbench.errors import NotFound
from workbench.exports.tables import ExportRequest, table
from workbench.ids import uuid7
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

TASKS = "/api/v1/tasks"


async def test_the_rollup_follows_every_change_of_a_task(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    await dispatch_tasks(client, admin, "branch-east", 3)  # 3 tasks for each of 4 RMs
    await dispatch_tasks(client, admin, "branch-west", 1)
    assert await rollup(db) == await recount(db)
    assert sum(r[3] for r in await rollup(db) if r[0] == "day") == 16

    rm01 = await headers_of(client, "rm01")
    first, second, third = await tasks_of(db, "rm01")
    for step in ("start", "submit"):  # done through the API
        body = {"values": {"notes": "拜访完成"}} if step == "submit" else None
        response = await client.post(f"{TASKS}/{first}/{step}", json=body, headers=rm01)
        assert response.status_code == 200, response.text
    assert (await client.post(f"{TASKS}/{second}/cancel", headers=rm01)).status_code == 200
    assert await rollup(db) == await recount(db)
    assert sum(r[4] for r in await rollup(db) if r[0] == "week") == 1
    assert sum(r[3] for r in await rollup(db) if r[0] == "week") == 15  # cancelled: not assigned
    assert sum(r[5] for r in await rollup(db) if r[0] == "week") == 1  # but counted cancelled

    await arrange(db, first, created_at=datetime.now(UTC) - timedelta(days=12))  # another day
    await arrange(db, third, status="done")
    await db.execute("update tasks set status = 'in_progress', done_at = null where id = $1",
                     third)  # done → reopened  # fmt: skip
    await db.execute("update tasks set assignee_id = $2 where id = $1", first, user("rm02"))
    await db.execute("update tasks set status = 'done', done_at = now() where assignee_id = $1",
                     user("rm03"))  # several at once  # fmt: skip
    await db.execute("update tasks set title = '改名' where assignee_id = $1", user("rm04"))
    assert await rollup(db) == await recount(db)

    # Cancelled: several at once (as a customer's closing cancels theirs), one moved while
    # cancelled, one back from cancelled by hand (the app never does it), one stored cancelled.
    await db.execute(
        "update tasks set status = 'cancelled', cancelled_at = now(), cancel_reason = '客户已销户'"
        " where assignee_id = $1", user("rm04"))  # fmt: skip
    await arrange(db, second, created_at=datetime.now(UTC) - timedelta(days=9))
    await db.execute("update tasks set assignee_id = $2 where id = $1", second, user("rm02"))
    assert await rollup(db) == await recount(db)
    cancelled = {(r[1], r[0]): 0 for r in await rollup(db)}
    for r in await rollup(db):
        cancelled[(r[1], r[0])] += r[5]
    assert cancelled[(user("rm04"), "day")] == cancelled[(user("rm04"), "week")] == 3
    assert cancelled[(user("rm02"), "day")] == cancelled[(user("rm02"), "week")] == 1  # moved
    assert cancelled.get((user("rm01"), "day"), 0) == 0
    back = (await tasks_of(db, "rm04"))[0]
    await db.execute("update tasks set status = 'pending', cancelled_at = null where id = $1", back)
    await db.execute(
        """insert into tasks (id, template_id, template_version, assignee_id, title, status,
                              cancelled_at, cancel_reason, created_at)
           select $2, template_id, template_version, assignee_id, title, 'cancelled', now(),
                  '客户已销户', created_at
             from tasks where id = $1""",
        back, uuid7(),
    )  # fmt: skip
    assert await rollup(db) == await recount(db)
    assert sum(r[3] for r in await rollup(db) if r[0] == "day" and r[1] == user("rm04")) == 1
    assert sum(r[5] for r in await rollup(db) if r[0] == "week" and r[1] == user("rm04")) == 3

    await db.execute("delete from tasks where id = any($1::uuid[])", await tasks_of(db, "rm03"))
    await db.execute("delete from tasks where id = $1", second)
    await db.execute(
        "delete from tasks where assignee_id = $1 and status = 'cancelled'", user("rm04")
    )
    assert await rollup(db) == await recount(db)
    rows = await db.fetch(
        "select assigned, done, cancelled from dashboard_task_days union all"
        " select assigned, done, cancelled from dashboard_task_weeks"
    )
    assert all(r["assigned"] >= 0 and 0 <= r["done"] <= r["assigned"] for r in rows)
    assert all(r["cancelled"] == 0 for r in rows)  # every cancelled task deleted


async def test_completion_ranks_teams_and_weeks(client: Any, db: Any, settings: Any) -> None:
    admin = await headers_of(client, "admin")
    await dispatch_tasks(client, admin, "branch-east", 4)
    now = datetime.now(UTC)
    past, later = now - timedelta(days=1), now + timedelta(days=3)
    day = timedelta(days=1)
    plan = {  # per RM: (days ago created, status, due) of each of their 4 tasks
        "rm01": [(20, "done", None), (19, "done", None), (3, "done", None), (2, "done", None)],
        "rm02": [(20, "done", None), (9, "done", None), (2, "pending", later),
                 (40, "done", None)],  # the last one before the period
        "rm03": [(9, "done", None), (8, "done", None), (2, "in_progress", past),
                 (1, "cancelled", past)],  # the cancelled one: not assigned
        "rm04": [(20, "pending", past), (2, "submitted", past), (2, "pending", None),
                 (1, "expired", past)],  # expired: assigned, not done
    }  # fmt: skip
    for rm, tasks in plan.items():
        for task_id, (ago, status, due) in zip(await tasks_of(db, rm), tasks, strict=True):
            await arrange(db, task_id, created_at=now - ago * day, status=status, due_at=due)

    conn = await connect(settings.database_url)
    try:
        branch = await numbers.view(conn, caller=BH_EAST, org_unit_id=None, from_=None, to=None,
                                    tz=TZ, now=now)  # fmt: skip
        assert branch.org_unit_id == unit("branch-east")
        assert (branch.end_day - branch.first_day).days == 30
        rows = await numbers.rm_progress(conn, branch)
        got = {r.name: (r.assigned, r.done, r.overdue, r.completion_rate, r.rank) for r in rows}
        assert got == {
            "张伟": (4, 4, 0, 1.0, 1),
            "王芳": (3, 2, 0, 0.6667, 2),
            "李娜": (3, 2, 1, 0.6667, 2),  # not 2 of 4: her cancelled task was not left undone
            "刘洋": (4, 0, 2, 0.0, 4),
        }
        assert [r.rank for r in rows] == [1, 2, 2, 4]

        team = await numbers.view(conn, caller=BH_EAST, org_unit_id=unit("team-east-2"),
                                  from_=None, to=None, tz=TZ, now=now)  # fmt: skip
        assert [(r.name, r.rank) for r in await numbers.rm_progress(conn, team)] == [
            ("李娜", 1), ("刘洋", 2)]  # ranked within the team only  # fmt: skip
        assert await numbers.teams(conn, team) == []

        teams = await numbers.teams(conn, branch)
        assert [(t.org_unit_id, t.rms, t.assigned, t.done, t.overdue, t.rank) for t in teams] == [
            (unit("team-east-1"), 2, 7, 6, 0, 1),
            (unit("team-east-2"), 2, 7, 2, 3, 2),
        ]

        weeks = await numbers.weekly_trend(conn, branch)
        mondays = [w.week_start for w in weeks]
        assert mondays[0] <= branch.first_day < mondays[0] + timedelta(days=7)
        assert mondays[-1] <= branch.end_day - day < mondays[-1] + timedelta(days=7)
        assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(mondays))
        assert all(m.weekday() == 0 for m in mondays)
        assert sum(w.assigned for w in weeks) == 14
        assert sum(w.done for w in weeks) == 8
        assert any(w.assigned == 0 and w.completion_rate == 0.0 for w in weeks)  # nothing then

        for days in (1, 2, 6, 8, 13, 20, 29, 45, 60):  # cut weeks anywhere: rollups = tasks
            v = await numbers.view(conn, caller=BH_EAST, org_unit_id=None,
                                   from_=(now - days * day).date().isoformat(), to=None, tz=TZ,
                                   now=now)  # fmt: skip
            counted = await db.fetchrow(
                """select count(*) filter (where status <> 'cancelled') as assigned,
                          count(*) filter (where status = 'done') as done
                     from tasks where created_at >= $1 and created_at < $2""",
                v.start, v.end,
            )  # fmt: skip
            rms = await numbers.rm_progress(conn, v)
            trend = await numbers.weekly_trend(conn, v)
            assert (sum(r.assigned for r in rms), sum(r.done for r in rms)) == tuple(counted)
            assert (sum(w.assigned for w in trend), sum(w.done for w in trend)) == tuple(counted)

        year = await numbers.view(conn, caller=BH_EAST, org_unit_id=None,
                                  from_=(now - 60 * day).date().isoformat(), to=None, tz=TZ,
                                  now=now)  # fmt: skip
        assert {r.name: r.assigned for r in await numbers.rm_progress(conn, year)}["王芳"] == 4
    finally:
        await conn.close()


async def test_a_cancelled_task_is_not_assigned_to_its_rm(
    client: Any, db: Any, settings: Any
) -> None:
    """Tasks the bank cancelled (the RM or the branch head cancelled one, a closed customer's)
    leave the RM's assigned tasks, at the period's ends (read from the tasks) as on its whole
    days (read from the rollups); an expired task stays assigned and not done."""
    admin = await headers_of(client, "admin")
    await dispatch_tasks(client, admin, "team-east-1", 5)  # 5 tasks for rm01 and for rm02
    today = datetime.now(ZoneInfo(TZ)).date()
    first = datetime.combine(today - timedelta(days=10), datetime.min.time(), ZoneInfo(TZ))
    start, end = first + timedelta(hours=12), first + timedelta(days=3, hours=12)
    hour, day = timedelta(hours=1), timedelta(days=1)
    t = await tasks_of(db, "rm01")
    await arrange(db, t[0], created_at=start + hour, status="done")  # the first part-day
    await arrange(db, t[1], created_at=end - hour, status="done")  # the last part-day
    await arrange(db, t[2], created_at=start + day)  # a whole day: cancelled below
    await arrange(db, t[3], created_at=end - 2 * hour)  # the last part-day: cancelled below
    await arrange(db, t[4], created_at=start + 2 * day, status="expired")
    rm01 = await headers_of(client, "rm01")
    cancelled = await client.post(f"{TASKS}/{t[2]}/cancel", headers=rm01)
    assert cancelled.status_code == 200, cancelled.text
    by_head = await client.post(f"{TASKS}/{t[3]}/cancel", json={"reason": "客户已转介"},
                                headers=await headers_of(client, "bh.east"))  # fmt: skip
    assert by_head.status_code == 200, by_head.text
    await db.execute(  # a closed customer's task, cancelled on its first part-day
        """insert into tasks (id, template_id, template_version, assignee_id, title, status,
                              cancelled_at, cancel_reason, created_at)
           select $2, template_id, template_version, assignee_id, title, 'cancelled', now(),
                  '客户已销户', $3
             from tasks where id = $1""",
        t[0], uuid7(), start + 2 * hour,
    )  # fmt: skip
    for task_id in await tasks_of(db, "rm02"):
        await arrange(db, task_id, created_at=start + day, status="done")
    assert await rollup(db) == await recount(db)

    # /team/progress over instants: part-days from the tasks, whole days from the rollups.
    response = await client.get(
        "/api/v1/team/progress",
        params={"from": start.isoformat(), "to": end.isoformat()},
        headers=await headers_of(client, "bh.east"),
    )
    assert response.status_code == 200, response.text
    api = {r["name"]: (r["assigned"], r["done"], r["completion_rate"])
           for r in response.json()["rows"]}  # fmt: skip
    assert api["张伟"] == (3, 2, 0.6667)  # not 2 of 6
    assert api["王芳"] == (5, 5, 1.0)

    # The dashboard over the whole days around it: the rollups alone.
    conn = await connect(settings.database_url)
    try:
        v = await numbers.view(conn, caller=BH_EAST, org_unit_id=unit("team-east-1"),
                               from_=first.date().isoformat(),
                               to=(first + 3 * day).date().isoformat(), tz=TZ,
                               now=datetime.now(UTC))  # fmt: skip
        rows = {r.name: (r.assigned, r.done, r.rate_text, r.rank)
                for r in await numbers.rm_progress(conn, v)}  # fmt: skip
        assert rows == {"王芳": (5, 5, "100.0%", 1), "张伟": (3, 2, "66.7%", 2)}
        trend = await numbers.weekly_trend(conn, v)
        assert (sum(w.assigned for w in trend), sum(w.done for w in trend)) == (8, 7)
        parent = await numbers.view(conn, caller=BH_EAST, org_unit_id=None,
                                    from_=first.date().isoformat(),
                                    to=(first + 3 * day).date().isoformat(), tz=TZ,
                                    now=datetime.now(UTC))  # fmt: skip
        teams = {x.org_unit_id: (x.assigned, x.done) for x in await numbers.teams(conn, parent)}
        assert teams[unit("team-east-1")] == (8, 7)

        # The task exports list every task, the cancelled ones too, and count them all (the
        # count decides a download at once or by the worker): not the 8 assigned.
        vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        for key, params, rows_expected in (("tasks", {}, 11),
                                           ("rm_tasks", {"rm": str(user("rm01"))}, 6)):  # fmt: skip
            export = table(key)
            assert export is not None
            request = ExportRequest(caller=BH_EAST, view=v, params=params)
            listed = [row async for row in export.rows(conn, vault, request)]
            assert await export.count(conn, vault, request) == len(listed) == rows_expected
            assert sum(row[2] == "已取消" for row in listed) == 3
    finally:
        await conn.close()


async def test_a_branch_head_never_sees_the_other_branch(
    client: Any, db: Any, settings: Any
) -> None:
    admin = await headers_of(client, "admin")
    await dispatch_tasks(client, admin, "head-office", 2)  # every RM of both branches
    now = datetime.now(UTC)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        with pytest.raises(NotFound):
            await numbers.view(conn, caller=BH_EAST, org_unit_id=unit("team-west-1"), from_=None,
                               to=None, tz=TZ, now=now)  # fmt: skip
        with pytest.raises(numbers.BadPeriod):
            await numbers.view(conn, caller=BH_EAST, org_unit_id=None, from_="2026-01-01",
                               to="2027-01-02", tz=TZ, now=now)  # fmt: skip
        whole = await numbers.view(conn, caller=ADMIN, org_unit_id=None, from_=None, to=None,
                                   tz=TZ, now=now)  # fmt: skip
        assert whole.org_unit_id == unit("head-office")
        assert len(await numbers.rm_progress(conn, whole)) == 8

        east = await numbers.view(conn, caller=BH_EAST, org_unit_id=None, from_=None, to=None,
                                  tz=TZ, now=now)  # fmt: skip
        east_rms = {user(f"rm0{n}") for n in (1, 2, 3, 4)}
        assert {r.rm_id for r in await numbers.rm_progress(conn, east)} == east_rms
        assert sum(r.assigned for r in await numbers.rm_progress(conn, east)) == 8
        west_rm = user("rm05")
        for call in (
            numbers.rm_in_view(conn, east, west_rm),
            numbers.rm_tasks(conn, vault, BH_EAST, east, west_rm),
            numbers.rm_shares(conn, vault, BH_EAST, east, west_rm),
        ):
            with pytest.raises(NotFound):
                await call
        for key in ("rm_tasks", "rm_shares"):
            export = table(key)
            assert export is not None
            for rm in (str(west_rm), "not-an-id"):
                request = ExportRequest(caller=BH_EAST, view=east, params={"rm": rm})
                with pytest.raises(NotFound):
                    await export.count(conn, vault, request)
                with pytest.raises(NotFound):
                    [row async for row in export.rows(conn, vault, request)]

        tasks = table("tasks")
        assert tasks is not None
        request = ExportRequest(caller=BH_EAST, view=east)
        rows = [row async for row in tasks.rows(conn, vault, request)]
        assert len(rows) == await tasks.count(conn, vault, request) == 8
        assert {row[-1] for row in rows} == {"张伟", "王芳", "李娜", "刘洋"}
        mine = await numbers.rm_tasks(conn, vault, BH_EAST, east, user("rm01"))
        assert [t.assignee_name for t in mine] == ["张伟", "张伟"]
        assert isinstance(east.first_day, date)
    finally:
        await conn.close()

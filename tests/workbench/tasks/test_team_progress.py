"""Team progress for branch heads: per RM of a subtree, tasks assigned in a period (not
cancelled; an expired one counts), done, overdue, completion rate and median hours to done; RMs
without tasks included with zeros."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.customers_data import headers_of
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
PROGRESS = f"{API}/team/progress"
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
EAST_RMS = ("rm01", "rm02", "rm03", "rm04")
WEST_RMS = ("rm05", "rm06", "rm07", "rm08")


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


async def make_template(client: Any, headers: dict[str, str]) -> str:
    body = {"name": "拜访", "form": FORM}
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def dispatch_to(client: Any, headers: dict[str, str], template_id: str, unit_key: str) -> int:
    body = {"template_id": template_id, "title": "拜访", "org_unit_id": str(unit(unit_key))}
    response = await client.post(f"{API}/dispatches", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: int = response.json()["created"]
    return created


async def tasks_of(db: Any, login_name: str) -> list[uuid.UUID]:
    rows = await db.fetch(
        "select id from tasks where assignee_id = $1 order by id", user(login_name)
    )
    return [r["id"] for r in rows]


async def set_task(
    db: Any,
    task_id: uuid.UUID,
    *,
    created_at: datetime | None = None,
    status: str | None = None,
    done_at: datetime | None = None,
    due_at: datetime | None = None,
) -> None:
    """Arrange a task's history (the columns given; the others stay)."""
    await db.execute(
        "update tasks set created_at = coalesce($2, created_at), status = coalesce($3, status),"
        " done_at = coalesce($4, done_at), due_at = coalesce($5, due_at) where id = $1",
        task_id, created_at, status, done_at, due_at,
    )  # fmt: skip


async def progress(
    client: Any,
    headers: dict[str, str],
    start: datetime,
    end: datetime,
    unit_key: str | None = None,
) -> Any:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    if unit_key is not None:
        params["org_unit_id"] = str(unit(unit_key))
    return await client.get(PROGRESS, params=params, headers=headers)


def by_rm(answer: dict[str, Any]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = {uuid.UUID(r["rm_id"]): r for r in answer["rows"]}
    assert len(rows) == len(answer["rows"])  # one row per RM
    return rows


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["assigned"], row["done"], row["overdue"], row["completion_rate"],
            row["median_hours_to_done"])  # fmt: skip


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select date_trunc('second', now())")
    return now


async def test_branch_head_sees_each_rm_of_the_branch(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    for _ in range(5):
        assert await dispatch_to(client, admin, template_id, "team-east-1") == 2
    assert await dispatch_to(client, admin, template_id, "team-west-1") == 2
    now = await db_now(db)
    start, end = now - timedelta(days=20), now - timedelta(days=10)
    past, future = now - timedelta(days=1), now + timedelta(days=5)

    t = await tasks_of(db, "rm01")
    await set_task(db, t[0], created_at=start, status="done", done_at=start + timedelta(hours=2))
    day = timedelta(days=1)
    await set_task(db, t[1], created_at=start + day, status="done",
                   done_at=start + day + timedelta(hours=4))  # fmt: skip
    await set_task(db, t[2], created_at=start + 2 * day, status="done",
                   done_at=start + 2 * day + timedelta(hours=9))  # fmt: skip
    await set_task(db, t[3], created_at=start + 3 * day, due_at=past)  # open, overdue
    await set_task(db, t[4], created_at=start + 4 * day, status="in_progress", due_at=future)

    u = await tasks_of(db, "rm02")
    await set_task(db, u[0], created_at=start + day, status="done",
                   done_at=start + day + timedelta(minutes=90))  # fmt: skip
    await set_task(db, u[1], created_at=start + 2 * day, due_at=past)
    await db.execute(  # cancelled after it was made: no longer assigned to rm02
        "update tasks set status = 'cancelled', cancelled_at = now(), cancel_reason = '客户已销户'"
        " where id = $1", u[1])  # fmt: skip
    await set_task(db, u[2], created_at=end, status="done", done_at=end + timedelta(hours=1))
    await set_task(db, u[3], created_at=start - timedelta(seconds=1), due_at=past)
    await set_task(db, u[4], created_at=end - timedelta(seconds=1), status="expired", due_at=past)

    for task_id in await tasks_of(db, "rm05"):  # another branch, inside the period
        await set_task(db, task_id, created_at=start + day, status="done",
                       done_at=start + day + timedelta(hours=1))  # fmt: skip

    east = await headers_of(client, "bh.east")
    response = await progress(client, east, start, end)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["org_unit_id"] == str(unit("branch-east"))
    assert datetime.fromisoformat(answer["from"]) == start
    assert datetime.fromisoformat(answer["to"]) == end
    rows = by_rm(answer)
    assert set(rows) == {user(rm) for rm in EAST_RMS}
    assert figures(rows[user("rm01")]) == (5, 3, 1, 0.6, 4.0)
    assert figures(rows[user("rm02")]) == (2, 1, 0, 0.5, 1.5)  # the cancelled one left out
    assert figures(rows[user("rm03")]) == (0, 0, 0, 0.0, None)
    assert figures(rows[user("rm04")]) == (0, 0, 0, 0.0, None)
    assert rows[user("rm01")]["name"] == "张伟"
    assert rows[user("rm01")]["org_unit_id"] == str(unit("team-east-1"))
    assert rows[user("rm03")]["org_unit_id"] == str(unit("team-east-2"))

    # One team of the branch.
    team = await progress(client, east, start, end, "team-east-1")
    assert team.status_code == 200, team.text
    assert set(by_rm(team.json())) == {user("rm01"), user("rm02")}

    # The admin sees the whole bank by default, the other branch included.
    admin_view = await progress(client, admin, start, end)
    assert admin_view.status_code == 200, admin_view.text
    rows = by_rm(admin_view.json())
    assert set(rows) == {user(rm) for rm in EAST_RMS + WEST_RMS}
    assert figures(rows[user("rm05")]) == (1, 1, 0, 1.0, 1.0)


async def test_median_over_an_even_number_of_done_tasks(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    for _ in range(4):
        await dispatch_to(client, admin, template_id, "team-east-2")
    now = await db_now(db)
    for hours, task_id in zip((1, 3, 6, 10), await tasks_of(db, "rm03"), strict=True):
        await set_task(db, task_id, status="done", created_at=now - timedelta(hours=20),
                       done_at=now - timedelta(hours=20 - hours))  # fmt: skip

    east = await headers_of(client, "bh.east")
    response = await progress(client, east, now - timedelta(days=1), now + timedelta(hours=1))
    assert response.status_code == 200, response.text
    rows = by_rm(response.json())
    assert figures(rows[user("rm03")]) == (4, 4, 0, 1.0, 4.5)
    assert figures(rows[user("rm04")]) == (4, 0, 0, 0.0, None)


async def test_progress_groups_correctly_for_many_rms(client, db):
    admin = await headers_of(client, "admin")
    extra = {}
    for n in range(1, 33):
        body = {"login": f"rmx{n:02d}", "name": f"客户经理{n:02d}", "role": "rm",
                "org_unit_id": str(unit("team-east-1" if n % 2 else "team-east-2")),
                "password": "password-for-tests"}  # fmt: skip
        response = await client.post(f"{API}/admin/users", json=body, headers=admin)
        assert response.status_code == 201, response.text
        extra[n] = uuid.UUID(response.json()["id"])
    template_id = await make_template(client, admin)
    assert await dispatch_to(client, admin, template_id, "branch-east") == 36
    assert await dispatch_to(client, admin, template_id, "branch-east") == 36
    now = await db_now(db)

    expected = {user(rm): (2, 0, 0, 0.0, None) for rm in EAST_RMS}
    for n, rm_id in extra.items():
        first, second = await db.fetch(
            "select id, created_at from tasks where assignee_id = $1 order by id", rm_id
        )
        done = n % 3
        if done == 0:
            await set_task(db, first["id"], due_at=now - timedelta(hours=1))
            expected[rm_id] = (2, 0, 1, 0.0, None)
        elif done == 1:
            await set_task(db, first["id"], status="done",
                           done_at=first["created_at"] + timedelta(hours=n))  # fmt: skip
            expected[rm_id] = (2, 1, 0, 0.5, float(n))
        else:
            for task, hours in ((first, n), (second, 2 * n)):
                await set_task(db, task["id"], status="done",
                               done_at=task["created_at"] + timedelta(hours=hours))  # fmt: skip
            expected[rm_id] = (2, 2, 0, 1.0, 1.5 * n)

    east = await headers_of(client, "bh.east")
    response = await progress(client, east, now - timedelta(hours=1), now + timedelta(hours=1))
    assert response.status_code == 200, response.text
    rows = by_rm(response.json())
    assert len(rows) == 36
    assert {rm_id: figures(row) for rm_id, row in rows.items()} == expected

    west = await headers_of(client, "bh.west")
    response = await progress(client, west, now - timedelta(hours=1), now + timedelta(hours=1))
    assert set(by_rm(response.json())) == {user(rm) for rm in WEST_RMS}


@pytest.mark.parametrize("other", ["branch-west", "team-west-2", "head-office"])
async def test_a_unit_outside_the_subtree_is_not_found(client, db, other):
    east = await headers_of(client, "bh.east")
    now = await db_now(db)
    response = await progress(client, east, now - timedelta(days=7), now, other)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "org_unit.not_found"


async def test_unknown_unit_is_not_found(client, db):
    admin = await headers_of(client, "admin")
    now = await db_now(db)
    params = {"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat(),
              "org_unit_id": str(uuid.uuid4())}  # fmt: skip
    response = await client.get(PROGRESS, params=params, headers=admin)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("who", ["rm01", "marketing", "compliance"])
async def test_only_branch_heads_and_admins_see_progress(client, db, who):
    caller = await headers_of(client, who)
    now = await db_now(db)
    response = await progress(client, caller, now - timedelta(days=7), now)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "auth.forbidden"


@pytest.mark.parametrize("length", [timedelta(0), -timedelta(days=1)])
async def test_period_must_end_after_it_starts(client, db, length):
    east = await headers_of(client, "bh.east")
    now = await db_now(db)
    response = await progress(client, east, now, now + length)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "progress.bad_period"


async def test_a_period_of_plain_days_covers_both_days_in_the_banks_time_zone(client, db):
    """`from=2026-11-01&to=2026-11-30` is all of November in Asia/Shanghai, the last day too."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    assert await dispatch_to(client, admin, template_id, "team-east-1") == 2
    rm01_task, rm02_task = (await tasks_of(db, "rm01"))[0], (await tasks_of(db, "rm02"))[0]
    shanghai = timezone(timedelta(hours=8))
    # 30 November, 23:30 in Shanghai (15:30 UTC): inside; 1 December 00:30 there: outside.
    await set_task(db, rm01_task, created_at=datetime(2026, 11, 30, 23, 30, tzinfo=shanghai))
    await set_task(db, rm02_task, created_at=datetime(2026, 12, 1, 0, 30, tzinfo=shanghai))
    east = await headers_of(client, "bh.east")

    response = await client.get(
        PROGRESS, params={"from": "2026-11-01", "to": "2026-11-30"}, headers=east
    )
    assert response.status_code == 200, response.text
    assigned = {r["name"]: r["assigned"] for r in response.json()["rows"]}
    assert assigned["张伟"] == 1  # rm01
    assert assigned.get("王芳", 0) == 0  # rm02's task is December's
    assert datetime.fromisoformat(response.json()["from"]) == datetime(2026, 11, 1, tzinfo=shanghai)


async def test_a_period_that_is_neither_a_day_nor_a_time_names_the_parameter(client):
    east = await headers_of(client, "bh.east")
    response = await client.get(
        PROGRESS, params={"from": "2026-13-45", "to": "2026-12-01"}, headers=east
    )
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["query.from"]


@pytest.mark.parametrize("given", [{"from": "2026-12-01"}, {"to": "2026-12-01"}])
async def test_a_period_end_left_out_is_named_as_written(client, given):
    # It was path "$" with Litestar's sentence echoing the URL and its query string.
    east = await headers_of(client, "bh.east")
    response = await client.get(PROGRESS, params=given, headers=east)
    assert response.status_code == 422, response.text
    missing = "to" if "from" in given else "from"
    assert response.json()["errors"] == [{"path": f"query.{missing}", "message": "is required"}]
    assert "2026-12-01" not in response.json()["detail"]


@pytest.mark.parametrize(
    ("from_", "to", "named"),
    [
        ("2026-12-01", "9999-12-31", "query.to"),  # no next midnight: once a 500
        ("9999-12-31", "9999-12-31", "query.from"),
        ("0001-01-01", "2026-12-01", "query.from"),  # once refused only by the database
        ("2026-12-01", "9999-12-31T23:59:59-12:00", "query.to"),
    ],
)
async def test_a_period_beyond_the_years_2000_to_2999_names_the_parameter(client, from_, to, named):
    east = await headers_of(client, "bh.east")
    response = await client.get(PROGRESS, params={"from": from_, "to": to}, headers=east)
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]][:1] == [named]
    assert "2000" in response.json()["errors"][0]["message"]


async def test_a_period_may_end_on_the_last_day_of_2999(client):
    east = await headers_of(client, "bh.east")
    response = await client.get(
        PROGRESS, params={"from": "2999-12-01", "to": "2999-12-31"}, headers=east
    )
    assert response.status_code == 200, response.text

"""Managing dispatches: the list (`GET /api/v1/dispatches`, by scope, newest first, paged),
ending a recurring series (`POST /api/v1/dispatches/{id}/end`: no further periods, the open
tasks stay, idempotent, audited), a series' new periods taking the template's current version,
and a dispatch title that must show what it says."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.ids import uuid5_for
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def unit(key: str) -> str:
    return str(uuid5_for(f"org:{key}"))


async def make_template(
    client: Any, headers: dict[str, str], recurrence: str | None = WEEKLY, **extra: Any
) -> str:
    body = {"name": "周报 Weekly report", "form": FORM, **extra}
    if recurrence:
        body["recurrence"] = recurrence
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def dispatch(
    client: Any, headers: dict[str, str], template_id: str, title: str = "例行周报", **target: Any
) -> str:
    body = {"template_id": template_id, "title": title, **target}
    response = await client.post(f"{API}/dispatches", json=body, headers=headers)
    assert response.status_code == 201, response.text
    dispatch_id: str = response.json()["id"]
    return dispatch_id


async def end(client: Any, headers: dict[str, str], dispatch_id: str) -> Any:
    return await client.post(f"{API}/dispatches/{dispatch_id}/end", headers=headers)


async def tasks_of(db: Any, dispatch_id: str) -> list[Any]:
    return await db.fetch(
        "select id, assignee_id, status, period_start, due_at, template_version from tasks"
        " where dispatch_id = $1 order by period_start, assignee_id",
        uuid.UUID(dispatch_id),
    )


async def complete(client: Any, login_name: str, task_id: Any) -> None:
    rm = await headers_of(client, login_name)
    started = await client.post(f"{API}/tasks/{task_id}/start", headers=rm)
    assert started.status_code == 200, started.text
    done = await client.post(
        f"{API}/tasks/{task_id}/submit", json={"values": {"note": "完成"}}, headers=rm
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"


async def listed(client: Any, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(f"{API}/dispatches", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# ---- ending a series ------------------------------------------------------------------------


async def test_an_ended_series_opens_no_further_period(client, db, clock, job_ctx):
    """Two weekly series; one is ended. The worker (once the week is over) and a finished task
    open the next period of the running one only; the ended one's open tasks stay."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    ended_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))
    running_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-2"))

    response = await end(client, admin, ended_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == ended_id
    assert body["ended_at"] is not None
    assert body["ended_by"] == str(user("admin"))
    assert body["recurring"] is True

    # A finished task: the running series gives rm03 next week's task, the ended one nothing.
    ended_tasks, running_tasks = await tasks_of(db, ended_id), await tasks_of(db, running_id)
    rm01_task = next(t for t in ended_tasks if t["assignee_id"] == user("rm01"))
    rm03_task = next(t for t in running_tasks if t["assignee_id"] == user("rm03"))
    await complete(client, "rm01", rm01_task["id"])
    await complete(client, "rm03", rm03_task["id"])
    assert len(await tasks_of(db, ended_id)) == 2
    assert len(await tasks_of(db, running_id)) == 3

    # The worker once the week is over: only the running series' RMs get a task.
    clock(running_tasks[0]["due_at"] + timedelta(minutes=5))
    created = await jobs.open_recurring_periods(job_ctx)
    assert created == 1  # rm04 (rm03 already has the new week's task)
    after = await tasks_of(db, ended_id)
    assert {t["assignee_id"]: t["status"] for t in after} == {
        user("rm01"): "done",
        user("rm02"): "pending",
    }
    assert {t["period_start"] for t in after} == {ended_tasks[0]["period_start"]}
    # The ended series' open task is still in rm02's inbox.
    rm02 = await headers_of(client, "rm02")
    inbox = (await client.get(f"{API}/tasks", headers=rm02)).json()["items"]
    assert [t["id"] for t in inbox] == [
        str(t["id"]) for t in after if t["assignee_id"] == user("rm02")
    ]


async def test_ending_twice_answers_the_same_end_and_both_are_audited_once(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))

    first = await end(client, admin, dispatch_id)
    again = await end(client, admin, dispatch_id)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()

    rows = await db.fetch(
        "select action, actor_id, subject, detail::text as detail from audit_events"
        " where action like 'dispatch.%' order by id"
    )
    assert [(r["action"], r["actor_id"], r["subject"]) for r in rows] == [
        ("dispatch.created", user("admin"), f"dispatch:{dispatch_id}"),
        ("dispatch.ended", user("admin"), f"dispatch:{dispatch_id}"),
    ]
    created = json.loads(rows[0]["detail"])
    assert created["recurring"] is True
    assert (created["created"], created["skipped"], created["not_found"]) == (2, 0, 0)


async def test_a_customer_dispatch_audit_counts_customers_without_naming_them(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("A1", name="客户甲", owner="rm01", seq=1),
            customer_row("A2", name="客户乙", owner="rm05", seq=2)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    template_id = await make_template(client, admin, recurrence=None)
    bh = await headers_of(client, "bh.east")
    wanted = [str(ids["A1"]), str(ids["A2"])]
    dispatch_id = await dispatch(client, bh, template_id, customer_ids=wanted)
    detail = await db.fetchval(
        "select detail::text from audit_events where action = 'dispatch.created' and subject = $1",
        f"dispatch:{dispatch_id}",
    )
    assert detail is not None
    for customer in wanted:
        assert customer not in detail
    assert '"customers": 2' in detail
    assert '"not_found": 1' in detail  # rm05's customer is outside bh.east's branch
    assert '"recurring": false' in detail


async def test_who_may_end_a_series(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    east = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))
    one_off_template = await make_template(client, admin, recurrence=None)
    one_off = await dispatch(client, admin, one_off_template, org_unit_id=unit("team-east-1"))

    west_head, east_head = await headers_of(client, "bh.west"), await headers_of(client, "bh.east")
    rm01 = await headers_of(client, "rm01")
    outside = await end(client, west_head, east)
    assert outside.status_code == 404, outside.text
    assert outside.json()["code"] == "dispatch.not_found"
    assert (await end(client, admin, str(uuid.uuid4()))).status_code == 404
    assert (await end(client, rm01, east)).status_code == 403
    not_series = await end(client, admin, one_off)
    assert not_series.status_code == 409, not_series.text
    assert not_series.json()["code"] == "dispatch.not_recurring"
    assert await db.fetchval("select count(*) from dispatches where ended_at is not null") == 0

    mine = await end(client, east_head, east)
    assert mine.status_code == 200, mine.text
    assert mine.json()["ended_by"] == str(user("bh.east"))


# ---- the list ---------------------------------------------------------------------------------


async def test_the_list_by_scope_newest_first_and_paged(client, db):
    admin = await headers_of(client, "admin")
    bh_east = await headers_of(client, "bh.east")
    rows = [customer_row("C1", name="客户一", owner="rm01", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    customer = (await customer_ids(db))["C1"]
    weekly = await make_template(client, admin)
    one_off = await make_template(client, admin, recurrence=None, name="回访 Visit")

    east_series = await dispatch(client, admin, weekly, title="东区周报",
                                 org_unit_id=unit("team-east-1"))  # fmt: skip
    west_one_off = await dispatch(client, admin, one_off, title="西区回访",
                                  org_unit_id=unit("branch-west"))  # fmt: skip
    admin_list = await dispatch(client, admin, one_off, title="总行名单",
                                customer_ids=[str(customer)])  # fmt: skip
    head_list = await dispatch(client, bh_east, one_off, title="支行名单",
                               customer_ids=[str(customer)])  # fmt: skip
    newest_first = [head_list, admin_list, west_one_off, east_series]

    everything = await listed(client, admin)
    assert [d["id"] for d in everything["items"]] == newest_first
    assert everything["next_cursor"] is None
    series = everything["items"][-1]
    assert series == {
        "id": east_series,
        "template_id": weekly,
        "template_name": "周报 Weekly report",
        "title": "东区周报",
        "org_unit_id": unit("team-east-1"),
        "recurring": True,
        "recurrence": WEEKLY,
        "created": 2,
        "skipped": 0,
        "not_found": 0,
        "created_by": str(user("admin")),
        "created_at": series["created_at"],
        "ended_at": None,
        "ended_by": None,
    }
    assert everything["items"][0]["org_unit_id"] is None
    assert everything["items"][0]["recurring"] is False
    assert everything["items"][0]["recurrence"] is None

    # Paged: two, then the other two, then nothing more.
    page = await listed(client, admin, limit=2)
    assert [d["id"] for d in page["items"]] == newest_first[:2]
    rest = await listed(client, admin, limit=2, cursor=page["next_cursor"])
    assert [d["id"] for d in rest["items"]] == newest_first[2:]
    assert rest["next_cursor"] is None

    # A branch head: the dispatches to their units and the lists sent from their branch; not
    # the west's, nor the admin's customer list (it may reach the whole bank).
    east = await listed(client, bh_east)
    assert [d["id"] for d in east["items"]] == [head_list, east_series]
    west = await listed(client, await headers_of(client, "bh.west"))
    assert [d["id"] for d in west["items"]] == [west_one_off]

    # Ended: the list says so.
    assert (await end(client, bh_east, east_series)).status_code == 200
    again = await listed(client, bh_east)
    assert again["items"][1]["ended_at"] is not None

    rm = await client.get(f"{API}/dispatches", headers=await headers_of(client, "rm01"))
    assert rm.status_code == 403
    bad = await client.get(f"{API}/dispatches", params={"cursor": "nonsense"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["code"] == "request.bad_cursor"


# ---- new periods take the template's current version -----------------------------------------


async def test_the_worker_opens_new_periods_with_the_current_template_version(
    client, db, clock, job_ctx
):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, reminders=[{"minutes_before_due": 60}])
    clock(datetime(2026, 12, 5, 7, tzinfo=SHANGHAI))
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))
    first = await tasks_of(db, dispatch_id)
    assert {t["template_version"] for t in first} == {1}

    edited = {
        "name": "周报 Weekly report v2",
        "form": {"fields": [*FORM["fields"], {"key": "pipeline", "label": "商机", "type": "text"}]},
        "recurrence": WEEKLY,
        "reminders": [{"minutes_before_due": 120}],
    }
    put = await client.put(f"{API}/task-templates/{template_id}", json=edited, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2

    clock(first[0]["due_at"] + timedelta(minutes=1))
    assert await jobs.open_recurring_periods(job_ctx) == 2
    tasks = await tasks_of(db, dispatch_id)
    new = [t for t in tasks if t["period_start"] == first[0]["due_at"]]
    assert len(new) == 2
    assert {t["template_version"] for t in new} == {2}
    # The tasks already issued keep their version.
    assert {t["template_version"] for t in tasks if t not in new} == {1}
    reminders = await db.fetch(
        "select distinct offset_minutes from task_reminders where task_id = any($1::uuid[])",
        [t["id"] for t in new],
    )
    assert sorted(r["offset_minutes"] for r in reminders) == [0, 120]

    # What the RM sees: the new task with the new form.
    rm01 = await headers_of(client, "rm01")
    mine = next(t for t in new if t["assignee_id"] == user("rm01"))
    detail = await client.get(f"{API}/tasks/{mine['id']}", headers=rm01)
    assert detail.status_code == 200, detail.text
    assert detail.json()["template_version"] == 2


async def test_a_finished_task_opens_the_next_period_with_the_current_version(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))
    first = next(t for t in await tasks_of(db, dispatch_id) if t["assignee_id"] == user("rm01"))
    edited = {"name": "周报 v2", "form": FORM, "recurrence": WEEKLY}
    put = await client.put(f"{API}/task-templates/{template_id}", json=edited, headers=admin)
    assert put.status_code == 200, put.text

    await complete(client, "rm01", first["id"])
    mine = [t for t in await tasks_of(db, dispatch_id) if t["assignee_id"] == user("rm01")]
    assert [(t["period_start"], t["template_version"]) for t in mine] == [
        (first["period_start"], 1),
        (first["due_at"], 2),
    ]


async def test_a_template_no_longer_recurring_opens_no_new_period(client, db, clock, job_ctx):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=unit("team-east-1"))
    first = await tasks_of(db, dispatch_id)
    put = await client.put(
        f"{API}/task-templates/{template_id}", json={"name": "一次性", "form": FORM}, headers=admin
    )
    assert put.status_code == 200, put.text
    clock(first[0]["due_at"] + timedelta(minutes=1))
    assert await jobs.open_recurring_periods(job_ctx) == 0
    assert len(await tasks_of(db, dispatch_id)) == 2


# ---- the title --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "",
        "   ",
        "\u200b\u200b",  # zero-width spaces only
        "周报\u0007",  # a control character
        "周报\n第二行",
        "周报\u2028第二行",  # a Unicode line separator
        "\u202e报周",  # right-to-left override
    ],
    ids=["empty", "spaces", "zero-width", "control", "newline", "line-separator", "bidi"],
)
async def test_a_title_must_show_what_it_says(client, db, title):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    body = {"template_id": template_id, "title": title, "org_unit_id": unit("team-east-1")}
    response = await client.post(f"{API}/dispatches", json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "request.validation_failed"
    assert [e["path"] for e in problem["errors"]] == ["$.title"]
    assert await db.fetchval("select count(*) from dispatches") == 0
    assert await db.fetchval("select count(*) from tasks") == 0


async def test_a_title_is_trimmed(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    dispatch_id = await dispatch(client, admin, template_id, title="  经营周报 \u3000",
                                 org_unit_id=unit("team-east-1"))  # fmt: skip
    assert {t["id"] for t in await tasks_of(db, dispatch_id)}
    titles = await db.fetch("select distinct title from tasks")
    assert [r["title"] for r in titles] == ["经营周报"]
    listed_title = (await listed(client, admin))["items"][0]["title"]
    assert listed_title == "经营周报"

"""A branch head hands an open task to another RM of their subtree
(POST /api/v1/tasks/{id}/reassign): the task, its reminders, the RMs' inboxes, devices and
notification centres follow; what may not be handed over is refused and changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push.test_reminders import db_now, due_in, outbox, reminders_of, run_job
from tests.sync.sync_data import App, api_get, ops
from tests.tasks_data import TASKS, create_template, issue, issue_tasks, task_state, user
from workbench.db import create_pool

pytestmark = pytest.mark.usefixtures("demo_bank")

ADMIN_USERS = "/api/v1/admin/users"
TITLE = "季度客户回访"


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Any]:
    """What the worker's reminder job runs on."""
    created = await create_pool(settings.database_url, max_size=2)
    try:
        yield created
    finally:
        await created.close()


async def reassign(client: Any, headers: dict[str, str], task_id: Any, to: str | uuid.UUID) -> Any:
    assignee = user(to) if isinstance(to, str) else to
    return await client.post(
        f"{TASKS}/{task_id}/reassign", json={"assignee_id": str(assignee)}, headers=headers
    )


async def east_tasks(client: Any, db: Any, **template: Any) -> dict[str, uuid.UUID]:
    """The admin dispatches a customer-less task to every RM of team-east-1 (rm01, rm02), due
    in three days; {login: task id}."""
    admin = await headers_of(client, "admin")
    made = await create_template(client, admin, **template)
    due = await db_now(db) + timedelta(days=3)
    return await issue(client, db, admin, made["id"], title=TITLE, org_unit="team-east-1",
                       due_at=due)  # fmt: skip


async def set_active(client: Any, login: str, active: bool) -> None:
    admin = await headers_of(client, "admin")
    action = "enable" if active else "disable"
    response = await client.post(f"{ADMIN_USERS}/{user(login)}/{action}", headers=admin)
    assert response.status_code == 200, response.text


async def inbox_ids(client: Any, headers: dict[str, str]) -> set[str]:
    response = await client.get(TASKS, headers=headers)
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()["items"]}


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem


async def customer_task_of_rm01(client: Any, db: Any) -> tuple[dict[str, Any], uuid.UUID]:
    """rm01's customer 王芳 (the feed row) and a visit dispatched for them, due in three days."""
    admin = await headers_of(client, "admin")
    row = customer_row("R-1", name="王芳", owner="rm01", seq=1)
    await feed(client, admin, "customers", [row])
    ids = await customer_ids(db)
    template = await create_template(client, admin)
    [(login, task_id, _)] = await issue_tasks(
        client, db, admin, template["id"], title=TITLE, customer_ids=[ids["R-1"]],
        due_at=await db_now(db) + timedelta(days=3),
    )  # fmt: skip
    assert login == "rm01"
    return row, task_id


# ---- handing over ------------------------------------------------------------------------------


async def test_a_disabled_rms_task_goes_to_another_rm_of_the_branch(client, db):
    tasks = await east_tasks(client, db)
    task = tasks["rm01"]
    await set_active(client, "rm01", False)  # rm01 leaves; their task is stranded
    head = await headers_of(client, "bh.east")

    answer = await reassign(client, head, task, "rm03")  # rm03 of team-east-2, same branch

    assert answer.status_code == 200, answer.text
    assert answer.json() == await api_get(client, head, f"{TASKS}/{task}")
    assert answer.json()["assignee_id"] == str(user("rm03"))
    assert answer.json()["status"] == "pending"
    rm03 = await headers_of(client, "rm03")
    assert str(task) in await inbox_ids(client, rm03)
    # rm01 back from leave: the task is no longer theirs to do.
    await set_active(client, "rm01", True)
    rm01 = await headers_of(client, "rm01")
    assert str(task) not in await inbox_ids(client, rm01)
    assert (await client.get(f"{TASKS}/{task}", headers=rm01)).status_code == 404
    # Recorded: who handed it over, from whom, to whom.
    [event] = await db.fetch(
        "select actor_id, subject, detail from audit_events where action = 'task.reassigned'"
    )
    detail = json.loads(event["detail"]) if isinstance(event["detail"], str) else event["detail"]
    assert event["actor_id"] == user("bh.east")
    assert event["subject"] == f"task:{task}"
    assert (detail["from"], detail["to"]) == (str(user("rm01")), str(user("rm03")))


async def test_a_started_task_goes_back_to_pending_for_the_new_rm(client, db):
    tasks = await east_tasks(client, db)
    rm01 = await headers_of(client, "rm01")
    started = await client.post(f"{TASKS}/{tasks['rm01']}/start", headers=rm01)
    assert started.json()["status"] == "in_progress"
    head = await headers_of(client, "bh.east")

    answer = await reassign(client, head, tasks["rm01"], "rm04")

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["started_at"]) == ("pending", None)
    # The former RM's offline start of it is refused; the new RM starts it afresh.
    assert (await client.post(f"{TASKS}/{tasks['rm01']}/start", headers=rm01)).status_code == 404
    rm04 = await headers_of(client, "rm04")
    again = await client.post(f"{TASKS}/{tasks['rm01']}/start", headers=rm04)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "in_progress"


async def test_reassigning_to_the_current_assignee_changes_nothing(client, db):
    tasks = await east_tasks(client, db)
    before = await task_state(db, tasks["rm02"])
    head = await headers_of(client, "bh.east")

    answer = await reassign(client, head, tasks["rm02"], "rm02")

    assert answer.status_code == 200, answer.text
    assert answer.json()["assignee_id"] == str(user("rm02"))
    assert await task_state(db, tasks["rm02"]) == before
    told = "select count(*) from notifications where category = 'task.assigned'"
    assert await db.fetchval(told) == 0
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'task.reassigned'") == 0
    )


# ---- tasks about a customer ---------------------------------------------------------------------


async def test_a_customers_task_cannot_go_to_an_rm_who_does_not_own_them(client, db):
    _, task = await customer_task_of_rm01(client, db)
    before = await task_state(db, task)
    head = await headers_of(client, "bh.east")

    problem = refused(await reassign(client, head, task, "rm02"), 409, "task.customer_not_theirs")

    assert "feed" in problem["detail"]
    assert problem["title"]
    assert await task_state(db, task) == before
    assert await db.fetchval("select assignee_id from tasks where id = $1", task) == user("rm01")


async def test_a_started_customer_task_follows_the_customer_to_their_new_rm(client, db):
    row, task = await customer_task_of_rm01(client, db)
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    admin = await headers_of(client, "admin")
    # The feed moves the customer to rm02; a started task stays behind with rm01.
    await feed(client, admin, "customers", [{**row, "owner_login": "rm02"}])
    assert await db.fetchval("select assignee_id from tasks where id = $1", task) == user("rm01")
    head = await headers_of(client, "bh.east")

    answer = await reassign(client, head, task, "rm02")

    assert answer.status_code == 200, answer.text
    assert (answer.json()["assignee_id"], answer.json()["status"]) == (str(user("rm02")), "pending")
    # rm02 is told, with the task's title and due time but never the customer's name.
    rm02 = await headers_of(client, "rm02")
    listed = (await client.get("/api/v1/notifications", headers=rm02)).json()["items"]
    [told] = [n for n in listed if n["category"] == "task.assigned"]
    assert TITLE in told["body"]
    assert "截止" in told["body"]
    assert told["data"]["task_id"] == str(task)
    assert "王芳" not in told["title"] + told["body"]


async def test_a_series_task_cannot_go_to_an_rm_who_has_that_period_already(client, db):
    admin = await headers_of(client, "admin")
    made = await create_template(client, admin, recurrence="FREQ=DAILY")
    tasks = await issue(client, db, admin, made["id"], title="日报", org_unit="team-east-1")
    before = await task_state(db, tasks["rm01"])
    head = await headers_of(client, "bh.east")

    refused(await reassign(client, head, tasks["rm01"], "rm02"), 409, "task.period_taken")

    assert await task_state(db, tasks["rm01"]) == before
    # An RM without a task of that period may take it.
    assert (await reassign(client, head, tasks["rm01"], "rm03")).status_code == 200


# ---- who may, and to whom ----------------------------------------------------------------------


async def test_another_branchs_head_cannot_see_the_task(client, db):
    tasks = await east_tasks(client, db)
    west = await headers_of(client, "bh.west")

    refused(await reassign(client, west, tasks["rm01"], "rm05"), 404, "task.not_found")

    assert await db.fetchval("select assignee_id from tasks where id = $1", tasks["rm01"]) == (
        user("rm01")
    )


async def test_an_rm_outside_the_heads_subtree_or_unknown_is_not_found(client, db):
    tasks = await east_tasks(client, db)
    before = await task_state(db, tasks["rm01"])
    head = await headers_of(client, "bh.east")

    refused(await reassign(client, head, tasks["rm01"], "rm05"), 404, "user.not_found")  # west
    refused(await reassign(client, head, tasks["rm01"], uuid.uuid4()), 404, "user.not_found")

    assert await task_state(db, tasks["rm01"]) == before


async def test_a_disabled_user_or_one_of_another_role_cannot_be_given_the_task(client, db):
    tasks = await east_tasks(client, db)
    before = await task_state(db, tasks["rm01"])
    await set_active(client, "rm03", False)
    head = await headers_of(client, "bh.east")

    disabled = refused(
        await reassign(client, head, tasks["rm01"], "rm03"), 409, "task.assignee_not_active_rm"
    )
    assert "disabled" in disabled["detail"]
    not_rm = refused(
        await reassign(client, head, tasks["rm01"], "bh.east"), 409, "task.assignee_not_active_rm"
    )
    assert "not a relationship manager" in not_rm["detail"]
    assert await task_state(db, tasks["rm01"]) == before
    assert await db.fetchval("select assignee_id from tasks where id = $1", tasks["rm01"]) == (
        user("rm01")
    )


async def test_an_rm_cannot_hand_their_task_over(client, db):
    tasks = await east_tasks(client, db)
    rm01 = await headers_of(client, "rm01")

    refused(await reassign(client, rm01, tasks["rm01"], "rm02"), 403, "auth.forbidden")

    assert await db.fetchval("select assignee_id from tasks where id = $1", tasks["rm01"]) == (
        user("rm01")
    )


async def test_a_done_task_cannot_be_handed_over(client, db):
    tasks = await east_tasks(client, db)
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{tasks['rm01']}/start", headers=rm01)).status_code == 200
    done = await client.post(
        f"{TASKS}/{tasks['rm01']}/submit", json={"values": {"notes": "已回访"}}, headers=rm01
    )
    assert done.json()["status"] == "done"
    before = await task_state(db, tasks["rm01"])
    head = await headers_of(client, "bh.east")

    problem = refused(
        await reassign(client, head, tasks["rm01"], "rm02"), 409, "task.illegal_transition"
    )

    assert problem["current_status"] == "done"
    assert await task_state(db, tasks["rm01"]) == before


# ---- reminders, devices -------------------------------------------------------------------------


async def test_reminders_follow_the_task_and_those_queued_unsent_are_armed_again(
    client, db, pool, settings
):
    tasks = await east_tasks(client, db, reminders=[{"minutes_before_due": 3}])
    task = tasks["rm01"]
    # Due in 100 s: the 3-minute reminder's time has passed and the at-due one is under two
    # minutes away: both are queued into the outbox for rm01 (not pushed yet).
    await due_in(db, task, 100)
    assert await run_job(pool, settings) >= 2
    queued = [r for r in await outbox(db, "task.reminder", subject=task)]
    assert {(r["user_id"], r["push_status"]) for r in queued} == {(user("rm01"), "pending")}
    head = await headers_of(client, "bh.east")

    assert (await reassign(client, head, task, "rm02")).status_code == 200

    withdrawn = await outbox(db, "task.reminder", subject=task)
    assert {r["push_status"] for r in withdrawn} == {"withdrawn"}
    # The next run of the job queues them again, for rm02, once.
    assert await run_job(pool, settings) == 2
    for_rm02 = [
        r for r in await outbox(db, "task.reminder", subject=task) if r["user_id"] == user("rm02")
    ]
    assert sorted(r["data"]["kind"] for r in for_rm02) == ["at_due", "before_due"]
    assert {r["push_status"] for r in for_rm02} == {"pending"}
    assert await run_job(pool, settings) == 0
    # Those not queued yet are rm02's too (the overdue escalation's check).
    owners = await db.fetch("select user_id from task_reminders where task_id = $1", task)
    assert {r["user_id"] for r in owners} == {user("rm02")}
    assert set(await reminders_of(db, task)) >= {("before_due", 3), ("at_due", 0)}


async def test_the_task_leaves_the_former_rms_device_and_reaches_the_new_ones(client, db):
    tasks = await east_tasks(client, db)
    task = tasks["rm01"]
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    old, new = App(client, rm01, db), App(client, rm02, db)
    await old.sync()
    await new.sync()
    assert str(task) in old.rows("task")
    assert str(task) not in new.rows("task")
    head = await headers_of(client, "bh.east")

    assert (await reassign(client, head, task, "rm02")).status_code == 200

    assert ops(await old.sync(), "task") == [("task", "delete", str(task))]
    arrived = await new.sync()
    assert ops(arrived, "task") == [("task", "upsert", str(task))]
    assert new.rows("task")[str(task)] == await api_get(client, rm02, f"{TASKS}/{task}")
    # And its notification with it.
    [told] = new.rows("notification").values()
    assert told["category"] == "task.assigned"
    assert told["title"] == "支行长转交给您一项任务"


async def test_a_task_handed_on_again_leaves_no_unread_assignment_behind(client, db):
    # rm01 -> rm03 -> rm04: rm03 kept an unread 支行长转交给您一项任务 about a task they could no
    # longer open.
    tasks = await east_tasks(client, db)
    task = tasks["rm01"]
    head = await headers_of(client, "bh.east")
    assert (await reassign(client, head, task, "rm03")).status_code == 200
    assert (await reassign(client, head, task, "rm04")).status_code == 200

    rm03 = await headers_of(client, "rm03")
    mine = (await client.get("/api/v1/notifications", params={"unread": "true"},
                             headers=rm03)).json()["items"]  # fmt: skip
    assert [n for n in mine if n["category"] == "task.assigned"] == []
    rm04 = await headers_of(client, "rm04")
    theirs = (await client.get("/api/v1/notifications", headers=rm04)).json()["items"]
    [told] = [n for n in theirs if n["category"] == "task.assigned"]
    assert told["read_at"] is None

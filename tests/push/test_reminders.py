"""Task reminders and overdue escalation through the push outbox.

Covers the worker job that moves task reminders into the outbox two minutes before they are
due (before-due ones from the template's offsets, normal priority; the at-due one, critical),
exactly once even when several workers run it at once; what a reminder push says (the task
title and the local due time, never the customer's name or ID number); the escalation of a task
still open past its due time plus the grace period to the branch head of the nearest unit above
the RM that has one; the delivery of a queued reminder when its time comes, and its withdrawal
when the task is finished first; moving a task's due time (PATCH /tasks/{id}), which moves its
reminders and withdraws those queued for the old time; and the reminders of the next period of
a recurring task.

Time is never waited for: reminders become due by moving their send time (or the task's due
time) in the database, as if the clock had moved on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from push import jobs
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push_data import register
from tests.tasks_data import TASKS, create_template, issue, issue_tasks, unit, user

pytestmark = pytest.mark.usefixtures("demo_bank")

TITLE = "季度资产回访"
OFFSETS = [{"minutes_before_due": 1440}, {"minutes_before_due": 60}]
ALL_KINDS = {("before_due", 1440), ("before_due", 60), ("at_due", 0)}


# ---- helpers ---------------------------------------------------------------------------------


async def run_job(pool: Any, settings: Any) -> int:
    """One run of the worker's reminder job."""
    return await jobs.queue_reminders({"pool": pool, "settings": settings})


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select date_trunc('second', now())")
    return now


async def issue_east(client: Any, db: Any, *, title: str = TITLE, **target: Any) -> dict:
    """Admin dispatches a template with reminders 1 day and 1 hour before a due time three
    days away, to team-east-1 unless told; {login: task id}."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, reminders=OFFSETS)
    due = await db_now(db) + timedelta(days=3)
    target = target or {"org_unit": "team-east-1"}
    return await issue(client, db, admin, template["id"], title=title, due_at=due, **target)


async def reminders_of(db: Any, task_id: uuid.UUID) -> dict[tuple[str, int], tuple[Any, str]]:
    """{(kind, offset): (send_at, status)} of a task's reminder rows."""
    rows = await db.fetch(
        "select kind, offset_minutes, send_at, status from task_reminders where task_id = $1",
        task_id,
    )
    return {(r["kind"], r["offset_minutes"]): (r["send_at"], r["status"]) for r in rows}


async def bring_forward(db: Any, task_id: uuid.UUID, kind: str, offset: int, seconds: int) -> Any:
    """The clock moved on: this reminder is now `seconds` away (negative: overdue)."""
    send_at = await db.fetchval(
        "update task_reminders set send_at = date_trunc('second', now())"
        " + make_interval(secs => $4) where task_id = $1 and kind = $2 and offset_minutes = $3"
        " returning send_at",
        task_id,
        kind,
        offset,
        seconds,
    )
    assert send_at is not None
    return send_at


async def due_in(db: Any, task_id: uuid.UUID, seconds: int) -> datetime:
    """The clock moved on: the task is due in `seconds` (negative: that long ago), and every
    reminder of it sits at its offset from that due time."""
    due: datetime = await db.fetchval(
        "update tasks set due_at = date_trunc('second', now()) + make_interval(secs => $2)"
        " where id = $1 returning due_at",
        task_id,
        seconds,
    )
    await db.execute(
        "update task_reminders r set send_at = t.due_at - make_interval(mins => r.offset_minutes)"
        " from tasks t where t.id = r.task_id and r.task_id = $1 and r.kind <> 'overdue'",
        task_id,
    )
    return due


async def outbox(db: Any, category: str, *, subject: uuid.UUID | None = None) -> list[dict]:
    """The outbox rows of a category (optionally about one task), oldest first."""
    rows = await db.fetch(
        "select id, user_id, category, title, body, data, priority, collapse_key, send_at,"
        " subject_id, push_status, expires_at from notifications"
        " where category = $1 and ($2::uuid is null or subject_id = $2) order by send_at, id",
        category,
        subject,
    )
    found = []
    for r in rows:
        row = dict(r)
        row["data"] = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
        found.append(row)
    return found


async def outbox_time_passes(db: Any, seconds: int) -> None:
    """The clock moved on by `seconds` for everything already in the outbox."""
    await db.execute(
        "update notifications set send_at = send_at - make_interval(secs => $1),"
        " created_at = created_at - make_interval(secs => $1)",
        seconds,
    )


def by_kind(rows: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for row in rows:
        kinds.setdefault(row["data"]["kind"], []).append(row)
    return kinds


async def finish(client: Any, headers: dict[str, str], task_id: uuid.UUID, how: str) -> None:
    """The RM finishes the task through the API: submitted (done) or cancelled."""
    if how == "submit":
        started = await client.post(f"{TASKS}/{task_id}/start", headers=headers)
        assert started.status_code == 200, started.text
        done = await client.post(
            f"{TASKS}/{task_id}/submit", json={"values": {"notes": "已回访"}}, headers=headers
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "done"
    else:
        cancelled = await client.post(
            f"{TASKS}/{task_id}/cancel", json={"reason": "客户已销户"}, headers=headers
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"


async def reschedule(client: Any, headers: dict[str, str], task_id: Any, due: datetime) -> Any:
    return await client.patch(
        f"{TASKS}/{task_id}", json={"due_at": due.isoformat()}, headers=headers
    )


def local(due: datetime, tz: str) -> str:
    """The due time as reminders show it: month-day hour:minute in the bank's time zone."""
    return due.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


# ---- into the outbox -------------------------------------------------------------------------


async def test_nothing_is_queued_while_every_reminder_is_more_than_two_minutes_away(
    client, db, pool, settings
):
    tasks = await issue_east(client, db)
    assert await run_job(pool, settings) == 0
    # Two and a half minutes away is still too early.
    await bring_forward(db, tasks["rm01"], "before_due", 1440, 150)
    await bring_forward(db, tasks["rm02"], "at_due", 0, 150)
    assert await run_job(pool, settings) == 0

    assert await outbox(db, "task.reminder") == []
    for task_id in tasks.values():
        reminders = await reminders_of(db, task_id)
        assert set(reminders) == ALL_KINDS
        assert {status for _, status in reminders.values()} == {"pending"}


async def test_a_before_due_reminder_within_two_minutes_is_queued_for_its_own_time_once(
    client, db, pool, settings
):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    send_at = await bring_forward(db, task_id, "before_due", 1440, 90)

    assert await run_job(pool, settings) == 1
    [reminder] = await outbox(db, "task.reminder")
    assert reminder["user_id"] == user("rm01")
    assert reminder["send_at"] == send_at
    assert reminder["subject_id"] == task_id
    assert reminder["collapse_key"] == f"task:{task_id}"
    assert reminder["priority"] == "normal"
    assert reminder["push_status"] == "pending"
    assert reminder["data"]["task_id"] == str(task_id)
    assert reminder["data"]["kind"] == "before_due"
    rows = await reminders_of(db, task_id)
    assert rows[("before_due", 1440)] == (send_at, "queued")
    assert rows[("before_due", 60)][1] == rows[("at_due", 0)][1] == "pending"
    # rm02's reminders were not due.
    assert {s for _, s in (await reminders_of(db, tasks["rm02"])).values()} == {"pending"}

    # Scheduled for later: not in the RM's notification centre yet.
    rm01 = await headers_of(client, "rm01")
    listed = await client.get("/api/v1/notifications", headers=rm01)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []

    # Exactly once.
    assert await run_job(pool, settings) == 0
    assert len(await outbox(db, "task.reminder")) == 1


async def test_the_at_due_reminder_is_critical(client, db, pool, settings):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    due = await due_in(db, task_id, 60)

    assert await run_job(pool, settings) == 3
    kinds = by_kind(await outbox(db, "task.reminder", subject=task_id))
    [at_due] = kinds["at_due"]
    assert at_due["priority"] == "critical"
    assert at_due["send_at"] == due
    assert at_due["collapse_key"] == f"task:{task_id}"
    assert at_due["user_id"] == user("rm01")
    assert [r["priority"] for r in kinds["before_due"]] == ["normal", "normal"]
    rows = await reminders_of(db, task_id)
    assert {rows[kind] for kind in ALL_KINDS} == {
        (due - timedelta(minutes=m), "queued") for m in (1440, 60, 0)
    }
    assert await run_job(pool, settings) == 0
    assert len(await outbox(db, "task.reminder")) == 3


async def test_two_workers_running_the_job_at_once_queue_each_reminder_once(
    client, db, pool, settings
):
    tasks = await issue_east(client, db, org_unit="branch-east")
    assert sorted(tasks) == ["rm01", "rm02", "rm03", "rm04"]
    for task_id in tasks.values():
        await due_in(db, task_id, 60)

    counts = await asyncio.gather(run_job(pool, settings), run_job(pool, settings))
    assert sum(counts) == 4 * 3
    queued = await outbox(db, "task.reminder")
    keys = [(r["subject_id"], r["data"]["kind"], r["send_at"]) for r in queued]
    assert len(keys) == len(set(keys)) == 12
    assert {r["subject_id"] for r in queued} == set(tasks.values())
    assert await asyncio.gather(run_job(pool, settings), run_job(pool, settings)) == [0, 0]
    assert len(await outbox(db, "task.reminder")) == 12


async def test_the_reminder_shows_the_task_title_and_local_due_time_but_no_customer_data(
    client, db, pool, settings, fake, deliverer
):
    admin = await headers_of(client, "admin")
    people = [
        customer_row("C1", name="欧阳娜娜", owner="rm01", seq=11, mobile="13912345678"),
        customer_row("C2", name="司马相如", owner="rm01", seq=12, mobile="13987654321"),
    ]
    assert (await feed(client, admin, "customers", people))["rejected"] == []
    template = await create_template(client, admin, reminders=OFFSETS)
    tasks = await issue_tasks(
        client, db, admin, template["id"], title=TITLE,
        customer_ids=list((await customer_ids(db)).values()),
        due_at=await db_now(db) + timedelta(days=3),
    )  # fmt: skip
    assert len(tasks) == 2
    token = "c" * 64
    await register(client, "rm01", platform="ios", provider="apns", token=token)
    dues = {task_id: await due_in(db, task_id, -30) for _, task_id, _ in tasks}

    assert await run_job(pool, settings) == 6
    queued = await outbox(db, "task.reminder")
    assert len(queued) == 6
    for row in queued:
        assert TITLE in row["body"]
        assert local(dues[row["subject_id"]], settings.bank_timezone) in row["body"]
    assert await deliverer.run_round() == 6
    assert len(fake.sent) == 2  # one per task: the older reminders of a task collapse
    for sent in fake.sent:
        alert = sent.body["aps"]["alert"]
        assert alert["title"] == "任务到期"
        assert TITLE in alert["body"]
        assert any(local(d, settings.bank_timezone) in alert["body"] for d in dues.values())

    texts = [json.dumps(s.body, ensure_ascii=False) for s in fake.sent]
    texts += [json.dumps([r["title"], r["body"], r["data"]], ensure_ascii=False) for r in queued]
    for text in texts:
        for person in people:
            assert person["name"] not in text
            assert person["id_number"] not in text
            assert person["phone"] not in text
        for _, _, customer_id in tasks:
            assert str(customer_id) not in text


# ---- escalation ------------------------------------------------------------------------------


async def make_overdue(db: Any, task_id: uuid.UUID, settings: Any) -> datetime:
    """The task is past its due time and the escalation grace (by a minute)."""
    return await due_in(db, task_id, -60 * (settings.push_escalation_grace_minutes + 1))


async def test_an_open_task_past_due_and_grace_is_escalated_to_the_branch_head_once(
    client, db, pool, settings
):
    grace = settings.push_escalation_grace_minutes
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    due = await make_overdue(db, task_id, settings)

    # The at-due reminder is queued, and with it the escalation is scheduled.
    assert await run_job(pool, settings) == 3
    overdue = (await reminders_of(db, task_id))[("overdue", grace)]
    assert overdue == (due + timedelta(minutes=grace), "pending")
    assert await outbox(db, "task.escalation") == []

    assert await run_job(pool, settings) == 1
    [escalation] = await outbox(db, "task.escalation")
    assert escalation["user_id"] == user("bh.east")
    assert escalation["subject_id"] == task_id
    assert escalation["send_at"] == overdue[0]
    assert "张伟" in escalation["body"]  # the RM, by name
    assert TITLE in escalation["body"]
    assert escalation["data"]["assignee_id"] == str(user("rm01"))
    assert (await reminders_of(db, task_id))[("overdue", grace)][1] == "queued"

    # Exactly once, also with two workers at it; rm02's task is not overdue.
    assert await asyncio.gather(run_job(pool, settings), run_job(pool, settings)) == [0, 0]
    assert await run_job(pool, settings) == 0
    assert [(e["user_id"], e["subject_id"]) for e in await outbox(db, "task.escalation")] == [
        (user("bh.east"), task_id)
    ]


async def test_two_workers_at_once_escalate_an_overdue_task_once(client, db, pool, settings):
    tasks = await issue_east(client, db, org_unit="branch-east")
    for task_id in tasks.values():
        await make_overdue(db, task_id, settings)
    assert await run_job(pool, settings) == 4 * 3

    counts = await asyncio.gather(*(run_job(pool, settings) for _ in range(3)))
    assert sum(counts) == 4
    escalations = await outbox(db, "task.escalation")
    assert sorted(e["subject_id"] for e in escalations) == sorted(tasks.values())
    assert {e["user_id"] for e in escalations} == {user("bh.east")}


async def test_the_rm_never_gets_the_escalation_of_their_own_task(client, db, pool, settings):
    tasks = await issue_east(client, db, org_unit="branch-west")
    for task_id in tasks.values():
        await make_overdue(db, task_id, settings)
    await run_job(pool, settings)
    await run_job(pool, settings)

    escalations = await outbox(db, "task.escalation")
    assert len(escalations) == 4
    assert {e["user_id"] for e in escalations} == {user("bh.west")}
    rms = [user(login) for login in tasks]
    assert not [e for e in escalations if e["user_id"] in rms]
    assert not await db.fetchval(
        "select count(*) from notifications where category = 'task.escalation'"
        " and user_id = any($1)",
        rms,
    )


async def test_a_team_with_its_own_head_escalates_to_that_head_not_the_branch_head(
    client, db, pool, settings
):
    admin = await headers_of(client, "admin")
    created = await client.post(
        "/api/v1/admin/users",
        json={"login": "head.team-east-1", "name": "周组长", "role": "branch_head",
              "org_unit_id": str(unit("team-east-1")), "password": "team-head-pass-1"},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    team_head = uuid.UUID(created.json()["id"])
    tasks = await issue_east(client, db, org_unit="branch-east")
    for login in ("rm01", "rm03"):
        await make_overdue(db, tasks[login], settings)
    await run_job(pool, settings)
    await run_job(pool, settings)

    escalations = {e["subject_id"]: e["user_id"] for e in await outbox(db, "task.escalation")}
    assert escalations == {tasks["rm01"]: team_head, tasks["rm03"]: user("bh.east")}


async def test_a_task_done_before_the_grace_ran_out_is_not_escalated(client, db, pool, settings):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await due_in(db, task_id, -60)  # a minute overdue
    assert await run_job(pool, settings) == 3  # the at-due reminder schedules the escalation
    await finish(client, await headers_of(client, "rm01"), task_id, "submit")

    # The grace runs out.
    await bring_forward(db, task_id, "overdue", settings.push_escalation_grace_minutes, -5)
    assert await run_job(pool, settings) == 0
    assert await outbox(db, "task.escalation") == []
    reminders = await reminders_of(db, task_id)
    assert reminders[("overdue", settings.push_escalation_grace_minutes)][1] == "cancelled"


async def test_an_escalation_queued_but_not_yet_sent_is_withdrawn_when_the_task_is_done(
    client, db, pool, settings, fake, deliverer
):
    token = "e" * 64
    await register(client, "bh.east", platform="ios", provider="apns", token=token)
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await make_overdue(db, task_id, settings)
    await run_job(pool, settings)
    # The escalation is queued (its time has come) but no worker has sent it yet.
    await bring_forward(db, task_id, "overdue", settings.push_escalation_grace_minutes, -1)
    assert await run_job(pool, settings) == 1
    [escalation] = await outbox(db, "task.escalation")
    assert escalation["push_status"] == "pending"

    await finish(client, await headers_of(client, "rm01"), task_id, "submit")
    [escalation] = await outbox(db, "task.escalation")
    assert escalation["push_status"] == "withdrawn"
    await outbox_time_passes(db, 3600)
    await deliverer.run_round()
    assert [s for s in fake.sent if s.token == token] == []


async def test_a_due_escalation_reaches_the_branch_heads_phone(
    client, db, pool, settings, fake, deliverer
):
    token = "f" * 64
    await register(client, "bh.east", platform="ios", provider="apns", token=token)
    tasks = await issue_east(client, db)
    await make_overdue(db, tasks["rm02"], settings)
    await run_job(pool, settings)
    await run_job(pool, settings)

    await deliverer.run_round()
    [pushed] = [s for s in fake.sent if s.token == token]
    assert pushed.body["category"] == "task.escalation"
    assert pushed.body["aps"]["alert"]["title"] == "任务逾期未完成"
    assert "王芳" in pushed.body["aps"]["alert"]["body"]
    assert pushed.body["task_id"] == str(tasks["rm02"])


async def test_a_short_grace_still_escalates_once_the_task_is_overdue(client, db, pool, settings):
    short = replace(settings, push_escalation_grace_minutes=1)
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await due_in(db, task_id, 100)
    assert await run_job(pool, short) == 3  # at-due queued: the overdue one is due at +160 s
    # 45 seconds later: due in 55 s, the escalation in 115 s (inside the look-ahead).
    await db.execute(
        "update tasks set due_at = due_at - interval '45 seconds' where id = $1", task_id
    )
    await db.execute(
        "update task_reminders set send_at = send_at - interval '45 seconds' where task_id = $1",
        task_id,
    )
    await run_job(pool, short)
    # Ten minutes later the task is still open and well past its due time and grace.
    await db.execute(
        "update tasks set due_at = due_at - interval '10 minutes' where id = $1", task_id
    )
    await db.execute(
        "update task_reminders set send_at = send_at - interval '10 minutes' where task_id = $1",
        task_id,
    )
    await run_job(pool, short)
    assert [e["user_id"] for e in await outbox(db, "task.escalation")] == [user("bh.east")]


# ---- delivered -------------------------------------------------------------------------------


async def test_a_queued_reminder_is_pushed_once_its_time_has_come(
    client, db, pool, settings, fake, deliverer
):
    token = "a" * 64
    device_id = await register(client, "rm01", platform="ios", provider="apns", token=token)
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await bring_forward(db, task_id, "before_due", 1440, 60)
    assert await run_job(pool, settings) == 1

    assert await deliverer.run_round() == 0  # a minute early: not yet
    assert fake.sent == []

    # The minute passes.
    await outbox_time_passes(db, 61)
    assert await deliverer.run_round() == 1
    [pushed] = fake.sent
    assert (pushed.provider, pushed.token) == ("apns", token)
    assert pushed.body["category"] == "task.reminder"
    assert pushed.body["aps"]["alert"]["title"] == "任务即将到期"
    assert pushed.body["task_id"] == str(task_id)
    assert pushed.headers["apns-collapse-id"] == f"task:{task_id}"
    [reminder] = await outbox(db, "task.reminder")
    assert reminder["push_status"] == "sent"
    attempts = await db.fetch("select device_id, outcome from push_attempts")
    assert [(a["device_id"], a["outcome"]) for a in attempts] == [(device_id, "sent")]

    assert await deliverer.run_round() == 0
    assert len(fake.sent) == 1
    # Now listed in the RM's notification centre.
    rm01 = await headers_of(client, "rm01")
    listed = (await client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    assert [n["category"] for n in listed] == ["task.reminder"]


@pytest.mark.parametrize("how", ["submit", "cancel"])
async def test_a_reminder_of_a_task_finished_before_it_was_queued_is_never_sent(
    client, db, pool, settings, fake, deliverer, how
):
    await register(client, "rm01", platform="ios", provider="apns", token="b" * 64)
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await finish(client, await headers_of(client, "rm01"), task_id, how)

    await due_in(db, task_id, -10)
    assert await run_job(pool, settings) == 0
    assert await outbox(db, "task.reminder") == []
    assert {s for _, s in (await reminders_of(db, task_id)).values()} == {"cancelled"}
    await deliverer.run_round()
    assert fake.sent == []


@pytest.mark.parametrize("how", ["submit", "cancel"])
async def test_a_queued_reminder_of_a_task_finished_before_it_was_sent_is_withdrawn(
    client, db, pool, settings, fake, deliverer, how
):
    await register(client, "rm01", platform="ios", provider="apns", token="b" * 64)
    await register(client, "rm02", platform="android", provider="fcm", token="fcm-rm02")
    tasks = await issue_east(client, db)
    for task_id in tasks.values():
        await bring_forward(db, task_id, "before_due", 1440, 60)
    assert await run_job(pool, settings) == 2

    await finish(client, await headers_of(client, "rm01"), tasks["rm01"], how)
    [withdrawn] = await outbox(db, "task.reminder", subject=tasks["rm01"])
    assert withdrawn["push_status"] == "withdrawn"
    [kept] = await outbox(db, "task.reminder", subject=tasks["rm02"])
    assert kept["push_status"] == "pending"

    await outbox_time_passes(db, 61)
    assert await deliverer.run_round() == 1
    assert [(s.provider, s.token) for s in fake.sent] == [("fcm", "fcm-rm02")]
    rm01 = await headers_of(client, "rm01")
    assert (await client.get("/api/v1/notifications", headers=rm01)).json()["items"] == []


# ---- moving the due time ---------------------------------------------------------------------


async def test_the_assignee_moves_the_due_time_and_the_pending_reminders_move_with_it(
    client, db, pool, settings
):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    new_due = (await db_now(db) + timedelta(days=5)).replace(microsecond=0)

    response = await reschedule(client, await headers_of(client, "rm01"), task_id, new_due)
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["due_at"]) == new_due
    assert await db.fetchval("select due_at from tasks where id = $1", task_id) == new_due
    assert await reminders_of(db, task_id) == {
        ("before_due", 1440): (new_due - timedelta(days=1), "pending"),
        ("before_due", 60): (new_due - timedelta(hours=1), "pending"),
        ("at_due", 0): (new_due, "pending"),
    }
    assert await run_job(pool, settings) == 0
    # rm02's task keeps its time.
    assert await db.fetchval("select due_at from tasks where id = $1", tasks["rm02"]) != new_due


async def test_a_reminder_queued_for_the_old_time_is_withdrawn_and_armed_for_the_new_one(
    client, db, pool, settings, fake, deliverer
):
    await register(client, "rm01", platform="ios", provider="apns", token="d" * 64)
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await bring_forward(db, task_id, "before_due", 1440, 60)
    assert await run_job(pool, settings) == 1
    [old] = await outbox(db, "task.reminder")

    new_due = (await db_now(db) + timedelta(days=5)).replace(microsecond=0)
    response = await reschedule(client, await headers_of(client, "rm01"), task_id, new_due)
    assert response.status_code == 200, response.text
    [old] = await outbox(db, "task.reminder")
    assert old["push_status"] == "withdrawn"
    assert (await reminders_of(db, task_id))[("before_due", 1440)] == (
        new_due - timedelta(days=1),
        "pending",
    )
    await outbox_time_passes(db, 3600)
    await deliverer.run_round()
    assert fake.sent == []  # the old time's reminder is never pushed

    # A day before the new due time it is queued again, saying the new time.
    await bring_forward(db, task_id, "before_due", 1440, -1)
    assert await run_job(pool, settings) == 1
    fresh = [r for r in await outbox(db, "task.reminder") if r["push_status"] == "pending"]
    assert len(fresh) == 1
    assert local(new_due, settings.bank_timezone) in fresh[0]["body"]
    assert datetime.fromisoformat(fresh[0]["data"]["due_at"]) == new_due
    assert await deliverer.run_round() == 1
    assert [s.body["nid"] for s in fake.sent] == [str(fresh[0]["id"])]


async def test_an_overdue_task_moved_to_a_later_time_is_escalated_only_after_the_new_time(
    client, db, pool, settings
):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    await make_overdue(db, task_id, settings)
    await run_job(pool, settings)
    grace = settings.push_escalation_grace_minutes
    await bring_forward(db, task_id, "overdue", grace, -1)  # escalation queued, not yet sent
    assert await run_job(pool, settings) == 1

    new_due = (await db_now(db) + timedelta(days=2)).replace(microsecond=0)
    response = await reschedule(client, await headers_of(client, "bh.east"), task_id, new_due)
    assert response.status_code == 200, response.text
    assert [e["push_status"] for e in await outbox(db, "task.escalation")] == ["withdrawn"]
    assert set(await reminders_of(db, task_id)) == ALL_KINDS
    assert await run_job(pool, settings) == 0

    # The new due time and grace pass with the task still open: escalated again, for it.
    moved_due = await due_in(db, task_id, -60 * (grace + 5))
    await run_job(pool, settings)
    await run_job(pool, settings)
    escalations = {e["push_status"]: e for e in await outbox(db, "task.escalation")}
    assert sorted(escalations) == ["pending", "withdrawn"]
    assert local(moved_due, settings.bank_timezone) in escalations["pending"]["body"]
    assert escalations["pending"]["user_id"] == user("bh.east")


async def test_a_due_time_in_the_past_is_refused_and_nothing_changes(client, db):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    before = await reminders_of(db, task_id)
    due_before = await db.fetchval("select due_at from tasks where id = $1", task_id)

    past = await db_now(db) - timedelta(minutes=5)
    response = await reschedule(client, await headers_of(client, "rm01"), task_id, past)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "task.due_in_past"
    assert await db.fetchval("select due_at from tasks where id = $1", task_id) == due_before
    assert await reminders_of(db, task_id) == before


async def test_a_due_time_without_a_time_zone_is_refused_not_a_server_error(client, db):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    naive = (datetime.now(UTC) + timedelta(days=4)).replace(tzinfo=None, microsecond=0)
    response = await client.patch(
        f"{TASKS}/{task_id}",
        json={"due_at": naive.isoformat()},
        headers=await headers_of(client, "rm01"),
    )
    assert response.status_code in (200, 400, 422), response.text


async def test_another_rms_task_cannot_be_moved(client, db):
    tasks = await issue_east(client, db)
    before = await reminders_of(db, tasks["rm01"])
    new_due = await db_now(db) + timedelta(days=5)

    response = await reschedule(client, await headers_of(client, "rm02"), tasks["rm01"], new_due)
    assert response.status_code == 404, response.text
    assert await reminders_of(db, tasks["rm01"]) == before


async def test_a_done_task_cannot_be_moved(client, db):
    tasks = await issue_east(client, db)
    rm01 = await headers_of(client, "rm01")
    await finish(client, rm01, tasks["rm01"], "submit")
    before = await reminders_of(db, tasks["rm01"])

    new_due = await db_now(db) + timedelta(days=5)
    response = await reschedule(client, rm01, tasks["rm01"], new_due)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "task.illegal_transition"
    assert response.json()["current_status"] == "done"
    assert await reminders_of(db, tasks["rm01"]) == before


async def test_the_branch_head_of_the_subtree_may_move_it_another_branchs_head_may_not(client, db):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    later = (await db_now(db) + timedelta(days=6)).replace(microsecond=0)

    refused = await reschedule(client, await headers_of(client, "bh.west"), task_id, later)
    assert refused.status_code == 404, refused.text
    assert await db.fetchval("select due_at from tasks where id = $1", task_id) != later

    moved = await reschedule(client, await headers_of(client, "bh.east"), task_id, later)
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["due_at"]) == later
    assert (await reminders_of(db, task_id))[("at_due", 0)] == (later, "pending")


async def test_a_task_moved_away_and_back_gets_its_reminder_for_the_original_time(
    client, db, pool, settings
):
    tasks = await issue_east(client, db)
    task_id = tasks["rm01"]
    rm01 = await headers_of(client, "rm01")
    original = await db.fetchval("select due_at from tasks where id = $1", task_id)
    await bring_forward(db, task_id, "before_due", 1440, 60)
    assert await run_job(pool, settings) == 1

    later = original + timedelta(days=1)
    assert (await reschedule(client, rm01, task_id, later)).status_code == 200
    assert (await reschedule(client, rm01, task_id, original)).status_code == 200
    await bring_forward(db, task_id, "before_due", 1440, 60)
    assert await run_job(pool, settings) == 1
    pending = [r for r in await outbox(db, "task.reminder") if r["push_status"] == "pending"]
    assert len(pending) == 1


# ---- recurring -------------------------------------------------------------------------------


async def test_the_next_period_of_a_recurring_task_gets_and_sends_its_own_reminders(
    client, db, pool, settings
):
    admin = await headers_of(client, "admin")
    template = await create_template(
        client, admin, reminders=OFFSETS, recurrence="FREQ=WEEKLY;BYDAY=MO"
    )
    first = (await issue(client, db, admin, template["id"], title=TITLE,
                         org_unit="team-east-1"))["rm01"]  # fmt: skip
    await finish(client, await headers_of(client, "rm01"), first, "submit")

    following = await db.fetchrow(
        "select id, due_at from tasks where assignee_id = $1 and id <> $2",
        user("rm01"),
        first,
    )
    assert following is not None
    due = following["due_at"]
    assert await reminders_of(db, following["id"]) == {
        ("before_due", 1440): (due - timedelta(days=1), "pending"),
        ("before_due", 60): (due - timedelta(hours=1), "pending"),
        ("at_due", 0): (due, "pending"),
    }
    assert {s for _, s in (await reminders_of(db, first)).values()} == {"cancelled"}

    # When its period comes to an end, its reminders go out, about the new task only. (The
    # team's other RM has this week's task of the series too: when the test runs within a day of
    # its due time, late on a Saturday in UTC, its own reminder is due as well; held off here.)
    await db.execute(
        "update task_reminders set send_at = now() + interval '30 days'"
        " where task_id <> $1 and status = 'pending'",
        following["id"],
    )
    await due_in(db, following["id"], 60)
    assert await run_job(pool, settings) == 3
    queued = await outbox(db, "task.reminder")
    assert {r["subject_id"] for r in queued} == {following["id"]}
    assert {r["collapse_key"] for r in queued} == {f"task:{following['id']}"}
    assert {r["user_id"] for r in queued} == {user("rm01")}

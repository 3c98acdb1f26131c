"""Offline work keeps the time the RM did it (`occurred_at`, by the device's clock), not the time
the push reached the server: a note's time on the timeline, a task's started/submitted/done/
cancelled times (and the numbers read from them). A device time that is implausible (in the
future, older than WORKBENCH_SYNC_OFFLINE_MAX_DAYS, before the task's previous step) gives way
to the server's time; the mutation still applies. A mutation without `occurred_at` is unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.sync import test_push
from tests.sync.sync_data import PUSH, api_get
from tests.sync.test_push import note, notes_of, statuses
from tests.tasks_data import create_template, field, issue_tasks, user

pytestmark = pytest.mark.usefixtures("demo_bank")
bank = test_push.bank  # the fixture: rm01 and rm02 with a task each, rm01's customer

# (id, name, args, occurred_at or None)
Timed = tuple[int, str, dict[str, Any], datetime | None]
BEIJING = timezone(timedelta(hours=8))  # a device's own offset: the same instant


async def push(client: Any, headers: dict[str, str], *mutations: Timed) -> dict[str, Any]:
    items = []
    for i, name, args, occurred_at in mutations:
        item: dict[str, Any] = {"id": i, "name": name, "args": args}
        if occurred_at is not None:
            item["occurred_at"] = occurred_at.astimezone(BEIJING).isoformat()
        items.append(item)
    response = await client.post(
        PUSH, json={"client_id": "phone", "mutations": items}, headers=headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def time_of(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


def about_now(value: str | None) -> bool:
    """The server's time of the push (not a timing assertion: a minute's leeway either way)."""
    return abs(time_of(value) - datetime.now(UTC)) < timedelta(minutes=1)


async def created_ago(db: Any, task_id: uuid.UUID, ago: timedelta) -> datetime:
    created = now() - ago
    await db.execute("update tasks set created_at = $2 where id = $1", task_id, created)
    return created


async def task_of(client: Any, headers: dict[str, str], task_id: uuid.UUID | str) -> Any:
    return await api_get(client, headers, f"/api/v1/tasks/{task_id}")


VALUES = {"amount": 42, "outcome": "yes"}


# ---- the RM's time is kept --------------------------------------------------------------------


async def test_a_time_written_in_lower_case_is_believed_as_everywhere_in_the_api(client, bank):
    """RFC 3339 allows `t` and `z` in lower case, and every other time in the API takes them."""
    written = now() - timedelta(hours=2)
    text = written.strftime("%Y-%m-%dt%H:%M:%Sz")
    body = {
        "client_id": "phone",
        "mutations": [
            {"id": 1, "name": "note.add", "args": note(bank.customer, "小写时间"),
             "occurred_at": text},
        ],
    }  # fmt: skip
    response = await client.post(PUSH, json=body, headers=bank.rm01)
    assert statuses(response.json()) == [(1, "applied", None)]
    [shown] = await notes_of(client, bank.rm01, bank.customer)
    assert time_of(shown["occurred_at"]) == written


async def test_a_note_written_offline_keeps_the_time_it_was_written(client, bank):
    written = now() - timedelta(hours=3)
    answer = await push(
        client, bank.rm01, (1, "note.add", note(bank.customer, "上午十点拜访"), written)
    )
    assert statuses(answer) == [(1, "applied", None)]
    [shown] = await notes_of(client, bank.rm01, bank.customer)
    assert time_of(shown["occurred_at"]) == written
    assert time_of(answer["results"][0]["result"]["occurred_at"]) == written


async def test_a_task_done_offline_keeps_its_times_and_the_numbers_see_them(client, db, bank):
    task = bank.tasks["rm01"]
    created = await created_ago(db, task, timedelta(hours=5))
    started, submitted = now() - timedelta(hours=3), now() - timedelta(hours=2)
    answer = await push(
        client, bank.rm01,
        (1, "task.start", {"task_id": str(task)}, started),
        (2, "task.submit", {"task_id": str(task), "values": VALUES}, submitted),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None), (2, "applied", None)]
    shown = await task_of(client, bank.rm01, task)
    assert shown["status"] == "done"
    assert time_of(shown["started_at"]) == started
    assert time_of(shown["submitted_at"]) == submitted
    assert time_of(shown["done_at"]) == submitted
    assert time_of(answer["results"][0]["result"]["started_at"]) == started
    assert answer["results"][1]["result"] == shown  # the answer shows the stored times

    # Team progress (and the dashboard's median, the same query) measures from creation to done.
    bh = await headers_of(client, "bh.east")
    params = {
        "from": (created - timedelta(days=1)).isoformat(),
        "to": (now() + timedelta(days=1)).isoformat(),
    }
    progress = await client.get("/api/v1/team/progress", params=params, headers=bh)
    assert progress.status_code == 200, progress.text
    [row] = [r for r in progress.json()["rows"] if r["rm_id"] == str(user("rm01"))]
    assert row["median_hours_to_done"] == 3.0  # submitted - created, not the push's time


async def test_a_customers_task_done_offline_is_on_the_timeline_at_that_time(client, db, bank):
    template = await create_template(
        client, bank.admin, field("amount", "number", required=True, min=1, max=100)
    )
    [(_, task, _)] = await issue_tasks(
        client, db, bank.admin, template["id"], customer_ids=[bank.customer]
    )
    await created_ago(db, task, timedelta(hours=5))
    started, submitted = now() - timedelta(hours=4), now() - timedelta(hours=3)
    answer = await push(
        client, bank.rm01,
        (1, "task.start", {"task_id": str(task)}, started),
        (2, "task.submit", {"task_id": str(task), "values": {"amount": 7}}, submitted),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None), (2, "applied", None)]
    page = await api_get(client, bank.rm01, f"/api/v1/customers/{bank.customer}/timeline")
    [done] = [e for e in page["items"] if e["kind"] == "task.done"]
    assert time_of(done["occurred_at"]) == submitted
    assert time_of((await task_of(client, bank.rm01, task))["done_at"]) == submitted


async def test_a_task_cancelled_offline_keeps_the_time_it_was_cancelled(client, db, bank):
    task = bank.tasks["rm01"]
    await created_ago(db, task, timedelta(days=2))
    cancelled = now() - timedelta(days=1)
    answer = await push(
        client, bank.rm01,
        (1, "task.cancel", {"task_id": str(task), "reason": "客户出国"}, cancelled),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None)]
    shown = await task_of(client, bank.rm01, task)
    assert (shown["status"], time_of(shown["cancelled_at"])) == ("cancelled", cancelled)


# ---- implausible times give way to the server's --------------------------------------------


async def test_a_clock_far_behind_or_ahead_gives_way_to_the_servers_time(client, db, bank):
    task = bank.tasks["rm01"]
    await created_ago(db, task, timedelta(days=400))
    year_behind = now() - timedelta(days=365)
    day_ahead = now() + timedelta(days=1)
    written = now() - timedelta(hours=3)
    answer = await push(
        client, bank.rm01,
        (1, "note.add", note(bank.customer, "一年前的时钟"), year_behind),
        (2, "note.add", note(bank.customer, "快一天的时钟"), day_ahead),
        (3, "note.add", note(bank.customer, "准确的时钟"), written),
        (4, "task.start", {"task_id": str(task)}, year_behind),
        (5, "task.submit", {"task_id": str(task), "values": VALUES}, day_ahead),
    )  # fmt: skip
    # The RM's work is applied all the same: only its time is the server's.
    assert statuses(answer) == [(i, "applied", None) for i in range(1, 6)]
    times = {n["text"]: n["occurred_at"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert about_now(times["一年前的时钟"])
    assert about_now(times["快一天的时钟"])
    assert time_of(times["准确的时钟"]) == written
    shown = await task_of(client, bank.rm01, task)
    assert shown["status"] == "done"
    assert about_now(shown["started_at"])
    assert about_now(shown["submitted_at"])
    assert about_now(shown["done_at"])


async def test_only_the_last_offline_max_days_are_believed(client, bank):
    kept, too_old = now() - timedelta(days=6), now() - timedelta(days=8)  # default: 7 days
    answer = await push(
        client, bank.rm01,
        (1, "note.add", note(bank.customer, "六天前"), kept),
        (2, "note.add", note(bank.customer, "八天前"), too_old),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None), (2, "applied", None)]
    times = {n["text"]: n["occurred_at"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert time_of(times["六天前"]) == kept
    assert about_now(times["八天前"])


async def test_how_far_back_is_believed_is_a_setting(make_client, bank):
    client = await make_client(sync_offline_max_days=2)
    rm01 = await headers_of(client, "rm01")
    three_days = now() - timedelta(days=3)
    answer = await push(client, rm01, (1, "note.add", note(bank.customer, "三天前"), three_days))
    assert statuses(answer) == [(1, "applied", None)]
    [shown] = await notes_of(client, rm01, bank.customer)
    assert about_now(shown["occurred_at"])


async def test_a_time_before_the_tasks_previous_step_gives_way_to_the_servers(client, db, bank):
    task = bank.tasks["rm01"]
    await created_ago(db, task, timedelta(hours=5))
    started = now() - timedelta(hours=2)
    answer = await push(
        client, bank.rm01,
        (1, "task.start", {"task_id": str(task)}, started),
        # Submitted "before" it was started: the device's clock jumped back.
        (2, "task.submit", {"task_id": str(task), "values": VALUES}, started - timedelta(hours=1)),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None), (2, "applied", None)]
    shown = await task_of(client, bank.rm01, task)
    assert time_of(shown["started_at"]) == started
    assert about_now(shown["submitted_at"])
    assert about_now(shown["done_at"])


async def test_a_task_started_before_it_was_created_starts_at_the_servers_time(client, db, bank):
    task = bank.tasks["rm01"]
    await created_ago(db, task, timedelta(hours=1))
    before_creation = now() - timedelta(hours=2)
    written = now() - timedelta(hours=3)
    answer = await push(
        client, bank.rm01,
        (1, "task.start", {"task_id": str(task)}, before_creation),
        (2, "note.add", note(bank.customer, "笔记不看任务"), written),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None), (2, "applied", None)]
    assert about_now((await task_of(client, bank.rm01, task))["started_at"])
    [shown] = await notes_of(client, bank.rm01, bank.customer)
    assert time_of(shown["occurred_at"]) == written


# ---- what stays as it was ---------------------------------------------------------------------


async def test_without_occurred_at_a_mutation_is_stamped_as_before(client, db, bank):
    task = bank.tasks["rm01"]
    await created_ago(db, task, timedelta(hours=5))
    written = now() - timedelta(hours=3)
    batch = (
        (1, "task.start", {"task_id": str(task)}, None),
        (2, "task.submit", {"task_id": str(task), "values": VALUES}, None),
        (3, "note.add", note(bank.customer, "没有时间"), None),
        (4, "note.add", note(bank.customer, "有时间"), written),
    )
    answer = await push(client, bank.rm01, *batch)
    assert statuses(answer) == [(i, "applied", None) for i in range(1, 5)]
    shown = await task_of(client, bank.rm01, task)
    assert about_now(shown["started_at"])
    assert about_now(shown["submitted_at"])
    assert about_now(shown["done_at"])
    times = {n["text"]: n["occurred_at"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert about_now(times["没有时间"])
    assert time_of(times["有时间"]) == written
    # A retry of the batch (its answer lost) applies nothing again and keeps the times.
    again = await push(client, bank.rm01, *batch)
    assert statuses(again) == [(i, "duplicate", None) for i in range(1, 5)]
    assert await task_of(client, bank.rm01, task) == shown


async def test_a_task_the_server_moved_on_stays_a_conflict_whatever_the_time(client, db, bank):
    task = str(bank.tasks["rm01"])
    await created_ago(db, bank.tasks["rm01"], timedelta(hours=5))
    started = await client.post(f"/api/v1/tasks/{task}/start", headers=bank.rm01)
    assert started.status_code == 200, started.text
    bh = await headers_of(client, "bh.east")
    cancelled = await client.post(f"/api/v1/tasks/{task}/cancel", json={}, headers=bh)
    assert cancelled.status_code == 200, cancelled.text
    # The RM submitted offline "before" the branch head cancelled: the server's decision stays.
    answer = await push(
        client, bank.rm01,
        (1, "task.submit", {"task_id": task, "values": VALUES}, now() - timedelta(minutes=30)),
    )  # fmt: skip
    assert statuses(answer) == [(1, "conflict", "task.illegal_transition")]
    shown = await task_of(client, bank.rm01, task)
    assert shown["status"] == "cancelled"
    assert (shown["submitted_at"], shown["done_at"]) == (None, None)
    assert answer["results"][0]["server"] == shown


async def test_the_online_api_keeps_the_servers_time(client, db, bank):
    task = str(bank.tasks["rm01"])
    await created_ago(db, bank.tasks["rm01"], timedelta(hours=5))
    started = await client.post(f"/api/v1/tasks/{task}/start", headers=bank.rm01)
    assert started.status_code == 200, started.text
    assert about_now(started.json()["started_at"])


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T10:00:00",
        "yesterday",
        1_700_000_000,
        "",
        None,
        [2026, 1, 1],
        "0001-01-01T00:00Z",
    ],
)
async def test_an_occurred_at_the_server_cannot_read_is_the_servers_time(client, bank, value):
    # It refused the whole batch (the app's queue stuck behind one badly written time).
    body = {
        "client_id": "phone",
        "mutations": [
            {"id": 1, "name": "note.add", "args": note(bank.customer, "时区不明"),
             "occurred_at": value},
            {"id": 2, "name": "note.add", "args": note(bank.customer, "下一条")},
        ],
    }  # fmt: skip
    response = await client.post(PUSH, json=body, headers=bank.rm01)
    assert response.status_code == 200, response.text
    assert statuses(response.json()) == [(1, "applied", None), (2, "applied", None)]
    shown = {n["text"]: n["occurred_at"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert about_now(shown["时区不明"])

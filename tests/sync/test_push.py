"""Push (POST /sync/push): offline mutations applied once each, in order, through the API's own
rules (task start, submit, reschedule and cancel, notes, reading notifications); retried batches
answer `duplicate`; a refused mutation does not block the ones after it; a task that moved on
while the RM was offline is a conflict carrying the server's row; each app install keeps its
own place; racing pushes of one batch apply it once."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import migrations
from sync import mutations
from tests.customers_data import customer_row, feed, headers_of
from tests.sync.sync_data import PUSH, api_get, api_items, tell
from tests.tasks_data import create_template, field, issue, user
from workbench.ids import uuid7
from workbench.tasks import dispatching

pytestmark = pytest.mark.usefixtures("demo_bank")

Mutation = tuple[int, str, dict[str, Any]]


@dataclass
class Bank:
    admin: dict[str, str]
    rm01: dict[str, str]
    customer: uuid.UUID  # rm01's
    other_customer: uuid.UUID  # rm02's
    tasks: dict[str, uuid.UUID]  # login -> task id
    notification: uuid.UUID  # rm01's


@pytest.fixture
async def bank(client: Any, db: Any) -> Bank:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [
        customer_row("C-1", name="王芳", owner="rm01", seq=1),
        customer_row("C-2", name="赵敏", owner="rm02", seq=2),
    ])  # fmt: skip
    ids = {
        r["external_id"]: r["id"] for r in await db.fetch("select external_id, id from customers")
    }
    template = await create_template(
        client, admin,
        field("amount", "number", required=True, min=1, max=100),
        field("outcome", "choice", options=["yes", "no"]),
        name="Fund review",
    )  # fmt: skip
    tasks = await issue(client, db, admin, template["id"], org_unit="team-east-1")
    notification = await tell(db, user("rm01"), 1)
    return Bank(admin, await headers_of(client, "rm01"), ids["C-1"], ids["C-2"], tasks,
                notification)  # fmt: skip


async def push(
    client: Any, headers: dict[str, str], client_id: str, *mutations: Mutation
) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "mutations": [{"id": i, "name": name, "args": args} for i, name, args in mutations],
    }
    response = await client.post(PUSH, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def statuses(answer: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(r["id"], r["status"], r.get("code")) for r in answer["results"]]


def note(customer: uuid.UUID, text: str, note_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {"customer_id": str(customer), "id": str(note_id or uuid7()), "text": text,
            "kind": "visit"}  # fmt: skip


async def notes_of(client: Any, headers: dict[str, str], customer: uuid.UUID) -> list[Any]:
    page = await api_get(client, headers, f"/api/v1/customers/{customer}/timeline")
    return [e for e in page["items"] if e["kind"].startswith("note.")]


async def last_id(db: Any, login: str, client_id: str) -> int | None:
    value: int | None = await db.fetchval(
        "select last_mutation_id from sync_clients where user_id = $1 and client_id = $2",
        user(login),
        client_id,
    )
    return value


# ---- each mutation, through the API's rules ---------------------------------------------------


async def test_offline_task_work_follows_the_same_rules_as_the_api(client, db, bank):
    mine, theirs = bank.tasks["rm01"], bank.tasks["rm02"]
    bad = {"amount": 500, "outcome": "maybe", "extra": 1}
    answer = await push(
        client, bank.rm01, "phone",
        (1, "task.start", {"task_id": str(mine)}),
        (2, "task.submit", {"task_id": str(mine), "values": bad}),
        (3, "task.submit", {"task_id": str(mine), "values": {"amount": 42, "outcome": "yes"}}),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "applied", None), (2, "rejected", "task.invalid_submission"), (3, "applied", None)
    ]  # fmt: skip
    assert answer["last_mutation_id"] == 3
    assert answer["results"][0]["result"]["status"] == "in_progress"
    # The same answers sent online are refused with the same per-field errors.
    rm02 = await headers_of(client, "rm02")
    assert (await client.post(f"/api/v1/tasks/{theirs}/start", headers=rm02)).status_code == 200
    online = await client.post(f"/api/v1/tasks/{theirs}/submit", json={"values": bad}, headers=rm02)
    assert online.status_code == 422, online.text
    rejected = answer["results"][1]
    assert rejected["problem"]["errors"] == online.json()["errors"]
    assert sorted(e["path"] for e in rejected["problem"]["errors"]) == [
        "$.values.amount", "$.values.extra", "$.values.outcome"
    ]  # fmt: skip

    task = await api_get(client, bank.rm01, f"/api/v1/tasks/{mine}")
    assert task["status"] == "done"
    assert task["values"] == {"amount": 42, "outcome": "yes"}
    assert answer["results"][2]["result"] == task


async def test_a_note_written_offline_is_on_the_customers_timeline(client, bank):
    note_id = uuid7()
    answer = await push(
        client,
        bank.rm01,
        "phone",
        (1, "note.add", note(bank.customer, "客户想了解养老金", note_id)),
    )
    assert statuses(answer) == [(1, "applied", None)]
    notes = await notes_of(client, bank.rm01, bank.customer)
    assert [(n["id"], n["text"], n["kind"]) for n in notes] == [
        (str(note_id), "客户想了解养老金", "note.visit")
    ]
    assert answer["results"][0]["result"]["id"] == str(note_id)


async def test_a_blank_note_written_offline_is_rejected_as_online(client, bank):
    answer = await push(
        client, bank.rm01, "phone",
        (1, "note.add", note(bank.customer, " ")),
        (2, "note.add", note(bank.customer, "\n\t")),
        (3, "note.add", note(bank.customer, "有内容")),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "rejected", "note.blank_text"), (2, "rejected", "note.blank_text"), (3, "applied", None)
    ]  # fmt: skip
    assert [e["path"] for e in answer["results"][0]["problem"]["errors"]] == ["$.text"]
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["有内容"]


async def test_a_note_written_offline_that_would_read_otherwise_is_rejected_as_online(client, bank):
    answer = await push(
        client, bank.rm01, "phone",
        (1, "note.add", note(bank.customer, "😀\u202e反向文本")),
        (2, "note.add", note(bank.customer, "第一行\n第二行")),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "rejected", "request.validation_failed"), (2, "applied", None)
    ]  # fmt: skip
    assert [e["path"] for e in answer["results"][0]["problem"]["errors"]] == ["$.text"]
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == [
        "第一行\n第二行"
    ]


async def test_a_notification_read_offline_is_read_in_the_notification_centre(client, bank):
    answer = await push(
        client, bank.rm01, "phone",
        (1, "notification.read", {"notification_id": str(bank.notification)}),
    )  # fmt: skip
    assert statuses(answer) == [(1, "applied", None)]
    listed = await api_items(client, bank.rm01, "/api/v1/notifications")
    assert [n["read_at"] is not None for n in listed] == [True]
    assert listed[0]["read_at"] == answer["results"][0]["result"]["read_at"]


async def test_a_task_rescheduled_then_cancelled_offline(client, bank):
    task = bank.tasks["rm01"]
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    past = datetime.now(UTC) - timedelta(days=1)
    answer = await push(
        client, bank.rm01, "phone",
        (1, "task.reschedule", {"task_id": str(task), "due_at": due.isoformat()}),
        (2, "task.reschedule", {"task_id": str(task), "due_at": past.isoformat()}),
        (3, "task.cancel", {"task_id": str(task), "reason": "客户出国"}),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "applied", None), (2, "rejected", "task.due_in_past"), (3, "applied", None)
    ]  # fmt: skip
    shown = await api_get(client, bank.rm01, f"/api/v1/tasks/{task}")
    assert shown["status"] == "cancelled"
    assert datetime.fromisoformat(shown["due_at"]) == due


async def test_a_due_time_beyond_any_calendar_rejects_that_reschedule_alone(client, bank):
    # 9999-12-31 at UTC-14 is in the year 10000 in UTC: it once made the whole batch a 422,
    # which the app retried for ever with every mutation before and after it waiting.
    task = str(bank.tasks["rm01"])
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    answer = await push(
        client, bank.rm01, "phone",
        (1, "note.add", note(bank.customer, "之前的")),
        (2, "task.reschedule", {"task_id": task, "due_at": "9999-12-31T23:59:59-14:00"}),
        (3, "task.reschedule", {"task_id": task, "due_at": due.isoformat()}),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "applied", None), (2, "rejected", "task.due_out_of_range"), (3, "applied", None)
    ]  # fmt: skip
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["之前的"]
    shown = await api_get(client, bank.rm01, f"/api/v1/tasks/{task}")
    assert datetime.fromisoformat(shown["due_at"]) == due


async def test_a_value_the_database_refuses_rejects_only_its_mutation(client, bank, monkeypatch):
    # The net under the contract's checks: were one missing, PostgreSQL's refusal of a value is
    # that mutation's `rejected`, and the batch around it is applied.
    monkeypatch.setattr(dispatching, "check_due", lambda due_at: None)
    task = str(bank.tasks["rm01"])
    answer = await push(
        client, bank.rm01, "phone",
        (1, "note.add", note(bank.customer, "之前的")),
        (2, "task.reschedule", {"task_id": task, "due_at": "9999-12-31T23:59:59-14:00"}),
        (3, "note.add", note(bank.customer, "之后的")),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "applied", None), (2, "rejected", "request.invalid_value"), (3, "applied", None)
    ]  # fmt: skip
    texts = {n["text"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert texts == {"之前的", "之后的"}


# ---- exactly once, in order ----------------------------------------------------------------


async def test_a_retried_batch_is_answered_duplicate_and_applied_once(client, db, bank):
    task = bank.tasks["rm01"]
    batch: list[Mutation] = [
        (1, "note.add", note(bank.customer, "只记一次")),
        (2, "task.start", {"task_id": str(task)}),
    ]
    first = await push(client, bank.rm01, "phone", *batch)
    assert statuses(first) == [(1, "applied", None), (2, "applied", None)]
    # The answer was lost: the app sends the same batch again.
    again = await push(client, bank.rm01, "phone", *batch)
    assert statuses(again) == [(1, "duplicate", None), (2, "duplicate", None)]
    assert again["last_mutation_id"] == 2
    assert await last_id(db, "rm01", "phone") == 2
    assert len(await notes_of(client, bank.rm01, bank.customer)) == 1
    assert (await api_get(client, bank.rm01, f"/api/v1/tasks/{task}"))["status"] == "in_progress"

    # The next batch carries the unanswered tail and a new mutation.
    values = {"amount": 7}
    more = await push(
        client, bank.rm01, "phone", *batch[1:],
        (3, "task.submit", {"task_id": str(task), "values": values}),
    )  # fmt: skip
    assert statuses(more) == [(2, "duplicate", None), (3, "applied", None)]
    assert await last_id(db, "rm01", "phone") == 3
    assert (await api_get(client, bank.rm01, f"/api/v1/tasks/{task}"))["status"] == "done"


async def test_a_retried_batch_gets_its_rejections_and_conflicts_again(client, db, bank):
    # The answer to a batch with a refused note and a submit of a task cancelled meanwhile was
    # lost; the retry answered `duplicate` for both, the app took them as done and dropped the
    # RM's note and form, never told why.
    task = str(bank.tasks["rm01"])
    await push(client, bank.rm01, "phone", (1, "task.start", {"task_id": task}))
    bh = await headers_of(client, "bh.east")
    cancelled = await client.post(f"/api/v1/tasks/{task}/cancel", json={"reason": "x"}, headers=bh)
    assert cancelled.status_code == 200, cancelled.text
    batch: list[Mutation] = [
        (2, "note.add", note(bank.customer, "   ")),
        (3, "task.submit", {"task_id": task, "values": {"amount": 5}}),
        (4, "note.add", note(bank.customer, "已拜访")),
    ]
    first = await push(client, bank.rm01, "phone", *batch)
    expected = [
        (2, "rejected", "note.blank_text"),
        (3, "conflict", "task.illegal_transition"),
        (4, "applied", None),
    ]
    assert statuses(first) == expected
    again = await push(client, bank.rm01, "phone", *batch)
    assert statuses(again) == [*expected[:2], (4, "duplicate", None)]
    assert again["results"][0]["detail"] == first["results"][0]["detail"]
    # The conflict carries the task as it is now, not as it was at the first answer.
    await db.execute("update tasks set title = '改过的标题' where id = $1", bank.tasks["rm01"])
    third = await push(client, bank.rm01, "phone", *batch)
    assert third["results"][1]["server"] == await api_get(
        client, bank.rm01, f"/api/v1/tasks/{task}"
    )
    assert third["results"][1]["server"]["title"] == "改过的标题"
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["已拜访"]


async def test_a_retried_conflict_of_a_task_gone_to_another_rm_fails_nothing(client, db, bank):
    # The retry read the task again to answer the conflict with it, found it no longer rm01's
    # and answered the whole push 404: the app's queue was stuck behind it for good.
    task = str(bank.tasks["rm01"])
    submit: Mutation = (1, "task.submit", {"task_id": task, "values": {"amount": 5}})
    first = await push(client, bank.rm01, "phone", submit)
    assert statuses(first) == [(1, "conflict", "task.illegal_transition")]  # not started
    await db.execute("update tasks set assignee_id = $1 where id = $2", user("rm02"), task)
    later = (2, "note.add", note(bank.customer, "下一条"))
    again = await push(client, bank.rm01, "phone", submit, later)
    assert statuses(again) == [(1, "conflict", "task.illegal_transition"), (2, "applied", None)]
    assert again["results"][0].get("server") is None


async def test_an_id_sent_again_with_other_content_is_refused_not_taken_for_done(client, db, bank):
    # An app reinstalled with its old client id started its ids again from 1: the new note was
    # answered `duplicate` and dropped.
    old = note(bank.customer, "旧笔记")
    first = await push(client, bank.rm01, "phone", (1, "note.add", old))
    assert statuses(first) == [(1, "applied", None)]
    reused = await push(client, bank.rm01, "phone", (1, "note.add", note(bank.customer, "新笔记")))
    assert statuses(reused) == [(1, "rejected", "sync.mutation_id_reused")]
    texts = [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)]
    assert texts == ["旧笔记"]
    # The same content with its keys in another order is the same mutation.
    same = await push(client, bank.rm01, "phone", (1, "note.add", dict(reversed(old.items()))))
    assert statuses(same) == [(1, "duplicate", None)]


async def test_answers_are_kept_for_the_sync_retention(client, db, bank, settings):
    from sync.jobs import purge_changes
    from workbench.db import create_pool

    batch: list[Mutation] = [(1, "note.add", note(bank.customer, "   "))]
    assert statuses(await push(client, bank.rm01, "phone", *batch))[0][1] == "rejected"
    await db.execute("update sync_answers set answered_at = now() - interval '400 days'")
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        await purge_changes({"pool": pool, "settings": settings})
    finally:
        await pool.close()
    assert await db.fetchval("select count(*) from sync_answers") == 0
    # Answered longer ago than the retention: as before answers were kept.
    assert statuses(await push(client, bank.rm01, "phone", *batch)) == [(1, "duplicate", None)]


async def test_a_mutation_that_arrives_after_a_later_one_still_runs(client, db, bank):
    # The app had two pushes in flight and the later one reached the server first.
    fourth: Mutation = (4, "note.add", note(bank.customer, "第四条"))
    later = await push(client, bank.rm01, "phone",
                       (3, "note.add", note(bank.customer, "第三条")), fourth)  # fmt: skip
    assert statuses(later) == [(3, "applied", None), (4, "applied", None)]
    earlier_batch: list[Mutation] = [
        (1, "note.add", note(bank.customer, "第一条")),
        (2, "task.start", {"task_id": str(bank.tasks["rm01"])}),
    ]
    earlier = await push(client, bank.rm01, "phone", *earlier_batch)
    assert statuses(earlier) == [(1, "applied", None), (2, "applied", None)]
    assert earlier["last_mutation_id"] == 4
    texts = sorted(n["text"] for n in await notes_of(client, bank.rm01, bank.customer))
    assert texts == ["第一条", "第三条", "第四条"]
    task = await api_get(client, bank.rm01, f"/api/v1/tasks/{bank.tasks['rm01']}")
    assert task["status"] == "in_progress"
    # Each is still answered once: retries of either batch change nothing.
    again = await push(client, bank.rm01, "phone", *earlier_batch, fourth)
    assert statuses(again) == [(1, "duplicate", None), (2, "duplicate", None),
                               (4, "duplicate", None)]  # fmt: skip
    assert len(await notes_of(client, bank.rm01, bank.customer)) == 3
    assert await last_id(db, "rm01", "phone") == 4


async def test_pushes_of_one_app_in_flight_at_once_lose_nothing(client, make_client, db, bank):
    batches = [
        [(2 * k + 1, "note.add", note(bank.customer, f"并发 {2 * k + 1}")),
         (2 * k + 2, "note.add", note(bank.customer, f"并发 {2 * k + 2}"))]
        for k in range(10)
    ]  # fmt: skip
    clients = [client] + [await make_client() for _ in range(3)]
    # Sent at once, the later batches first: whichever the server takes first, none is lost.
    answers = await asyncio.gather(
        *(push(clients[k % 4], bank.rm01, "phone", *batches[k]) for k in reversed(range(10)))
    )
    assert sorted(r for a in answers for r in statuses(a)) == [
        (i, "applied", None) for i in range(1, 21)
    ]
    texts = sorted(n["text"] for n in await notes_of(client, bank.rm01, bank.customer))
    assert texts == sorted(f"并发 {i}" for i in range(1, 21))
    assert await last_id(db, "rm01", "phone") == 20


async def test_a_client_that_pushed_before_the_answered_ids_were_kept(client, db, bank):
    # What migration 0030 finds: a client with only its last id (5). Its ids up to 5 count as
    # answered, as they did; a retry of one of them runs nothing.
    await db.execute(
        "insert into sync_clients (user_id, client_id, last_mutation_id) values ($1, 'old', 5)",
        user("rm01"),
    )
    migration = Path(migrations.__file__).with_name("0030_sync_mutations_answered.sql")
    backfill = migration.read_text()
    await db.execute(backfill[backfill.index("update sync_clients") :])
    answer = await push(client, bank.rm01, "old",
                        (3, "note.add", note(bank.customer, "旧的重发")),
                        (6, "note.add", note(bank.customer, "新的")))  # fmt: skip
    assert statuses(answer) == [(3, "duplicate", None), (6, "applied", None)]
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["新的"]


async def test_mutation_ids_that_do_not_increase_refuse_the_whole_batch(client, db, bank):
    # (A repeated id is a resend, answered alone: test_push_repeated_ids.py.)
    for ids in ((2, 1), (3, 2)):
        body = {
            "client_id": "phone",
            "mutations": [
                {"id": ids[0], "name": "note.add", "args": note(bank.customer, "乱序")},
                {"id": ids[1], "name": "task.start", "args": {"task_id": str(bank.tasks["rm01"])}},
            ],
        }
        response = await client.post(PUSH, json=body, headers=bank.rm01)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "sync.mutation_order"
    assert await notes_of(client, bank.rm01, bank.customer) == []
    task = await api_get(client, bank.rm01, f"/api/v1/tasks/{bank.tasks['rm01']}")
    assert task["status"] == "pending"
    assert await last_id(db, "rm01", "phone") is None


async def test_a_refused_mutation_does_not_block_the_ones_after_it(client, bank):
    answer = await push(
        client, bank.rm01, "phone",
        (1, "task.fly", {"task_id": str(bank.tasks["rm01"])}),
        (2, "task.start", {"task_id": "not-a-uuid"}),
        (3, "task.start", {"task_id": str(bank.tasks["rm02"])}),
        (4, "note.add", note(bank.other_customer, "别人的客户")),
        (5, "note.add", note(bank.customer, "仍然保存")),
        (6, "task.start", {"task_id": str(bank.tasks["rm01"])}),
        (7, "note.add", [str(bank.customer), "不是对象"]),  # type: ignore[arg-type]
        (8, "note.add", None),  # type: ignore[arg-type]
        (9, "notification.read", {"notification_id": str(bank.notification)}),
        (10, "", {}),  # an empty name, or one of 61+ characters, refused the whole batch
        (11, "note.add" * 20, {}),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "rejected", "sync.unknown_mutation"),
        (2, "rejected", "request.invalid"),
        (3, "rejected", "task.not_found"),
        (4, "rejected", "customer.not_found"),
        (5, "applied", None),
        (6, "applied", None),
        (7, "rejected", "request.invalid"),
        (8, "rejected", "request.invalid"),
        (9, "applied", None),
        (10, "rejected", "sync.unknown_mutation"),
        (11, "rejected", "sync.unknown_mutation"),
    ]
    assert answer["last_mutation_id"] == 11
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["仍然保存"]
    rm02 = await headers_of(client, "rm02")
    other = await api_get(client, rm02, f"/api/v1/tasks/{bank.tasks['rm02']}")
    assert other["status"] == "pending"


async def test_a_branch_head_may_cancel_offline_but_not_start_a_task(client, bank):
    bh = await headers_of(client, "bh.east")
    task = str(bank.tasks["rm01"])
    answer = await push(
        client, bh, "tablet",
        (1, "task.start", {"task_id": task}),
        (2, "note.add", note(bank.customer, "分行长不记笔记")),
        (3, "task.cancel", {"task_id": task, "reason": "活动取消"}),
    )  # fmt: skip
    assert statuses(answer) == [
        (1, "rejected", "auth.forbidden"), (2, "rejected", "auth.forbidden"), (3, "applied", None)
    ]  # fmt: skip
    assert (await api_get(client, bank.rm01, f"/api/v1/tasks/{task}"))["status"] == "cancelled"


# ---- conflicts -------------------------------------------------------------------------------


async def test_a_task_cancelled_by_the_branch_head_while_offline_is_a_conflict(client, bank):
    task = str(bank.tasks["rm01"])
    started = await push(client, bank.rm01, "phone", (1, "task.start", {"task_id": task}))
    assert statuses(started) == [(1, "applied", None)]
    # The RM goes offline and fills in the form; meanwhile the branch head cancels the task.
    bh = await headers_of(client, "bh.east")
    cancelled = await client.post(f"/api/v1/tasks/{task}/cancel", json={"reason": "x"}, headers=bh)
    assert cancelled.status_code == 200, cancelled.text

    answer = await push(
        client, bank.rm01, "phone",
        (2, "task.submit", {"task_id": task, "values": {"amount": 5}}),
        (3, "note.add", note(bank.customer, "已拜访")),
    )  # fmt: skip
    assert statuses(answer) == [(2, "conflict", "task.illegal_transition"), (3, "applied", None)]
    server = answer["results"][0]["server"]
    assert server["status"] == "cancelled"
    assert server == await api_get(client, bank.rm01, f"/api/v1/tasks/{task}")
    assert server["values"] is None
    assert answer["last_mutation_id"] == 3


# ---- clients ---------------------------------------------------------------------------------


async def test_each_app_install_keeps_its_own_place(client, db, bank):
    phone = await push(client, bank.rm01, "phone",
                       (1, "note.add", note(bank.customer, "手机")),
                       (2, "note.add", note(bank.customer, "手机 2")))  # fmt: skip
    tablet = await push(client, bank.rm01, "tablet", (1, "note.add", note(bank.customer, "平板")))
    rm02 = await headers_of(client, "rm02")
    theirs = await push(client, rm02, "phone", (1, "note.add", note(bank.other_customer, "rm02")))
    assert statuses(phone) == [(1, "applied", None), (2, "applied", None)]
    assert statuses(tablet) == [(1, "applied", None)]
    assert statuses(theirs) == [(1, "applied", None)]
    assert await last_id(db, "rm01", "phone") == 2
    assert await last_id(db, "rm01", "tablet") == 1
    assert await last_id(db, "rm02", "phone") == 1
    assert len(await notes_of(client, bank.rm01, bank.customer)) == 3


async def test_two_app_instances_racing_with_one_batch_apply_it_once(client, make_client, db, bank):
    task = str(bank.tasks["rm01"])
    batch: list[Mutation] = [
        (1, "task.start", {"task_id": task}),
        (2, "task.submit", {"task_id": task, "values": {"amount": 9}}),
        (3, "note.add", note(bank.customer, "并发")),
    ]
    other = await make_client()
    answers = await asyncio.gather(
        push(client, bank.rm01, "phone", *batch), push(other, bank.rm01, "phone", *batch)
    )
    results = sorted(statuses(a) for a in answers)
    assert results == [
        [(1, "applied", None), (2, "applied", None), (3, "applied", None)],
        [(1, "duplicate", None), (2, "duplicate", None), (3, "duplicate", None)],
    ]
    assert (await api_get(client, bank.rm01, f"/api/v1/tasks/{task}"))["status"] == "done"
    assert len(await notes_of(client, bank.rm01, bank.customer)) == 1
    assert await last_id(db, "rm01", "phone") == 3


async def test_a_late_mutation_is_applied_after_two_full_batches_of_skipping_ids(client, bank):
    # Two pushes in flight, the later first: its 500 ids (ms times, every one a gap) once
    # closed the gap the earlier push's mutation was waiting in, and it was answered
    # `duplicate` (done) without ever running.
    read = {"notification_id": str(bank.notification)}
    for start in (10_000, 20_000):
        batch = [(start + 2 * n, "notification.read", read) for n in range(500)]
        answer = await push(client, bank.rm01, "ms-ids", *batch)
        assert {r["status"] for r in answer["results"]} == {"applied"}
    late = await push(client, bank.rm01, "ms-ids",
                      (5_000, "note.add", note(bank.customer, "晚到的")),
                      (10_000, "notification.read", read))  # fmt: skip
    assert statuses(late) == [(5_000, "applied", None), (10_000, "duplicate", None)]
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["晚到的"]


async def test_an_app_whose_ids_skip_keeps_a_small_set_and_its_recent_gaps(
    client, db, bank, monkeypatch
):
    # Ids like times in ms: every mutation is its own range. Past the kept gaps, the oldest
    # close up; the recent gaps stay open for a late mutation, and retries stay duplicates.
    monkeypatch.setattr(mutations._batch, "KEPT_GAPS", 3)  # where push reads it
    read = {"notification_id": str(bank.notification)}
    for n in range(1, 9):
        answer = await push(client, bank.rm01, "ms-ids", (1000 * n, "notification.read", read))
        assert statuses(answer) == [(1000 * n, "applied", None)]
    ranges = await db.fetchval("select answered::text from sync_clients where client_id = 'ms-ids'")
    assert ranges == "{[1,5001),[6000,6001),[7000,7001),[8000,8001)}"
    late = await push(client, bank.rm01, "ms-ids",
                      (6500, "note.add", note(bank.customer, "晚到的")),
                      (7000, "notification.read", read))  # fmt: skip
    assert statuses(late) == [(6500, "applied", None), (7000, "duplicate", None)]
    assert [n["text"] for n in await notes_of(client, bank.rm01, bank.customer)] == ["晚到的"]


async def test_a_name_too_long_or_not_a_string_rejects_that_mutation_alone(client, db, bank):
    # Such a name refused the whole batch at decoding: the app, retrying it, was stuck for ever
    # with every mutation queued behind it.
    batch: list[Any] = [
        (1, "note.add", note(bank.customer, "之前的")),
        (2, "n" * 1001, {}),
        (3, ["task.start"], {"task_id": str(bank.tasks["rm01"])}),
        (4, {"name": "task.start"}, {}),
        (5, 7, {}),
        (6, None, {}),
        (7, "note.add", note(bank.customer, "之后的")),
    ]
    answer = await push(client, bank.rm01, "phone", *batch)
    assert statuses(answer) == [
        (1, "applied", None),
        *[(n, "rejected", "sync.unknown_mutation") for n in range(2, 7)],
        (7, "applied", None),
    ]
    assert answer["results"][2]["detail"] == (
        "A mutation's name must be a string, such as 'task.start'"
    )
    texts = {n["text"] for n in await notes_of(client, bank.rm01, bank.customer)}
    assert texts == {"之前的", "之后的"}
    # Retried after a lost answer: the same answers again (a list is no dict key: no 500).
    again = await push(client, bank.rm01, "phone", *batch)
    assert statuses(again) == [
        (1, "duplicate", None),
        *[(n, "rejected", "sync.unknown_mutation") for n in range(2, 7)],
        (7, "duplicate", None),
    ]
    assert await last_id(db, "rm01", "phone") == 7


async def test_refused_arguments_are_said_in_words_not_as_a_pattern(client, bank):
    args = {"work_order_id": str(uuid7()), "to": "closed", "note": "客户满意",
            "root_cause": "Wait Time"}  # fmt: skip
    answer = await push(client, bank.rm01, "phone", (1, "work_order.transition", args))
    assert statuses(answer) == [(1, "rejected", "request.invalid")]
    assert answer["results"][0]["detail"] == (
        "must be 1 to 40 lowercase letters, digits and _, starting with a letter"
        " - at `$.root_cause`"
    )


async def test_an_offline_due_time_without_an_offset_is_utc_as_online(client, bank):
    # The online PATCH reads it as UTC; offline it was `rejected` (request.invalid), and the RM's
    # new date with the customer was lost.
    task = str(bank.tasks["rm01"])
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    naive = due.replace(tzinfo=None).isoformat()
    answer = await push(
        client, bank.rm01, "phone", (1, "task.reschedule", {"task_id": task, "due_at": naive})
    )
    assert statuses(answer) == [(1, "applied", None)]
    shown = await api_get(client, bank.rm01, f"/api/v1/tasks/{task}")
    assert datetime.fromisoformat(shown["due_at"]) == due

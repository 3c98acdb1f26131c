"""Pull (POST /sync/pull), as the app sees it: the first sync of a partition (what an RM's and a
branch head's devices hold, masked as the API shows it, in pages, resumable), the catch-up
(moves between RMs and units become deletes and upserts), cursors that must start over, schema
versions, a revoked device, and "nothing changed" answered from Redis without ever losing a
change."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from sync import schema
from sync.cursor import CursorState, Position, Signer
from tests.customers_data import customer_row, feed, headers_of, holding_row, product_row
from tests.helpers import device
from tests.sync.sync_data import (
    PULL,
    PUSH,
    App,
    api_get,
    api_items,
    feed_worker,
    fresh_state,
    of,
    ops,
    pages,
    pull,
    pull_all,
    replay,
    settled,
    tell,
)
from tests.tasks_data import create_template, issue, unit, user
from workbench.db import create_pool

pytestmark = pytest.mark.usefixtures("demo_bank")


@dataclass
class Bank:
    admin: dict[str, str]
    customers: dict[str, uuid.UUID]  # external id -> id
    template_id: str
    tasks: dict[str, uuid.UUID]  # login -> task id
    notes: dict[str, str]  # external id of the customer -> note id
    notifications: dict[str, uuid.UUID]  # login -> notification id


async def add_note(client: Any, headers: dict[str, str], customer_id: Any, text: str) -> str:
    response = await client.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"text": text, "kind": "visit"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    note_id: str = response.json()["id"]
    return note_id


@pytest.fixture
async def bank(client: Any, db: Any) -> Bank:
    """rm01: three customers (two with holdings, one with a note), a task, a notification;
    rm02: a customer with a holding and a note, a task, a notification; rm05: a customer, a
    task, a notification; rm06: a task."""
    admin = await headers_of(client, "admin")
    products = [product_row("FUND1"), product_row("FUND2"), product_row("BOND1", category="bond")]
    await feed(client, admin, "products", products)
    await feed(client, admin, "customers", [
        customer_row("C-1", name="王芳", owner="rm01", seq=1),
        customer_row("C-2", name="李雷", owner="rm01", seq=2),
        customer_row("C-3", name="张伟", owner="rm01", seq=3),
        customer_row("C-4", name="赵敏", owner="rm02", seq=4),
        customer_row("C-5", name="陈静", owner="rm05", seq=5),
    ])  # fmt: skip
    await feed(client, admin, "holdings", [
        holding_row("C-1", "FUND1", 1000, "2026-11-01"),
        holding_row("C-1", "FUND2", 2000, "2026-11-01"),
        holding_row("C-2", "BOND1", 3000, "2026-11-01"),
        holding_row("C-4", "FUND1", 4000, "2026-11-01"),
    ])  # fmt: skip
    customers = {
        r["external_id"]: r["id"] for r in await db.fetch("select external_id, id from customers")
    }
    template = await create_template(client, admin, name="Client visit")
    tasks = await issue(client, db, admin, template["id"], org_unit="team-east-1")
    tasks |= await issue(client, db, admin, template["id"], org_unit="team-west-1")
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    notes = {
        "C-1": await add_note(client, rm01, customers["C-1"], "拜访顺利"),
        "C-4": await add_note(client, rm02, customers["C-4"], "电话回访"),
    }
    notifications = {
        login: await tell(db, user(login), n) for n, login in enumerate(("rm01", "rm02", "rm05"))
    }
    return Bank(admin, customers, template["id"], tasks, notes, notifications)


@pytest.fixture
async def rm01(client: Any) -> dict[str, str]:
    return await headers_of(client, "rm01")


@pytest.fixture
async def rm02(client: Any) -> dict[str, str]:
    return await headers_of(client, "rm02")


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


# ---- initial sync ----------------------------------------------------------------------------


async def test_an_rms_first_sync_holds_exactly_what_the_api_shows_them(client, db, bank, rm01):
    local = await fresh_state(client, rm01, db=db)
    c = bank.customers

    customers = of(local, "customer")
    listed = await api_items(client, rm01, "/api/v1/customers")
    assert customers == {item["id"]: item for item in listed}
    assert set(customers) == {str(c["C-1"]), str(c["C-2"]), str(c["C-3"])}
    wang = customers[str(c["C-1"])]
    assert wang["name"] == "王*"
    assert re.fullmatch(r"\d{3}\*{4}\d{4}", wang["phone"]), wang["phone"]
    assert re.fullmatch(r"\d{3}\*+[\dX]{4}", wang["id_number"]), wang["id_number"]
    fed_phone = customer_row("C-1", name="王芳", seq=1)["phone"]
    assert wang["phone"] != fed_phone

    holdings = of(local, "holding")
    assert {k: (h["customer_id"], h["product_code"], float(h["amount"]))
            for k, h in holdings.items()} == {
        f"{c['C-1']}:FUND1": (str(c["C-1"]), "FUND1", 1000.0),
        f"{c['C-1']}:FUND2": (str(c["C-1"]), "FUND2", 2000.0),
        f"{c['C-2']}:BOND1": (str(c["C-2"]), "BOND1", 3000.0),
    }  # fmt: skip
    notes = of(local, "note")
    assert list(notes) == [bank.notes["C-1"]]
    assert notes[bank.notes["C-1"]]["text"] == "拜访顺利"
    assert notes[bank.notes["C-1"]]["customer_id"] == str(c["C-1"])

    tasks = of(local, "task")
    task_id = bank.tasks["rm01"]
    assert tasks == {str(task_id): await api_get(client, rm01, f"/api/v1/tasks/{task_id}")}
    templates = of(local, "task_template")
    assert templates == {
        t["id"]: t for t in await api_items(client, rm01, "/api/v1/task-templates")
    }
    assert set(of(local, "product")) == {"FUND1", "FUND2", "BOND1"}
    assert of(local, "notification") == {
        n["id"]: n for n in await api_items(client, rm01, "/api/v1/notifications")
    }
    assert list(of(local, "notification")) == [str(bank.notifications["rm01"])]

    # Nothing of another RM's partition.
    held_ids = {key[1] for key in local}
    for theirs in (str(c["C-4"]), str(c["C-5"]), bank.notes["C-4"], str(bank.tasks["rm02"]),
                   str(bank.tasks["rm05"]), str(bank.notifications["rm02"])):  # fmt: skip
        assert theirs not in held_ids
    assert not any(k[0] == "holding" and k[1].startswith(str(c["C-4"])) for k in local)


async def test_an_initial_sync_in_small_pages_ends_where_one_big_page_does(client, db, bank, rm01):
    await settled(db)
    whole = await fresh_state(client, rm01)
    for limit in (2, 3):
        answers = await pages(client, rm01, limit=limit)
        assert len(answers) > 5
        assert all(len(a["changes"]) <= limit for a in answers)
        changes = [change for answer in answers for change in answer["changes"]]
        assert replay(changes) == whole
        # The first sync sends each row once.
        assert len({(c["entity"], c["id"]) for c in changes}) == len(changes)


async def test_a_dropped_answer_is_asked_again_with_the_same_cursor_and_ends_the_same(
    client, db, bank, rm01
):
    await settled(db)
    whole = await fresh_state(client, rm01)
    local: dict[Any, Any] = {}
    cursor = None
    for _ in range(4):
        answer = await pull(client, rm01, cursor, limit=2)
        replay(answer["changes"], local)
        cursor = answer["cursor"]
    # The next answer is lost on the way: the app asks again with the same cursor, twice.
    await pull(client, rm01, cursor, limit=2)
    changes, _ = await pull_all(client, rm01, cursor, limit=2)
    assert replay(changes, local) == whole


async def test_writes_between_pages_of_an_initial_sync_arrive_by_its_end(client, db, bank, rm01):
    await settled(db)
    c = bank.customers
    local: dict[Any, Any] = {}
    answer = await pull(client, rm01, limit=3)  # products so far
    replay(answer["changes"], local)
    answer = await pull(client, rm01, answer["cursor"], limit=3)  # templates and customers
    replay(answer["changes"], local)
    # While the app pages on, the bank writes to the partition.
    await feed(client, bank.admin, "customers", [
        customer_row("C-6", name="孙丽", owner="rm01", seq=6),
        customer_row("C-2", name="李雷", owner="rm01", seq=2, risk_level="C5"),
        customer_row("C-3", name="张伟", owner="rm02", seq=3),
    ])  # fmt: skip
    await feed(client, bank.admin, "products", [product_row("FUND1", name="Renamed fund")])
    await db.execute("delete from holdings where customer_id = $1", c["C-2"])
    await add_note(client, rm01, c["C-1"], "第二次拜访")
    await settled(db)
    changes, _ = await pull_all(client, rm01, answer["cursor"], limit=3)
    replay(changes, local)

    assert local == await fresh_state(client, rm01)
    customers = of(local, "customer")
    assert str(c["C-3"]) not in customers
    assert customers[str(c["C-2"])]["risk_level"] == "C5"
    assert len(customers) == 3  # C-1, C-2 and the new C-6
    assert of(local, "product")["FUND1"]["name"] == "Renamed fund"
    assert len(of(local, "note")) == 2


# ---- catch-up --------------------------------------------------------------------------------


async def test_a_customer_moved_to_another_rm_leaves_the_old_rms_device_and_reaches_the_new(
    client, db, bank, rm01, rm02
):
    c1 = str(bank.customers["C-1"])
    old, new = App(client, rm01, db), App(client, rm02, db)
    await old.sync()
    await new.sync()
    moved = customer_row("C-1", name="王芳", owner="rm02", seq=1)
    await feed(client, bank.admin, "customers", [moved])

    gone = await old.sync()
    assert set(ops(gone)) == {
        ("customer", "delete", c1), ("holding", "delete", f"{c1}:FUND1"),
        ("holding", "delete", f"{c1}:FUND2"), ("note", "delete", bank.notes["C-1"]),
    }  # fmt: skip
    assert c1 not in old.rows("customer")
    arrived = await new.sync()
    assert set(ops(arrived)) == {
        ("customer", "upsert", c1), ("holding", "upsert", f"{c1}:FUND1"),
        ("holding", "upsert", f"{c1}:FUND2"), ("note", "upsert", bank.notes["C-1"]),
    }  # fmt: skip
    assert new.rows("customer")[c1]["owner_id"] == str(user("rm02"))
    assert old.local == await fresh_state(client, rm01)
    assert new.local == await fresh_state(client, rm02)


async def test_a_reassigned_task_moves_from_one_rms_device_to_the_others(
    client, db, bank, rm01, rm02
):
    task = bank.tasks["rm01"]
    old, new = App(client, rm01, db), App(client, rm02, db)
    await old.sync()
    await new.sync()
    await db.execute("update tasks set assignee_id = $2 where id = $1", task, user("rm02"))

    assert ops(await old.sync()) == [("task", "delete", str(task))]
    assert ops(await new.sync()) == [("task", "upsert", str(task))]
    assert new.rows("task")[str(task)] == await api_get(client, rm02, f"/api/v1/tasks/{task}")


async def test_deleted_holdings_and_customers_leave_the_device(client, db, bank, rm01):
    c1, c2 = bank.customers["C-1"], bank.customers["C-2"]
    app = App(client, rm01, db)
    await app.sync()
    await db.execute("delete from holdings where customer_id = $1 and product_code = 'FUND2'", c1)
    assert ops(await app.sync()) == [("holding", "delete", f"{c1}:FUND2")]
    assert set(app.rows("holding")) == {f"{c1}:FUND1", f"{c2}:BOND1"}

    # A deleted customer takes its holdings and notes with it.
    await db.execute("delete from customers where id = $1", c1)
    assert ("customer", "delete", str(c1)) in ops(await app.sync())
    assert app.local == await fresh_state(client, rm01)
    assert not any(str(c1) in key[1] for key in app.local)


async def test_reading_a_notification_reaches_the_device_with_its_read_time(client, db, bank, rm01):
    notification = str(bank.notifications["rm01"])
    app = App(client, rm01, db)
    await app.sync()
    assert app.rows("notification")[notification]["read_at"] is None
    read = await client.post(f"/api/v1/notifications/{notification}/read", headers=rm01)
    assert read.status_code == 200, read.text

    assert ops(await app.sync()) == [("notification", "upsert", notification)]
    assert app.rows("notification")[notification]["read_at"] == read.json()["read_at"]
    assert read.json()["read_at"] is not None


async def test_new_products_and_template_versions_reach_every_device(client, db, bank, rm01, rm02):
    apps = [App(client, rm01, db), App(client, rm02, db)]
    for app in apps:
        await app.sync()
    await feed(client, bank.admin, "products", [product_row("GOLD1", category="gold")])
    edited = await client.put(
        f"/api/v1/task-templates/{bank.template_id}",
        json={"name": "Client visit v2", "form": {"fields": [
            {"key": "outcome", "label": "Outcome", "type": "text"}]}},
        headers=bank.admin,
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    for app in apps:
        assert set(ops(await app.sync())) == {
            ("product", "upsert", "GOLD1"), ("task_template", "upsert", bank.template_id)
        }  # fmt: skip
        assert app.rows("task_template")[bank.template_id] == edited.json()


async def test_a_pull_right_after_a_pull_brings_nothing(client, db, bank, rm01):
    changes, cursor = await pull_all(client, rm01, db=db)
    assert changes
    answer = await pull(client, rm01, cursor)
    assert answer["changes"] == []
    assert answer["has_more"] is False
    again = await pull(client, rm01, answer["cursor"])
    assert again["changes"] == []


async def test_a_large_catch_up_in_pages_ends_where_one_pull_does(client, db, bank, rm01):
    initial, start = await pull_all(client, rm01, db=db)
    await feed(client, bank.admin, "customers", [
        customer_row(f"N-{i}", name=f"新客户{i}", owner="rm01", seq=100 + i) for i in range(10)
    ])  # fmt: skip
    await feed(client, bank.admin, "holdings", [
        holding_row(f"N-{i}", code, 100 + i, "2026-11-02")
        for i in range(10) for code in ("FUND1", "BOND1")
    ])  # fmt: skip
    now = await fresh_state(client, rm01, db=db)
    one_pull, _ = await pull_all(client, rm01, start)
    assert len(one_pull) == 30
    answers = await pages(client, rm01, start, limit=7)
    assert len(answers) >= 5
    assert all(len(a["changes"]) <= 7 for a in answers)
    assert all(a["has_more"] for a in answers[:-1])
    paged = [change for answer in answers for change in answer["changes"]]
    assert paged == one_pull
    assert replay(paged, replay(initial)) == now


# ---- branch heads --------------------------------------------------------------------------


async def test_a_branch_heads_device_holds_the_tasks_of_their_branch_and_no_other(client, db, bank):
    bh_east = await headers_of(client, "bh.east")
    local = await fresh_state(client, bh_east, db=db)
    east = {str(bank.tasks[rm]) for rm in ("rm01", "rm02")}
    assert set(of(local, "task")) == east
    inbox = await api_items(client, bh_east, "/api/v1/tasks")
    assert {t["id"] for t in inbox} == east
    for task_id in east:
        assert of(local, "task")[task_id] == await api_get(
            client, bh_east, f"/api/v1/tasks/{task_id}"
        )
    assert of(local, "customer") == {}


async def test_an_rm_moving_to_another_branch_takes_their_tasks_from_one_head_to_the_other(
    client, db, bank
):
    east = App(client, await headers_of(client, "bh.east"), db)
    west = App(client, await headers_of(client, "bh.west"), db)
    rm01 = App(client, await headers_of(client, "rm01"), db)
    for app in (east, west, rm01):
        await app.sync()
    assert str(bank.tasks["rm01"]) in east.rows("task")
    assert str(bank.tasks["rm01"]) not in west.rows("task")

    await db.execute(
        "update users set org_unit_id = $2 where id = $1", user("rm01"), unit("team-west-1")
    )
    assert ops(await east.sync()) == [("task", "delete", str(bank.tasks["rm01"]))]
    assert ops(await west.sync()) == [("task", "upsert", str(bank.tasks["rm01"]))]
    assert set(west.rows("task")) == {str(bank.tasks[rm]) for rm in ("rm01", "rm05", "rm06")}
    assert east.local == await fresh_state(client, east.headers)
    assert west.local == await fresh_state(client, west.headers)
    # The RM's own device holds another unit's templates now: it starts over.
    moved = await headers_of(client, "rm01")
    response = await client.post(
        PULL, json={"schema_version": 2, "cursor": rm01.cursor}, headers=moved
    )
    assert_problem(response, 409, "sync.reset_required")


async def test_a_team_moved_to_another_branch_moves_its_tasks_between_branch_heads(
    client, db, bank
):
    east = App(client, await headers_of(client, "bh.east"), db)
    west = App(client, await headers_of(client, "bh.west"), db)
    await east.sync()
    await west.sync()
    moved = await client.post(
        "/api/v1/admin/org-units",
        json={"id": str(unit("team-east-1")), "name": "Team East 1",
              "parent_id": str(unit("branch-west"))},
        headers=bank.admin,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    await east.sync()
    await west.sync()
    assert str(bank.tasks["rm01"]) in west.rows("task")
    assert east.local == await fresh_state(client, east.headers)
    assert west.local == await fresh_state(client, west.headers)


# ---- cursors that must start over ----------------------------------------------------------


async def test_a_tampered_or_another_users_cursor_starts_over(client, db, bank, rm01, rm02):
    _, cursor = await pull_all(client, rm01, db=db)
    middle = len(cursor) // 2
    flipped = "A" if cursor[middle] != "A" else "B"
    tampered = cursor[:middle] + flipped + cursor[middle + 1 :]
    response = await client.post(PULL, json={"schema_version": 2, "cursor": tampered}, headers=rm01)
    assert_problem(response, 409, "sync.reset_required")
    garbage = await client.post(PULL, json={"schema_version": 2, "cursor": "%%%"}, headers=rm01)
    assert_problem(garbage, 409, "sync.reset_required")
    borrowed = await client.post(PULL, json={"schema_version": 2, "cursor": cursor}, headers=rm02)
    assert_problem(borrowed, 409, "sync.reset_required")
    # rm01's own device goes on with it.
    assert (await pull(client, rm01, cursor))["has_more"] is False


async def test_a_cursor_older_than_the_change_retention_starts_over(make_client, settings):
    client = await make_client(sync_retention_days=1)
    rm01 = await headers_of(client, "rm01")
    signer = Signer(settings.blind_index_key)

    def cursor(age_seconds: int) -> str:
        return signer.sign(CursorState(
            format=1, user_id=user("rm01"), role="rm", org_unit_id=unit("team-east-1"),
            schema_version=2, position=Position(1, 0), position_at=int(time.time()) - age_seconds,
        ))  # fmt: skip

    old = await client.post(
        PULL, json={"schema_version": 2, "cursor": cursor(2 * 86_400)}, headers=rm01
    )
    assert_problem(old, 409, "sync.reset_required")
    recent = await client.post(
        PULL, json={"schema_version": 2, "cursor": cursor(600)}, headers=rm01
    )
    assert recent.status_code == 200, recent.text


# ---- schema versions -------------------------------------------------------------------------


async def test_an_app_whose_schema_is_not_served_must_update_or_is_refused(
    client, make_client, rm01
):
    response = await client.post(PULL, json={"schema_version": 0}, headers=rm01)
    assert_problem(response, 426, "sync.schema_too_old")
    newer = await client.post(PULL, json={"schema_version": schema.CURRENT + 1}, headers=rm01)
    assert_problem(newer, 422, "sync.schema_unknown")
    strict = await make_client(sync_min_schema=2)
    headers = await headers_of(strict, "rm01")
    refused = await strict.post(PULL, json={"schema_version": 1}, headers=headers)
    assert_problem(refused, 426, "sync.schema_too_old")
    assert (await pull(strict, headers, schema=2))["has_more"] is True


async def test_a_schema_1_app_gets_tasks_as_the_inbox_lists_them_and_no_notes_or_notifications(
    client, db, bank, rm01
):
    app = App(client, rm01, db)
    await app.sync()
    changes, cursor = await pull_all(client, rm01, schema=1)
    local = replay(changes)
    assert {k[0] for k in local} == {"product", "task_template", "customer", "holding", "task"}
    task = of(local, "task")[str(bank.tasks["rm01"])]
    assert "form" not in task
    assert "values" not in task
    listed = await api_items(client, rm01, "/api/v1/tasks")
    assert task == next(t for t in listed if t["id"] == str(bank.tasks["rm01"]))
    assert {k: v for k, v in local.items() if k[0] != "task"} == {
        k: v for k, v in app.local.items() if k[0] not in ("task", "note", "notification")
    }

    # Catching up, v1 gets the task change and not the new note nor the read notification.
    started = await client.post(f"/api/v1/tasks/{bank.tasks['rm01']}/start", headers=rm01)
    assert started.status_code == 200, started.text
    await add_note(client, rm01, bank.customers["C-2"], "v1 看不到")
    read = await client.post(
        f"/api/v1/notifications/{bank.notifications['rm01']}/read", headers=rm01
    )
    assert read.status_code == 200, read.text
    changes, cursor = await pull_all(client, rm01, cursor, schema=1, db=db)
    assert ops(changes) == [("task", "upsert", str(bank.tasks["rm01"]))]
    assert changes[0]["data"]["status"] == "in_progress"
    assert "form" not in changes[0]["data"]

    # The app updated to schema 2: its v1 rows are not what v2 continues from.
    response = await client.post(PULL, json={"schema_version": 2, "cursor": cursor}, headers=rm01)
    assert_problem(response, 409, "sync.reset_required")


# ---- a revoked device ------------------------------------------------------------------------


async def test_a_revoked_device_is_told_to_wipe_and_nothing_else(client, db, bank, rm01):
    _, cursor = await pull_all(client, rm01, db=db)
    revoked = await client.post(
        f"/api/v1/admin/devices/{device('rm01')['device_id']}/revoke", headers=bank.admin
    )
    assert revoked.status_code == 200, revoked.text

    for body in ({"schema_version": 2, "cursor": cursor}, {"schema_version": 2}):
        response = await client.post(PULL, json=body, headers=rm01)
        assert response.status_code == 200, response.text
        assert response.json() == {"changes": [], "cursor": None, "has_more": False, "wipe": True}
    tasks = await client.get("/api/v1/tasks", headers=rm01)
    assert_problem(tasks, 403, "auth.device_revoked")
    pushed = await client.post(PUSH, json={"client_id": "a", "mutations": []}, headers=rm01)
    assert_problem(pushed, 403, "auth.device_revoked")
    # Another device of the same RM still syncs.
    other = await headers_of(client, "rm01", device_no=2)
    assert (await pull(client, other))["wipe"] is False


# ---- "nothing changed" from Redis ------------------------------------------------------------


async def test_an_up_to_date_device_is_told_nothing_changed_once_the_feed_has_run(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        assert await app.sync() == []
        assert await app.sync() == []
        note = await add_note(client, rm01, bank.customers["C-2"], "新的拜访")
        await worker.step(db)
        assert ops(await app.sync()) == [("note", "upsert", note)]
        assert await app.sync() == []
        assert app.local == await fresh_state(client, rm01)


async def test_a_pull_falls_back_to_the_database_when_redis_forgot_the_feed(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        assert await app.sync() == []
        note = await add_note(client, rm01, bank.customers["C-2"], "Redis 重启后")
        await worker.step(db)
        # Redis restarts empty after the feed recorded the note; the feed goes on from there.
        await worker.forget_everything()
        await worker.step(db)
        assert ops(await app.sync()) == [("note", "upsert", note)]
        assert app.local == await fresh_state(client, rm01)


async def test_a_change_the_feed_has_not_processed_yet_is_never_skipped(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        note = await add_note(client, rm01, bank.customers["C-2"], "feed 尚未处理")
        await settled(db)
        # Pulled before the feed saw the note: either it comes now, or the cursor stays before
        # it; it is never passed over.
        first = await app.sync()
        assert ops(first) in ([], [("note", "upsert", note)])
        await worker.step(db)
        second = await app.sync()
        assert sorted(ops(first + second)) == [("note", "upsert", note)]
        assert app.local == await fresh_state(client, rm01)


async def test_an_app_pulling_right_after_its_push_gets_its_own_changes_back(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        note_id = str(uuid.uuid4())
        response = await client.post(
            PUSH,
            json={"client_id": "tablet", "mutations": [{"id": 1, "name": "note.add", "args": {
                "customer_id": str(bank.customers["C-2"]), "id": note_id, "text": "离线拜访",
                "kind": "visit"}}]},
            headers=rm01,
        )  # fmt: skip
        assert response.json()["results"][0]["status"] == "applied", response.text
        await settled(db)
        # The feed has not seen the note yet; the app's pull still brings it back at once.
        assert ops(await app.sync()) == [("note", "upsert", note_id)]
        assert app.local == await fresh_state(client, rm01)


async def test_an_app_pulling_right_after_its_own_online_write_gets_it_back(
    client, db, settings, bank, rm01
):
    """Read-your-writes: the feed's Redis summary lags the commit, yet the RM's next pull
    carries the note the API just answered for; once the feed has passed it, Redis answers."""
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        assert await app.sync() == []
        note = await add_note(client, rm01, bank.customers["C-2"], "刚刚写的拜访记录")
        # No feed step: Redis still says "nothing changed" for rm01's partition.
        assert ops(await app.sync()) == [("note", "upsert", note)]
        await worker.step(db)
        state = client.app.state
        working = state.pool
        unreachable = await create_pool(settings.database_url, max_size=1)
        await unreachable.close()
        state.pool = unreachable
        try:  # the feed has passed the write: Redis alone answers again
            assert await app.sync() == []
        finally:
            state.pool = working
        assert app.local == await fresh_state(client, rm01)


async def test_another_users_change_reaches_the_device_once_the_feed_has_run(
    client, db, settings, bank, rm01
):
    """A change made by someone else (a bank feed) is not a write of the RM's: it comes with
    the feed's next round, as before."""
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        response = await client.post(
            "/api/v1/integration/holdings:bulk-upsert",
            json={"holdings": [holding_row("C-2", "FUND1", "777.00", "2026-11-20")]},
            headers=bank.admin,
        )
        assert response.status_code == 200, response.text
        await settled(db)
        first = await app.sync()
        await worker.step(db)
        second = await app.sync()
        assert [e for e, _, _ in ops(first + second)] == ["holding"]
        assert app.local == await fresh_state(client, rm01)


async def test_a_change_recorded_while_redis_was_unreachable_is_not_skipped(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        note = await add_note(client, rm01, bank.customers["C-2"], "Redis 短暂不可达")
        await settled(db)
        # One feed round while Redis is unreachable (a network blip), then Redis is back.
        unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        pool = await create_pool(settings.database_url, max_size=1)
        try:
            blind = type(worker)(pool, unreachable, settings)
            await blind.step()
        finally:
            await unreachable.aclose()
            await pool.close()
        await worker.step(db)
        changes = await app.sync()
        changes += await app.sync()
        assert ops(changes) == [("note", "upsert", note)]
        assert app.local == await fresh_state(client, rm01)


async def test_an_up_to_date_pull_is_answered_while_the_database_is_unreachable(
    client, db, settings, bank, rm01
):
    async with feed_worker(settings, db) as worker:
        app = App(client, rm01, db)
        await app.sync()
        await worker.step(db)
        state = client.app.state
        working = state.pool
        unreachable = await create_pool(settings.database_url, max_size=1)
        await unreachable.close()  # any acquire fails
        state.pool = unreachable
        try:
            response = await client.post(
                PULL, json={"schema_version": 2, "cursor": app.cursor}, headers=rm01
            )
        finally:
            state.pool = working
        assert response.status_code == 200, response.text
        assert response.json()["changes"] == []
        assert response.json()["has_more"] is False


async def test_a_signed_out_or_revoked_device_is_refused_even_when_nothing_changed(
    client, db, settings, bank, rm01
):
    """The revocation check and the sync state are one Redis read: neither is skipped."""
    async with feed_worker(settings, db) as worker:
        tablet = App(client, await headers_of(client, "rm01", device_no=2), db)
        phone = App(client, rm01, db)
        await tablet.sync()
        await phone.sync()
        await worker.step(db)
        assert await tablet.sync() == []
        assert await phone.sync() == []

        signed_out = await client.post("/api/v1/auth/logout", headers=tablet.headers)
        assert signed_out.status_code == 204, signed_out.text
        response = await client.post(
            PULL, json={"schema_version": 2, "cursor": tablet.cursor}, headers=tablet.headers
        )
        assert_problem(response, 401, "auth.session_ended")

        revoked = await client.post(
            f"/api/v1/admin/devices/{device('rm01')['device_id']}/revoke", headers=bank.admin
        )
        assert revoked.status_code == 200, revoked.text
        response = await client.post(
            PULL, json={"schema_version": 2, "cursor": phone.cursor}, headers=rm01
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"changes": [], "cursor": None, "has_more": False, "wipe": True}

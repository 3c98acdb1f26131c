"""Event rules: events from the bank's data platform create a task for the customer's owning RM
when a rule matches, at most once per customer per rule window; events are recorded."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
RULES = f"{API}/task-rules"
EVENTS = f"{API}/integration/events"
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


async def make_template(client: Any, headers: dict[str, str], **extra: Any) -> str:
    body = {"name": "大额变动回访", "form": FORM, **extra}
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


def rule_body(template_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Large inflow",
        "event_kind": "balance_movement",
        "field": "amount",
        "op": "gte",
        "value": 1_000_000,
        "template_id": template_id,
        "within_days": 30,
        "due_in_hours": 48,
        **overrides,
    }


async def make_rule(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(RULES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


def event(external_id: str, at: datetime, kind: str = "balance_movement", **data: Any) -> dict:
    return {"kind": kind, "customer_external_id": external_id, "occurred_at": at.isoformat(),
            "data": data}  # fmt: skip


async def send(client: Any, headers: dict[str, str], events: list[dict[str, Any]]) -> dict:
    response = await client.post(EVENTS, json={"events": events}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def add_customers(
    client: Any, db: Any, admin: dict[str, str], owners: dict[str, str]
) -> dict[str, uuid.UUID]:
    rows = [customer_row(ext, name=f"客户{n}", owner=owner, seq=n)
            for n, (ext, owner) in enumerate(owners.items())]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    return await customer_ids(db, list(owners))


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select now()")
    return now


@pytest.fixture
async def setup(client: Any, db: Any) -> dict[str, Any]:
    """Admin headers, two customers (rm01's C1, rm05's C2), a template with reminders, a rule."""
    admin = await headers_of(client, "admin")
    ids = await add_customers(client, db, admin, {"C1": "rm01", "C2": "rm05"})
    template_id = await make_template(
        client, admin, reminders=[{"minutes_before_due": 1440}, {"minutes_before_due": 60}]
    )
    rule = await make_rule(client, admin, rule_body(template_id))
    return {"admin": admin, "ids": ids, "template_id": template_id, "rule": rule}


# ---- managing rules --------------------------------------------------------------------------


async def test_admin_creates_and_lists_rules(client, db, setup):
    rule = setup["rule"]
    assert rule == {
        "id": rule["id"],
        "name": "Large inflow",
        "event_kind": "balance_movement",
        "field": "amount",
        "op": "gte",
        "value": 1_000_000,
        "template_id": setup["template_id"],
        "within_days": 30,
        "due_in_hours": 48,
        "active": True,
    }
    other = await make_rule(
        client, setup["admin"],
        {k: v for k, v in rule_body(setup["template_id"], name="VIP", op="in",
                                     value=["vip", "private"], field="segment").items()
         if k != "due_in_hours"},
    )  # fmt: skip
    assert other["due_in_hours"] == 72  # the default
    listed = await client.get(RULES, headers=setup["admin"])
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["items"]] == [rule["id"], other["id"]]
    assert await db.fetchval("select count(*) from task_rules") == 2


@pytest.mark.parametrize("who", ["bh.east", "rm01", "marketing", "compliance"])
async def test_only_admins_manage_rules_and_send_events(client, db, setup, who):
    caller = await headers_of(client, who)
    now = await db_now(db)
    answers = [
        await client.post(RULES, json=rule_body(setup["template_id"]), headers=caller),
        await client.get(RULES, headers=caller),
        await client.post(EVENTS, json={"events": [event("C1", now, amount=5_000_000)]},
                          headers=caller),
    ]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "auth.forbidden"
    assert await db.fetchval("select count(*) from task_rules") == 1
    assert await db.fetchval("select count(*) from integration_events") == 0
    assert await db.fetchval("select count(*) from tasks") == 0


async def test_rule_for_an_unknown_template_is_not_found(client, db, setup):
    response = await client.post(RULES, json=rule_body(str(uuid.uuid4())), headers=setup["admin"])
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "template.not_found"
    assert await db.fetchval("select count(*) from task_rules") == 1


@pytest.mark.parametrize(
    ("overrides", "path"),
    [({"op": "between"}, "$.op"), ({"op": ">="}, "$.op"), ({"within_days": 0}, "$.within_days"),
     ({"due_in_hours": 0}, "$.due_in_hours"), ({"event_kind": ""}, "$.event_kind")],
)  # fmt: skip
async def test_bad_rules_are_rejected_per_field(client, db, setup, overrides, path):
    response = await client.post(
        RULES, json=rule_body(setup["template_id"], **overrides), headers=setup["admin"]
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "request.validation_failed"
    assert [e["path"] for e in problem["errors"]] == [path]
    assert await db.fetchval("select count(*) from task_rules") == 1


@pytest.mark.parametrize(
    ("op", "value"),
    [("gte", [1, 2]), ("in", 5), ("in", "vip"), ("in", []), ("gt", "abc"), ("lt", True),
     ("lte", ["1"])],
)  # fmt: skip
async def test_a_value_its_op_can_never_match_is_refused(client, db, setup, op, value):
    response = await client.post(
        RULES, json=rule_body(setup["template_id"], op=op, value=value), headers=setup["admin"]
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "task_rule.bad_value"
    assert [e["path"] for e in problem["errors"]] == ["$.value"]
    assert await db.fetchval("select count(*) from task_rules") == 1


@pytest.mark.parametrize(
    ("op", "value"),
    [("gt", "250000.00"), ("lte", -5), ("in", [1, "vip", True]), ("eq", "vip"), ("ne", [1])],
)  # fmt: skip
async def test_a_value_its_op_can_compare_is_accepted(client, setup, op, value):
    await make_rule(client, setup["admin"], rule_body(setup["template_id"], op=op, value=value))


# ---- firing ----------------------------------------------------------------------------------


async def test_matching_event_creates_one_task_for_the_owning_rm(client, db, setup):
    now = await db_now(db)
    result = await send(client, setup["admin"], [event("C1", now, amount=1_500_000)])
    assert result == {"accepted": 1, "tasks_created": 1, "rejected": []}

    task = await db.fetchrow(
        "select id, assignee_id, customer_id, rule_id, template_id, template_version, title,"
        " status, due_at, created_at, dispatch_id from tasks"
    )
    assert task["assignee_id"] == user("rm01")
    assert task["customer_id"] == setup["ids"]["C1"]
    assert str(task["rule_id"]) == setup["rule"]["id"]
    assert (str(task["template_id"]), task["template_version"]) == (setup["template_id"], 1)
    assert (task["title"], task["status"], task["dispatch_id"]) == ("大额变动回访", "pending", None)
    assert task["due_at"] - task["created_at"] == timedelta(hours=48)
    reminders = await db.fetch(
        "select user_id, kind, offset_minutes, send_at, status from task_reminders"
        " where task_id = $1 order by send_at",
        task["id"],
    )
    due = task["due_at"]
    assert [tuple(r.values()) for r in reminders] == [
        (user("rm01"), "before_due", 1440, due - timedelta(minutes=1440), "pending"),
        (user("rm01"), "before_due", 60, due - timedelta(minutes=60), "pending"),
        (user("rm01"), "at_due", 0, due, "pending"),
    ]
    # The RM sees it in the inbox.
    rm01 = await headers_of(client, "rm01")
    inbox = await client.get(f"{API}/tasks", headers=rm01)
    assert [t["id"] for t in inbox.json()["items"]] == [str(task["id"])]


async def test_a_rule_fires_once_per_customer_per_window(client, db, setup):
    admin, ids = setup["admin"], setup["ids"]
    now = await db_now(db)
    earlier = now - timedelta(days=3)
    first = await send(client, admin, [event("C1", earlier, amount=2_000_000)])
    assert first["tasks_created"] == 1
    second = await send(client, admin, [event("C1", now, amount=3_000_000)])
    assert second == {"accepted": 1, "tasks_created": 0, "rejected": []}
    # Another customer is not held back by C1's window.
    assert (await send(client, admin, [event("C2", now, amount=1_000_000)]))["tasks_created"] == 1
    assert await db.fetchval("select count(*) from tasks where customer_id = $1", ids["C1"]) == 1

    # Still inside the 30-day window (fired 29 days ago): nothing.
    await db.execute("update task_rule_firings set fired_at = $1 where customer_id = $2",
                     now - timedelta(days=29), ids["C1"])  # fmt: skip
    assert (await send(client, admin, [event("C1", now, amount=2_000_000)]))["tasks_created"] == 0

    # Past the window: it fires again, once.
    await db.execute("update task_rule_firings set fired_at = $1 where customer_id = $2",
                     now - timedelta(days=31), ids["C1"])  # fmt: skip
    batch = [event("C1", now, amount=2_000_000), event("C1", now, amount=4_000_000)]
    assert (await send(client, admin, batch))["tasks_created"] == 1
    assert await db.fetchval("select count(*) from tasks where customer_id = $1", ids["C1"]) == 2
    assert await send(client, admin, batch) == {"accepted": 2, "tasks_created": 0, "rejected": []}
    assert await db.fetchval("select count(*) from tasks") == 3


async def test_events_that_do_not_match_create_nothing_but_are_recorded(client, db, setup):
    now = await db_now(db)
    events = [
        event("C1", now, amount=999_999.99),  # below the threshold
        event("C1", now, currency="CNY"),  # no amount at all
        event("C1", now, amount=None),
        event("C1", now, amount="a lot"),
        event("C1", now, amount=True),
        event("C1", now, amount=[2_000_000]),
        event("C1", now, kind="login", amount=5_000_000),  # another kind of event
        # not numbers to compare with (a NaN once made the whole batch a 500)
        *(event("C1", now, amount=text) for text in ("NaN", "sNaN", "-NaN", "Infinity")),
    ]
    result = await send(client, setup["admin"], events)
    assert result == {"accepted": 11, "tasks_created": 0, "rejected": []}
    assert await db.fetchval("select count(*) from tasks") == 0
    assert await db.fetchval("select count(*) from task_rule_firings") == 0
    assert await db.fetchval("select count(*) from integration_events") == 11


@pytest.mark.parametrize(
    "far",
    [
        datetime(9999, 12, 31, 23, tzinfo=UTC),
        # in the year 10000 in UTC: no Python time holds it (once a 500 for the whole batch)
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=14))),
    ],
)
async def test_an_event_dated_outside_the_years_is_rejected_and_holds_no_window(
    client, db, setup, far
):
    now = await db_now(db)
    result = await send(client, setup["admin"], [event("C1", far, amount=2_000_000)])
    assert result["accepted"] == 0
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(0, "event.bad_time")]
    assert result["rejected"][0]["detail"] == "occurred_at must lie within the years 2000 to 2999"
    # The rule's window was not taken by it: a real event the same day fires.
    assert (await send(client, setup["admin"], [event("C1", now, amount=2_000_000)]))[
        "tasks_created"
    ] == 1


@pytest.mark.parametrize("ahead", ["2999-01-01", "two hours"])
async def test_an_event_dated_ahead_is_rejected_alone_and_holds_no_window(client, db, setup, ahead):
    """An event that has not happened yet would hold its rule's window shut for the customer
    until its date: a real event today would create nothing."""
    now = await db_now(db)
    future = datetime(2999, 1, 1, tzinfo=UTC) if ahead == "2999-01-01" else now + timedelta(hours=2)
    batch = [event("C1", future, amount=2_000_000), event("C2", now, amount=2_000_000)]
    result = await send(client, setup["admin"], batch)
    assert (result["accepted"], result["tasks_created"]) == (1, 1)  # the rest of the batch lands
    assert result["rejected"] == [{
        "index": 0, "code": "event.bad_time",
        "detail": "occurred_at is in the future (more than 1 hour ahead of the server's clock)",
    }]  # fmt: skip
    assert await db.fetchval("select count(*) from integration_events") == 1
    assert (await send(client, setup["admin"], [event("C1", now, amount=2_000_000)]))[
        "tasks_created"
    ] == 1


async def test_an_event_a_little_ahead_of_our_clock_is_taken(client, db, setup):
    """The data platform's clock may run a little fast: within an hour is fine."""
    soon = await db_now(db) + timedelta(minutes=30)
    result = await send(client, setup["admin"], [event("C1", soon, amount=2_000_000)])
    assert result == {"accepted": 1, "tasks_created": 1, "rejected": []}


OPS = [  # (op, rule value, event value, fires)
    ("gt", 100_000, 100_001, True),
    ("gt", 100_000, 100_000, False),
    ("gt", 100_000, "250000.00", True),  # amounts sent as decimal strings
    ("gt", 100_000, "abc", False),
    ("gte", 100_000, 100_000, True),
    ("gte", 100_000, 99_999.99, False),
    ("lt", 10, 9.5, True),
    ("lt", 10, 10, False),
    ("lte", 10, 10, True),
    ("lte", 10, 10.01, False),
    ("lte", -5, -5.0, True),
    ("eq", 5, 5.0, True),
    ("eq", 5, 6, False),
    ("eq", "vip", "vip", True),
    ("eq", "vip", "VIP", False),
    ("eq", True, True, True),
    ("ne", "closed", "open", True),
    ("ne", "closed", "closed", False),
    ("ne", 0, 1, True),
    ("ne", 0, 0.0, False),
    ("in", ["vip", "private"], "private", True),
    ("in", ["vip", "private"], "mass", False),
    ("in", [1, 2, 3], 2, True),
    ("in", [1, 2, 3], 4, False),
]


async def test_every_operator_with_numbers_and_strings(client, db, setup):
    admin = setup["admin"]
    names = {}
    for n, (op, value, _, _) in enumerate(OPS):
        body = rule_body(setup["template_id"], name=f"rule-{n}", event_kind=f"kind-{n}",
                         field="x", op=op, value=value)  # fmt: skip
        names[(await make_rule(client, admin, body))["id"]] = n
    now = await db_now(db)
    events = [event("C1", now, kind=f"kind-{n}", x=actual) for n, (*_, actual, _) in enumerate(OPS)]

    result = await send(client, admin, events)
    fired = {names[str(r["rule_id"])] for r in await db.fetch("select rule_id from tasks")}
    expected = {n for n, case in enumerate(OPS) if case[3]}
    assert {n: OPS[n] for n in fired ^ expected} == {}  # the cases that went wrong
    assert result["tasks_created"] == len(expected)


async def test_one_event_matching_two_rules_creates_a_task_per_rule(client, db, setup):
    admin = setup["admin"]
    other_template = await make_template(client, admin, name="另一个模板")
    second = await make_rule(client, admin, rule_body(other_template, op="gt", value=0))
    now = await db_now(db)

    result = await send(client, admin, [event("C1", now, amount=1_000_000)])
    assert result["tasks_created"] == 2
    rows = await db.fetch("select rule_id, title from tasks order by title")
    assert {(str(r["rule_id"]), r["title"]) for r in rows} == {
        (setup["rule"]["id"], "大额变动回访"),
        (second["id"], "另一个模板"),
    }


async def test_rule_tasks_follow_the_current_owner_and_template_version(client, db, setup):
    admin = setup["admin"]
    moved = customer_row("C1", name="客户0", owner="rm03", seq=0)
    assert (await feed(client, admin, "customers", [moved]))["updated"] == 1
    edited = {"name": "新版回访", "form": FORM, "reminders": []}
    response = await client.put(
        f"{API}/task-templates/{setup['template_id']}", json=edited, headers=admin
    )
    assert response.status_code == 200, response.text
    now = await db_now(db)

    assert (await send(client, admin, [event("C1", now, amount=1_000_000)]))["tasks_created"] == 1
    task = await db.fetchrow("select id, assignee_id, template_version, title from tasks")
    assert (task["assignee_id"], task["template_version"], task["title"]) == (
        user("rm03"), 2, "新版回访"
    )  # fmt: skip
    kinds = await db.fetch("select kind from task_reminders where task_id = $1", task["id"])
    assert [r["kind"] for r in kinds] == ["at_due"]


async def test_unknown_customers_are_rejected_with_their_index(client, db, setup):
    now = await db_now(db)
    events = [
        event("C1", now, amount=10),
        event("NOBODY", now, amount=5_000_000),
        event("C2", now, amount=5_000_000),
        event("C9", now, amount=5_000_000),
    ]
    result = await send(client, setup["admin"], events)
    assert result["accepted"] == 2
    assert result["tasks_created"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "event.unknown_customer"),
        (3, "event.unknown_customer"),
    ]
    assert await db.fetchval("select count(*) from integration_events") == 2
    assert [r["assignee_id"] for r in await db.fetch("select assignee_id from tasks")] == [
        user("rm05")
    ]


async def test_events_are_recorded(client, db, setup):
    occurred = (await db_now(db)).replace(microsecond=0) - timedelta(hours=2)
    events = [
        event("C1", occurred, amount=12.5, channel="branch"),
        event("C2", occurred + timedelta(minutes=1), kind="login", device="ios"),
    ]
    await send(client, setup["admin"], events)
    rows = await db.fetch(
        "select kind, customer_id, occurred_at, data::text as data, received_at <= now() as past"
        " from integration_events order by id"
    )
    assert [(r["kind"], r["customer_id"], r["occurred_at"], json.loads(r["data"]), r["past"])
            for r in rows] == [
        ("balance_movement", setup["ids"]["C1"], occurred, {"amount": 12.5, "channel": "branch"},
         True),
        ("login", setup["ids"]["C2"], occurred + timedelta(minutes=1), {"device": "ios"}, True),
    ]  # fmt: skip


@pytest.fixture
def shanghai_clock() -> Iterator[None]:
    """This process (the API server of the tests) keeps local time in Asia/Shanghai."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("shanghai_clock")
async def test_an_event_time_without_an_offset_is_utc(client, db, setup):
    """`2026-12-01T00:00:00` is `2026-12-01T00:00:00+00:00`: checked, stored and counted in the
    rule's window as that instant, whatever the time zone of the server or the session."""
    await db.execute("set timezone = 'Asia/Shanghai'")
    at = (await db_now(db)).astimezone(UTC).replace(microsecond=0) - timedelta(hours=2)
    naive = event("C1", at.replace(tzinfo=None), amount=2_000_000)
    assert naive["occurred_at"].endswith(f"{at:%H:%M:%S}")  # sent without an offset
    result = await send(client, setup["admin"], [naive, event("C2", at, amount=2_000_000)])
    assert result == {"accepted": 2, "tasks_created": 2, "rejected": []}
    stored = await db.fetch(
        "select e.customer_id, e.occurred_at, f.fired_at from integration_events e"
        " join task_rule_firings f using (customer_id) order by e.id"
    )
    assert [(r["customer_id"], r["occurred_at"], r["fired_at"]) for r in stored] == [
        (setup["ids"]["C1"], at, at),
        (setup["ids"]["C2"], at, at),
    ]


async def test_an_events_customer_key_is_trimmed_as_in_every_feed(client, db, setup):
    # " C1 " was an unknown customer here while the customer feed took it as C1.
    at = await db_now(db) - timedelta(minutes=5)
    result = await send(client, setup["admin"], [event(" C1 ", at, amount=2_000_000)])
    assert result == {"accepted": 1, "tasks_created": 1, "rejected": []}


async def test_events_are_validated_per_field(client, db, setup):
    # An event left without its time is rejected alone, naming the field; the others land.
    at = await db_now(db) - timedelta(minutes=5)
    events = [{"kind": "balance_movement", "customer_external_id": "C1"}, event("C2", at)]
    result = await send(client, setup["admin"], events)
    assert result["accepted"] == 1
    [rejected] = result["rejected"]
    assert (rejected["index"], rejected["code"]) == (0, "row.invalid")
    assert rejected["detail"].startswith("$.occurred_at: ")
    assert await db.fetchval("select count(*) from integration_events") == 1


async def test_concurrent_batches_for_one_customer_fire_once(make_client, db, setup):
    one, two = await make_client(), await make_client()
    now = await db_now(db)
    batches = [[event("C1", now, amount=2_000_000)],
               [event("C1", now + timedelta(seconds=1), amount=3_000_000)]]  # fmt: skip
    answers = await asyncio.gather(
        one.post(EVENTS, json={"events": batches[0]}, headers=setup["admin"]),
        two.post(EVENTS, json={"events": batches[1]}, headers=setup["admin"]),
    )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sum(a.json()["tasks_created"] for a in answers) == 1
    assert await db.fetchval("select count(*) from tasks") == 1
    assert await db.fetchval("select count(*) from task_rule_firings") == 1
    assert await db.fetchval("select count(*) from integration_events") == 2


async def test_event_for_a_customer_of_an_inactive_rm_is_recorded_without_a_task(client, db, setup):
    await db.execute("update users set active = false where login = 'rm01'")
    now = await db_now(db)

    result = await send(client, setup["admin"], [event("C1", now, amount=2_000_000)])
    # The customer exists: the event is kept (not reported as an unknown customer), but there is
    # no active RM to give a task to.
    assert result == {"accepted": 1, "tasks_created": 0, "rejected": []}
    assert await db.fetchval("select customer_id from integration_events") == setup["ids"]["C1"]
    assert await db.fetchval("select count(*) from tasks") == 0


async def test_an_events_padded_customer_key_lands_as_in_every_feed(client, db, setup):
    # A fixed-width column padded past 64 characters: the batch was refused whole (422, `length
    # <= 64`), the good event with it.
    at = await db_now(db) - timedelta(minutes=5)
    events = [event("C1" + " " * 70, at, amount=2_000_000), event("C2", at, amount=10)]
    result = await send(client, setup["admin"], events)
    assert result == {"accepted": 2, "tasks_created": 1, "rejected": []}
    assert await db.fetchval("select count(*) from integration_events") == 2
    # Over 64 once trimmed (as no customer's key is) or spaces only: rejected alone.
    events = [event("X" * 65, at), event(" " * 3, at), event("C2", at)]
    result = await send(client, setup["admin"], events)
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (0, "event.unknown_customer"),
        (1, "event.unknown_customer"),
    ]
    assert result["accepted"] == 1


async def test_an_events_kind_is_trimmed_and_a_blank_one_rejected_alone(client, db, setup):
    # " balance_movement " was stored as it came and matched no rule, silently; "   " too.
    at = await db_now(db) - timedelta(minutes=5)
    events = [
        event("C1", at, kind=" balance_movement ", amount=2_000_000),
        event("C2", at, kind="   ", amount=2_000_000),
        event("C2", at, kind="login"),
    ]
    result = await send(client, setup["admin"], events)
    assert result["accepted"] == 2
    assert result["tasks_created"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, "event.bad_kind")]
    kinds = await db.fetch("select kind from integration_events order by id")
    assert [r["kind"] for r in kinds] == ["balance_movement", "login"]
    assert [r["assignee_id"] for r in await db.fetch("select assignee_id from tasks")] == [
        user("rm01")
    ]


async def test_an_event_of_a_customer_the_bank_closed_gives_no_task(client, db, setup):
    # The customer left the bank (the feed's status: closed): no RM is to follow them up.
    closed = {**customer_row("C1", name="客户0", owner="rm01", seq=0), "status": "closed"}
    assert (await feed(client, setup["admin"], "customers", [closed]))["updated"] == 1
    at = await db_now(db) - timedelta(minutes=5)
    result = await send(client, setup["admin"], [event("C1", at, amount=2_000_000)])
    assert result["tasks_created"] == 0
    assert await db.fetchval("select count(*) from tasks where customer_id = $1",
                             setup["ids"]["C1"]) == 0  # fmt: skip

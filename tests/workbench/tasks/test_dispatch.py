"""Dispatch: a template to every active RM of an org subtree, or to a customer list routed to
each customer's owning RM (capped per RM); scope, idempotency and due times."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, timedelta
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
EAST_RMS = ("rm01", "rm02", "rm03", "rm04")
WEST_RMS = ("rm05", "rm06", "rm07", "rm08")


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


async def make_template(client: Any, headers: dict[str, str], **fields: Any) -> str:
    body = {"name": "客户回访 Visit", "form": FORM, **fields}
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def post_dispatch(
    client: Any, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(f"{API}/dispatches", json=body, headers={**headers, **extra})


async def dispatched(
    client: Any, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    response = await post_dispatch(client, headers, body, key)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def to_unit(template_id: str, unit_key: str, **extra: Any) -> dict[str, Any]:
    return {"template_id": template_id, "title": "Q4 回访", "org_unit_id": str(unit(unit_key)),
            **extra}  # fmt: skip


def to_customers(template_id: str, ids: list[Any], **extra: Any) -> dict[str, Any]:
    customers = [str(i) for i in ids]
    return {"template_id": template_id, "title": "大额客户回访", "customer_ids": customers, **extra}


async def task_count(db: Any) -> int:
    count: int = await db.fetchval("select count(*) from tasks")
    return count


# ---- to an org subtree -----------------------------------------------------------------------


async def test_unit_dispatch_gives_one_task_to_each_active_rm_of_the_subtree(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    await db.execute("update users set active = false where login = 'rm02'")

    result = await dispatched(client, admin, to_unit(template_id, "branch-east"))
    assert result["created"] == 3
    assert (result["skipped"], result["not_found"]) == (0, 0)

    rows = await db.fetch(
        "select assignee_id, customer_id, title, status, dispatch_id, template_id,"
        " template_version, period_start from tasks"
    )
    # rm02 is inactive; bh.east (branch head) and the west RMs are no RMs of this dispatch.
    assert sorted(r["assignee_id"] for r in rows) == sorted(
        user(u) for u in ("rm01", "rm03", "rm04")
    )
    for row in rows:
        assert row["customer_id"] is None
        assert row["title"] == "Q4 回访"
        assert row["status"] == "pending"
        assert str(row["dispatch_id"]) == result["id"]
        assert (str(row["template_id"]), row["template_version"]) == (template_id, 1)
        assert row["period_start"] is None
    recorded = await db.fetchrow(
        "select created, skipped, not_found, org_unit_id, created_by from dispatches"
    )
    assert dict(recorded) == {
        "created": 3, "skipped": 0, "not_found": 0,
        "org_unit_id": unit("branch-east"), "created_by": user("admin"),
    }  # fmt: skip


async def test_unit_dispatch_to_a_team_and_to_the_whole_bank(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)

    team = await dispatched(client, admin, to_unit(template_id, "team-west-2"))
    assert team["created"] == 2
    bank = await dispatched(client, admin, to_unit(template_id, "head-office"))
    assert bank["created"] == 8

    per_dispatch = await db.fetch(
        "select dispatch_id, array_agg(assignee_id) as who from tasks group by dispatch_id"
    )
    assigned = {str(r["dispatch_id"]): sorted(r["who"]) for r in per_dispatch}
    assert assigned[team["id"]] == sorted([user("rm07"), user("rm08")])
    assert assigned[bank["id"]] == sorted(user(u) for u in EAST_RMS + WEST_RMS)


async def test_branch_head_dispatches_to_own_subtree_only(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)  # owned by head office: visible to all
    east = await headers_of(client, "bh.east")

    mine = await dispatched(client, east, to_unit(template_id, "team-east-2"))
    assert mine["created"] == 2

    for other in ("branch-west", "team-west-1", "head-office"):
        response = await post_dispatch(client, east, to_unit(template_id, other))
        assert response.status_code == 404, (other, response.text)
        assert response.json()["code"] == "org_unit.not_found"
    assert await task_count(db) == 2
    assert await db.fetchval("select count(*) from dispatches") == 1


async def test_branch_head_cannot_dispatch_another_branchs_template(client, db):
    admin = await headers_of(client, "admin")
    west_template = await make_template(client, admin, owner_unit_id=str(unit("branch-west")))
    east = await headers_of(client, "bh.east")

    response = await post_dispatch(client, east, to_unit(west_template, "team-east-1"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "template.not_found"
    assert await task_count(db) == 0


@pytest.mark.parametrize("who", ["rm01", "marketing", "compliance"])
async def test_only_admins_and_branch_heads_dispatch(client, db, who):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    caller = await headers_of(client, who)

    response = await post_dispatch(client, caller, to_unit(template_id, "team-east-1"))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "auth.forbidden"
    assert await task_count(db) == 0
    assert await db.fetchval("select count(*) from dispatches") == 0


@pytest.mark.parametrize(
    "targets",
    [{}, {"org_unit_id": str(unit("team-east-1")), "customer_ids": []},
     {"org_unit_id": str(unit("team-east-1")), "customer_ids": [str(uuid.uuid4())]}],
    ids=["neither", "both-empty-list", "both"],
)  # fmt: skip
async def test_dispatch_needs_exactly_one_target(client, db, targets):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)

    body = {"template_id": template_id, "title": "x", **targets}
    response = await post_dispatch(client, admin, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "dispatch.target_required"
    assert await task_count(db) == 0
    assert await db.fetchval("select count(*) from dispatches") == 0


async def test_unknown_template_is_not_found(client, db):
    admin = await headers_of(client, "admin")
    response = await post_dispatch(client, admin, to_unit(str(uuid.uuid4()), "team-east-1"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "template.not_found"
    assert await task_count(db) == 0


# ---- to a customer list ----------------------------------------------------------------------


async def feed_customers(
    client: Any, db: Any, admin: dict[str, str], owners: dict[str, str], start: int = 0
) -> dict[str, uuid.UUID]:
    rows = [
        customer_row(ext, name=f"客户{start + n}", owner=owner, seq=start + n)
        for n, (ext, owner) in enumerate(owners.items())
    ]
    result = await feed(client, admin, "customers", rows)
    assert result["rejected"] == [], result
    return await customer_ids(db, list(owners))


async def test_customer_dispatch_routes_each_customer_to_its_owner_with_a_cap(client, db):
    admin = await headers_of(client, "admin")
    owners = {"A1": "rm01", "A2": "rm01", "A3": "rm01", "A4": "rm01", "B1": "rm02", "W1": "rm05"}
    ids = await feed_customers(client, db, admin, owners)
    template_id = await make_template(client, admin)
    east = await headers_of(client, "bh.east")

    unknown = uuid.uuid4()
    wanted = [ids["A4"], ids["B1"], ids["A2"], ids["W1"], ids["A4"], unknown, ids["A1"],
              ids["A3"], ids["B1"]]  # fmt: skip
    result = await dispatched(client, east, to_customers(template_id, wanted, per_rm_cap=2))
    # rm01: A4 and A2 (the first two given), A1 and A3 over the cap; rm02: B1 once;
    # W1 belongs to the west branch and `unknown` does not exist: both not found.
    assert (result["created"], result["skipped"], result["not_found"]) == (3, 2, 2)

    rows = await db.fetch("select customer_id, assignee_id, title from tasks")
    got = {r["customer_id"]: r["assignee_id"] for r in rows}
    assert got == {ids["A4"]: user("rm01"), ids["A2"]: user("rm01"), ids["B1"]: user("rm02")}
    assert {r["title"] for r in rows} == {"大额客户回访"}
    recorded = await db.fetchrow("select created, skipped, not_found, per_rm_cap from dispatches")
    assert dict(recorded) == {"created": 3, "skipped": 2, "not_found": 2, "per_rm_cap": 2}


async def test_admin_customer_dispatch_reaches_every_branch_without_cap(client, db):
    admin = await headers_of(client, "admin")
    owners = {"A1": "rm01", "A2": "rm01", "W1": "rm05", "W2": "rm08"}
    ids = await feed_customers(client, db, admin, owners)
    template_id = await make_template(client, admin)

    result = await dispatched(client, admin, to_customers(template_id, list(ids.values())))
    assert (result["created"], result["skipped"], result["not_found"]) == (4, 0, 0)
    rows = await db.fetch("select customer_id, assignee_id from tasks")
    assert {r["customer_id"]: r["assignee_id"] for r in rows} == {
        ids["A1"]: user("rm01"), ids["A2"]: user("rm01"),
        ids["W1"]: user("rm05"), ids["W2"]: user("rm08"),
    }  # fmt: skip


async def test_customer_dispatch_with_nobody_in_scope_creates_nothing(client, db):
    admin = await headers_of(client, "admin")
    ids = await feed_customers(client, db, admin, {"W1": "rm05", "W2": "rm06"})
    template_id = await make_template(client, admin)
    east = await headers_of(client, "bh.east")

    result = await dispatched(client, east, to_customers(template_id, list(ids.values())))
    assert (result["created"], result["skipped"], result["not_found"]) == (0, 0, 2)
    assert await task_count(db) == 0


async def test_large_customer_dispatch_creates_every_task_and_reminder(client, db):
    total, batch = 5_200, 2_600
    admin = await headers_of(client, "admin")
    for first in range(0, total, batch):
        rows = [
            customer_row(f"BULK-{n}", name=f"客户{n}", owner=EAST_RMS[n % 4], seq=n)
            for n in range(first, first + batch)
        ]
        result = await feed(client, admin, "customers", rows)
        assert (result["inserted"], result["rejected"]) == (batch, [])
    ids = list((await customer_ids(db)).values())
    assert len(ids) == total
    template_id = await make_template(
        client, admin, sla_hours=24, reminders=[{"minutes_before_due": 60}]
    )

    result = await dispatched(client, admin, to_customers(template_id, ids), key="bulk-1")
    assert (result["created"], result["skipped"], result["not_found"]) == (total, 0, 0)
    assert await task_count(db) == total
    per_rm = await db.fetch("select assignee_id, count(*) as n from tasks group by assignee_id")
    assert {r["assignee_id"]: r["n"] for r in per_rm} == {user(u): total // 4 for u in EAST_RMS}
    assert await db.fetchval("select count(distinct customer_id) from tasks") == total
    # Every task has its reminder an hour before and one at the due time.
    assert await db.fetchval("select count(*) from task_reminders") == 2 * total

    # Capped at 1,000 per RM: the rest are reported as skipped.
    capped = await dispatched(client, admin, to_customers(template_id, ids, per_rm_cap=1000))
    assert (capped["created"], capped["skipped"], capped["not_found"]) == (4000, 1200, 0)
    assert await task_count(db) == total + 4000


# ---- idempotency -----------------------------------------------------------------------------


async def test_same_key_and_body_answers_the_same_and_creates_nothing_twice(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    body = to_unit(template_id, "branch-east")

    first = await dispatched(client, admin, body, key="key-1")
    assert first["created"] == 4
    again = await dispatched(client, admin, body, key="key-1")
    assert again == first
    assert await task_count(db) == 4
    assert await db.fetchval("select count(*) from dispatches") == 1

    # A different key is a new dispatch.
    other = await dispatched(client, admin, body, key="key-2")
    assert other["id"] != first["id"]
    assert other["created"] == 4
    assert await task_count(db) == 8


async def test_same_key_with_another_body_is_a_conflict(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    await dispatched(client, admin, to_unit(template_id, "branch-east"), key="key-1")

    for changed in (
        to_unit(template_id, "branch-west"),
        {**to_unit(template_id, "branch-east"), "title": "another title"},
    ):
        response = await post_dispatch(client, admin, changed, key="key-1")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "dispatch.idempotency_key_reused"
    assert await task_count(db) == 4
    assert await db.fetchval("select count(*) from dispatches") == 1


async def test_keys_are_per_caller(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    east = await headers_of(client, "bh.east")
    body = to_unit(template_id, "team-east-1")

    mine = await dispatched(client, admin, body, key="shared-key")
    theirs = await dispatched(client, east, body, key="shared-key")
    assert mine["id"] != theirs["id"]
    assert (mine["created"], theirs["created"]) == (2, 2)
    assert await task_count(db) == 4


async def test_an_empty_key_is_refused_not_taken_as_a_key(client, db):
    """An empty key would make every keyless-looking retry collide with the first dispatch
    (or, taken as absent, silently lose the retry protection the client asked for)."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    response = await post_dispatch(client, admin, to_unit(template_id, "team-east-1"), key="")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "request.validation_failed"
    assert [e["path"] for e in problem["errors"]] == ["header.Idempotency-Key"]
    assert await task_count(db) == 0


async def test_without_a_key_every_request_creates(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    body = to_unit(template_id, "team-east-1")

    first = await dispatched(client, admin, body)
    second = await dispatched(client, admin, body)
    assert first["id"] != second["id"]
    assert await task_count(db) == 4
    assert await db.fetchval("select count(*) from dispatches") == 2


async def test_concurrent_requests_with_one_key_create_one_set_of_tasks(make_client, db):
    one, two = await make_client(), await make_client()
    admin = await headers_of(one, "admin")
    template_id = await make_template(one, admin)
    ids = await feed_customers(one, db, admin, {f"C{n}": EAST_RMS[n % 4] for n in range(20)})
    bodies = [to_unit(template_id, "head-office"), to_customers(template_id, list(ids.values()))]

    for n, body in enumerate(bodies):
        answers = await asyncio.gather(
            post_dispatch(one, admin, body, key=f"race-{n}"),
            post_dispatch(two, admin, body, key=f"race-{n}"),
        )
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
    assert await db.fetchval("select count(*) from dispatches") == 2
    assert await task_count(db) == 8 + 20
    assert await db.fetchval(
        "select count(*) from (select assignee_id, customer_id, dispatch_id from tasks"
        " group by 1, 2, 3 having count(*) > 1) d"
    ) == 0  # fmt: skip


# ---- due times -------------------------------------------------------------------------------


async def test_given_due_time_is_used(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, sla_hours=48)
    due = (await db.fetchval("select date_trunc('second', now())")) + timedelta(days=3, hours=5)

    await dispatched(client, admin, to_unit(template_id, "team-east-1", due_at=due.isoformat()))
    assert [r["due_at"] for r in await db.fetch("select due_at from tasks")] == [due, due]


@pytest.mark.parametrize("due", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_a_due_time_beyond_the_calendar_is_refused_and_nothing_dispatched(client, db, due):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, sla_hours=48)
    response = await post_dispatch(client, admin, to_unit(template_id, "team-east-1", due_at=due))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "task.due_out_of_range"
    assert await task_count(db) == 0


@pytest.mark.parametrize("due", ["2020-01-01T00:00:00Z", "a minute ago"])
async def test_a_due_time_already_passed_is_refused_and_nothing_dispatched(client, db, due):
    """As when moving a due time: a task born overdue would get no reminder at all, and the
    at-due reminder is what schedules its escalation."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, sla_hours=48)
    if due == "a minute ago":
        due = ((await db.fetchval("select now()")) - timedelta(minutes=1)).isoformat()
    body = to_customers(template_id, [uuid.uuid4()], due_at=due)
    for n, request in enumerate((to_unit(template_id, "team-east-1", due_at=due), body)):
        response = await post_dispatch(client, admin, request, key=f"past-{n}")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "task.due_in_past"
    assert await task_count(db) == 0
    assert await db.fetchval("select count(*) from dispatches") == 0
    assert await db.fetchval("select count(*) from task_reminders") == 0


async def test_a_due_time_without_an_offset_is_read_as_utc(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    due = (await db.fetchval("select date_trunc('second', now())")) + timedelta(days=2)
    zoneless = due.astimezone(UTC).replace(tzinfo=None).isoformat()

    await dispatched(client, admin, to_unit(template_id, "team-east-1", due_at=zoneless))
    assert [r["due_at"] for r in await db.fetch("select due_at from tasks")] == [due, due]
    # And one in the past, written without an offset, is refused like any other.
    past = (due - timedelta(days=3)).astimezone(UTC).replace(tzinfo=None).isoformat()
    response = await post_dispatch(client, admin, to_unit(template_id, "team-east-1", due_at=past))
    assert response.json()["code"] == "task.due_in_past"


async def test_a_retry_after_the_due_time_passed_answers_the_earlier_result(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    due = (await db.fetchval("select now()")) + timedelta(seconds=1)
    body = to_unit(template_id, "team-east-1", due_at=due.isoformat())
    first = await dispatched(client, admin, body, key="soon")
    await asyncio.sleep((due - await db.fetchval("select now()")).total_seconds() + 0.1)
    assert await dispatched(client, admin, body, key="soon") == first
    assert await task_count(db) == 2


async def test_a_recurring_dispatch_refuses_a_due_time_it_cannot_use(client, db):
    """A series' tasks are due at the end of each period (README): a given due time would be
    dropped without a word."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, recurrence="FREQ=WEEKLY;BYDAY=MO")
    due = (await db.fetchval("select now()")) + timedelta(days=2)
    response = await post_dispatch(
        client, admin, to_unit(template_id, "team-east-1", due_at=due.isoformat())
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "dispatch.due_at_not_applicable"
    assert await task_count(db) == 0
    await dispatched(client, admin, to_unit(template_id, "team-east-1"))
    assert await task_count(db) == 2


async def test_a_unit_dispatch_refuses_a_cap_per_rm(client, db):
    """A unit dispatch gives each RM one task: a cap per RM only limits a customer list."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    response = await post_dispatch(client, admin, to_unit(template_id, "branch-east", per_rm_cap=1))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "dispatch.per_rm_cap_not_applicable"
    assert await task_count(db) == 0
    assert await db.fetchval("select count(*) from dispatches") == 0


async def test_without_due_time_the_template_sla_sets_it(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, sla_hours=48)

    await dispatched(client, admin, to_unit(template_id, "team-east-1"))
    rows = await db.fetch("select due_at, created_at, now() as db_now from tasks")
    assert len(rows) == 2
    for row in rows:
        assert abs(row["due_at"] - (row["created_at"] + timedelta(hours=48))) < timedelta(minutes=1)
        assert abs(row["due_at"] - (row["db_now"] + timedelta(hours=48))) < timedelta(minutes=1)


async def test_without_due_time_or_sla_there_is_no_due_time(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, reminders=[{"minutes_before_due": 60}])

    await dispatched(client, admin, to_unit(template_id, "team-east-1"))
    assert [r["due_at"] for r in await db.fetch("select due_at from tasks")] == [None, None]
    assert await db.fetchval("select count(*) from task_reminders") == 0


async def test_dispatch_reminders_are_recorded_for_every_task(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(
        client, admin, reminders=[{"minutes_before_due": 60}, {"minutes_before_due": 1440}]
    )
    due = (await db.fetchval("select date_trunc('second', now())")) + timedelta(days=5)

    await dispatched(client, admin, to_unit(template_id, "branch-east", due_at=due.isoformat()))
    rows = await db.fetch(
        "select t.assignee_id, r.user_id, r.kind, r.offset_minutes, r.send_at, r.status"
        " from task_reminders r join tasks t on t.id = r.task_id"
    )
    expected = {
        (user(rm), kind, minutes, due - timedelta(minutes=minutes), "pending")
        for rm in EAST_RMS
        for kind, minutes in (("before_due", 1440), ("before_due", 60), ("at_due", 0))
    }
    assert len(rows) == len(expected) == 12
    assert {(r["user_id"], r["kind"], r["offset_minutes"], r["send_at"], r["status"])
            for r in rows} == expected  # fmt: skip
    assert all(r["user_id"] == r["assignee_id"] for r in rows)


@pytest.mark.parametrize("who", ["admin", "bh.east"])
async def test_an_empty_customer_list_is_no_target_and_stores_nothing(client, db, who):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    caller = await headers_of(client, who)

    body = {"template_id": template_id, "title": "Q4 回访", "customer_ids": []}
    for key in (None, "empty-list"):  # with an Idempotency-Key, nothing is claimed either
        response = await post_dispatch(client, caller, body, key)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "dispatch.target_required"
    assert await task_count(db) == 0
    assert await db.fetchval("select count(*) from dispatches") == 0
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'dispatch.created'")
        == 0
    )
    listed = await client.get(f"{API}/dispatches", headers=caller)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []

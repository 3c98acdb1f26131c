"""A template reaches only RMs whose units see it (owned on their path to the head office, or
below them): a dispatch to a unit, or to customers of an RM, that does not see its template is
refused (422 `dispatch.template_not_visible`, naming the template and the unit); and a series'
new period never gives an RM whose unit does not (or no longer does) see the template a version
of it other than the one dispatched, so a template's editors never decide what RMs who cannot
see it fill in. Event rules, which reach the RMs of the whole bank, take only templates every
unit sees."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import DISPATCHES, TASKS, TEMPLATES, unit
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKLY = "FREQ=WEEKLY"
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
# What the template's owner adds later: a field every RM of the series would have to fill in.
WITH_A_REQUIRED_FIELD = {
    "name": "周报 v2",
    "form": {
        "fields": [
            *FORM["fields"],
            {"key": "pipeline", "label": "商机金额", "type": "number", "required": True},
        ]
    },
    "recurrence": WEEKLY,
    "reminders": [{"minutes_before_due": 30}],
}


async def weekly_template(client: Any, headers: dict[str, str], **extra: Any) -> str:
    body = {"name": "周报", "form": FORM, "recurrence": WEEKLY,
            "reminders": [{"minutes_before_due": 120}], **extra}  # fmt: skip
    response = await client.post(TEMPLATES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def post_dispatch(
    client: Any, headers: dict[str, str], template_id: str, **target: Any
) -> Any:
    body = {"template_id": template_id, "title": "x", **target}
    return await client.post(DISPATCHES, json=body, headers=headers)


async def dispatched(client: Any, headers: dict[str, str], template_id: str, **target: Any) -> str:
    response = await post_dispatch(client, headers, template_id, **target)
    assert response.status_code == 201, response.text
    dispatch_id: str = response.json()["id"]
    return dispatch_id


def assert_not_visible(response: Any, template_id: str, unit_key: str, target: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "dispatch.template_not_visible"
    assert template_id in problem["detail"]
    assert str(unit(unit_key)) in problem["detail"]
    assert [e["path"] for e in problem["errors"]] == ["$.template_id", target]


async def counts(db: Any) -> tuple[int, int]:
    dispatches = await db.fetchval("select count(*) from dispatches")
    tasks = await db.fetchval("select count(*) from tasks")
    return int(dispatches), int(tasks)


async def tasks_of(db: Any, dispatch_id: str) -> list[Any]:
    return await db.fetch(
        "select t.id, u.login, t.period_start, t.due_at, t.template_version from tasks t"
        " join users u on u.id = t.assignee_id where t.dispatch_id = $1"
        " order by t.period_start, u.login",
        uuid.UUID(dispatch_id),
    )


async def reminder_offsets(db: Any, task_id: uuid.UUID) -> list[int]:
    rows = await db.fetch(
        "select offset_minutes from task_reminders where task_id = $1 order by 1", task_id
    )
    return [r["offset_minutes"] for r in rows]


async def form_keys(client: Any, login: str, task_id: uuid.UUID) -> list[str]:
    detail = await client.get(f"{TASKS}/{task_id}", headers=await headers_of(client, login))
    assert detail.status_code == 200, detail.text
    return [f["key"] for f in detail.json()["form"]["fields"]]


async def edit(client: Any, headers: dict[str, str], template_id: str) -> None:
    put = await client.put(f"{TEMPLATES}/{template_id}", json=WITH_A_REQUIRED_FIELD,
                           headers=headers)  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2


# ---- dispatching ------------------------------------------------------------------------------


async def test_a_branch_heads_template_cannot_be_dispatched_to_another_branch(client, db):
    """The reported case: bh.east's weekly template, dispatched by an admin to West Team 1, gave
    rm05 tasks from a template neither rm05 nor bh.west can look up, and that bh.east edits."""
    east_head, admin = await headers_of(client, "bh.east"), await headers_of(client, "admin")
    template_id = await weekly_template(client, east_head)
    for login in ("bh.west", "rm05"):
        hidden = await client.get(f"{TEMPLATES}/{template_id}",
                                  headers=await headers_of(client, login))  # fmt: skip
        assert hidden.status_code == 404, (login, hidden.text)

    # The head office sees it (it is owned below it), the West Branch and its teams do not.
    for target, blind in (("team-west-1", "team-west-1"), ("branch-west", "branch-west"),
                          ("head-office", "branch-west")):  # fmt: skip
        refused = await post_dispatch(client, admin, template_id, org_unit_id=str(unit(target)))
        assert_not_visible(refused, template_id, blind, "$.org_unit_id")
    assert await counts(db) == (0, 0)

    # Within the branch that owns it, as before.
    dispatch_id = await dispatched(client, admin, template_id, org_unit_id=str(unit("team-east-1")))
    assert [t["login"] for t in await tasks_of(db, dispatch_id)] == ["rm01", "rm02"]


async def test_every_unit_of_the_subtree_must_see_the_template(client, db):
    """A template owned by a team is visible to that team and the units above it, not to the
    team beside it: a dispatch to the whole branch would reach the other team's RMs."""
    admin = await headers_of(client, "admin")
    template_id = await weekly_template(client, admin, owner_unit_id=str(unit("team-east-1")))
    refused = await post_dispatch(client, admin, template_id, org_unit_id=str(unit("branch-east")))
    assert_not_visible(refused, template_id, "team-east-2", "$.org_unit_id")
    # bh.east sees the template (it is owned below them) but team-east-2 does not.
    east_head = await headers_of(client, "bh.east")
    refused = await post_dispatch(
        client, east_head, template_id, org_unit_id=str(unit("team-east-2"))
    )
    assert_not_visible(refused, template_id, "team-east-2", "$.org_unit_id")
    assert await counts(db) == (0, 0)
    await dispatched(client, east_head, template_id, org_unit_id=str(unit("team-east-1")))


async def test_a_customer_list_reaches_only_rms_whose_units_see_the_template(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("E1", name="客户甲", owner="rm01", seq=1),
            customer_row("W1", name="客户乙", owner="rm05", seq=2)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    template_id = await weekly_template(client, await headers_of(client, "bh.east"))
    one_off = {"recurrence": None}
    visit = await client.post(
        TEMPLATES, json={"name": "拜访", "form": FORM, **one_off,
                         "owner_unit_id": str(unit("branch-east"))}, headers=admin,
    )  # fmt: skip
    assert visit.status_code == 201, visit.text

    for template in (template_id, visit.json()["id"]):
        both = [str(ids["E1"]), str(ids["W1"])]
        refused = await post_dispatch(client, admin, template, customer_ids=both)
        assert_not_visible(refused, template, "team-west-1", "$.customer_ids")
    assert await counts(db) == (0, 0)

    east_only = await dispatched(client, admin, template_id, customer_ids=[str(ids["E1"])])
    assert [t["login"] for t in await tasks_of(db, east_only)] == ["rm01"]


# ---- a series' new periods --------------------------------------------------------------------


async def test_a_unit_moved_away_keeps_the_version_it_was_dispatched(client, db, clock, job_ctx):
    """bh.east's weekly template goes to both East teams. Team 2 is then moved to the West
    Branch (it no longer sees the template) and bh.east adds a required field: Team 1's next
    tasks take the new version, Team 2's keep the one dispatched, with its reminders."""
    east_head, admin = await headers_of(client, "bh.east"), await headers_of(client, "admin")
    template_id = await weekly_template(client, east_head)
    clock(datetime(2026, 12, 9, 10, tzinfo=SHANGHAI))
    seen = await dispatched(client, east_head, template_id, org_unit_id=str(unit("team-east-1")))
    moved = await dispatched(client, admin, template_id, org_unit_id=str(unit("team-east-2")))
    first = await tasks_of(db, moved)
    assert [(t["login"], t["template_version"]) for t in first] == [("rm03", 1), ("rm04", 1)]

    name = await db.fetchval("select name from org_units where id = $1", unit("team-east-2"))
    move = await client.post(f"{API}/admin/org-units", headers=admin, json={
        "id": str(unit("team-east-2")), "name": name, "parent_id": str(unit("branch-west")),
    })  # fmt: skip
    assert move.status_code == 200, move.text
    await edit(client, east_head, template_id)

    clock(first[0]["due_at"] + timedelta(minutes=1))
    assert await jobs.open_recurring_periods(job_ctx) == 4
    week = first[0]["due_at"]
    team_1 = [t for t in await tasks_of(db, seen) if t["period_start"] == week]
    team_2 = [t for t in await tasks_of(db, moved) if t["period_start"] == week]
    assert [(t["login"], t["template_version"]) for t in team_1] == [("rm01", 2), ("rm02", 2)]
    assert [(t["login"], t["template_version"]) for t in team_2] == [("rm03", 1), ("rm04", 1)]
    assert await reminder_offsets(db, team_1[0]["id"]) == [0, 30]
    assert await reminder_offsets(db, team_2[0]["id"]) == [0, 120]
    assert await form_keys(client, "rm03", team_2[0]["id"]) == ["note"]
    assert await form_keys(client, "rm01", team_1[0]["id"]) == ["note", "pipeline"]


async def test_a_customer_handed_over_to_another_branch_keeps_the_version_dispatched(client, db):
    """A customer-list series of an East template: one customer is handed over to a West RM
    (their pending task with them). When the period's tasks are done the West RM's next task
    keeps the version dispatched; the East RM's takes the owner's new one."""
    admin = await headers_of(client, "admin")
    rows = [customer_row("E1", name="客户甲", owner="rm01", seq=1),
            customer_row("E2", name="客户乙", owner="rm03", seq=2)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    east_head = await headers_of(client, "bh.east")
    template_id = await weekly_template(client, east_head)
    dispatch_id = await dispatched(
        client, admin, template_id, customer_ids=[str(ids["E1"]), str(ids["E2"])]
    )
    first = await tasks_of(db, dispatch_id)
    assert [(t["login"], t["template_version"]) for t in first] == [("rm01", 1), ("rm03", 1)]

    handed = [customer_row("E1", name="客户甲", owner="rm05", seq=3)]
    assert (await feed(client, admin, "customers", handed))["rejected"] == []
    await edit(client, east_head, template_id)

    handed_over = await tasks_of(db, dispatch_id)
    assert [t["login"] for t in handed_over] == ["rm03", "rm05"]
    for task in handed_over:
        rm = await headers_of(client, task["login"])
        assert (await client.post(f"{TASKS}/{task['id']}/start", headers=rm)).status_code == 200
        done = await client.post(f"{TASKS}/{task['id']}/submit",
                                 json={"values": {"note": "完成"}}, headers=rm)  # fmt: skip
        assert done.status_code == 200, done.text
    later = [t for t in await tasks_of(db, dispatch_id) if t["period_start"] == first[0]["due_at"]]
    assert [(t["login"], t["template_version"]) for t in later] == [("rm03", 2), ("rm05", 1)]
    assert await form_keys(client, "rm05", later[1]["id"]) == ["note"]


# ---- event rules ------------------------------------------------------------------------------


async def test_a_rule_takes_only_a_template_every_unit_sees(client, db):
    """A rule gives tasks to the RM of any customer in the bank: a branch's template would let
    that branch's head decide what every other branch's RMs fill in."""
    admin = await headers_of(client, "admin")
    east = await weekly_template(client, await headers_of(client, "bh.east"), recurrence=None)
    bank = await weekly_template(client, admin, recurrence=None)
    rule = {"name": "大额", "event_kind": "balance_movement", "field": "amount", "op": "gte",
            "value": 500000, "within_days": 30}  # fmt: skip
    refused = await client.post(f"{API}/task-rules", json={**rule, "template_id": east},
                                headers=admin)  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "task_rule.template_not_visible"
    assert [e["path"] for e in refused.json()["errors"]] == ["$.template_id"]
    assert await db.fetchval("select count(*) from task_rules") == 0

    made = await client.post(f"{API}/task-rules", json={**rule, "template_id": bank},
                             headers=admin)  # fmt: skip
    assert made.status_code == 201, made.text
    moved = await client.patch(f"{API}/task-rules/{made.json()['id']}",
                               json={"template_id": east}, headers=admin)  # fmt: skip
    assert moved.status_code == 422, moved.text
    assert moved.json()["code"] == "task_rule.template_not_visible"
    assert await db.fetchval("select template_id from task_rules") == uuid.UUID(bank)

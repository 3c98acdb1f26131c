"""Changing event rules: an admin reads one rule, switches it off and on, and corrects it; an
inactive rule creates no tasks, an edited one fires on its new condition; creating and changing
rules is audited (field names, never values). Also: a yes/no in an event never equals a number
in a rule (`true` is not 1)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.tasks import test_event_rules as event_rules
from tests.workbench.tasks.test_event_rules import (
    API,
    RULES,
    event,
    make_rule,
    rule_body,
    send,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def make_template(client: Any, headers: dict[str, str], name: str = "大额变动回访") -> str:
    return await event_rules.make_template(client, headers, name=name)


async def edit(client: Any, headers: dict[str, str], rule_id: str, body: dict[str, Any]) -> Any:
    return await client.patch(f"{RULES}/{rule_id}", json=body, headers=headers)


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select now()")
    return now


async def audits(db: Any, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await db.fetch(
        "select action, subject, detail::text as detail from audit_events"
        " where action like $1 order by id",
        f"{prefix}.%",
    )
    return [(r["action"], r["subject"], json.loads(r["detail"])) for r in rows]


@pytest.fixture
async def setup(client: Any, db: Any) -> dict[str, Any]:
    """Admin headers, rm01's customer C1 and rm05's C2, a template and a rule (amount >= 1m)."""
    admin = await headers_of(client, "admin")
    rows = [customer_row("C1", name="客户甲", owner="rm01", seq=0),
            customer_row("C2", name="客户乙", owner="rm05", seq=1)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template_id = await make_template(client, admin)
    rule = await make_rule(client, admin, rule_body(template_id))
    ids = await customer_ids(db, ["C1", "C2"])
    return {"admin": admin, "ids": ids, "template_id": template_id, "rule": rule}


# ---- reading one rule ------------------------------------------------------------------------


async def test_an_admin_reads_one_rule(client, setup):
    got = await client.get(f"{RULES}/{setup['rule']['id']}", headers=setup["admin"])
    assert got.status_code == 200, got.text
    assert got.json() == setup["rule"]


async def test_an_unknown_rule_is_not_found(client, db, setup):
    unknown = uuid.uuid4()
    got = await client.get(f"{RULES}/{unknown}", headers=setup["admin"])
    patched = await edit(client, setup["admin"], str(unknown), {"active": False})
    for answer in (got, patched):
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "task_rule.not_found"
    assert await db.fetchval("select bool_and(active) from task_rules")


@pytest.mark.parametrize("who", ["bh.east", "rm01", "marketing", "compliance"])
async def test_only_admins_read_and_change_rules(client, db, setup, who):
    caller = await headers_of(client, who)
    rule_id = setup["rule"]["id"]
    for answer in (
        await client.get(f"{RULES}/{rule_id}", headers=caller),
        await edit(client, caller, rule_id, {"active": False}),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "auth.forbidden"
    assert await db.fetchval("select active from task_rules") is True


# ---- switching off and on ------------------------------------------------------------------


async def test_a_switched_off_rule_creates_no_tasks_until_switched_on(client, db, setup):
    admin, rule_id = setup["admin"], setup["rule"]["id"]
    off = await edit(client, admin, rule_id, {"active": False})
    assert off.status_code == 200, off.text
    assert off.json() == {**setup["rule"], "active": False}
    listed = await client.get(RULES, headers=admin)
    assert [(r["id"], r["active"]) for r in listed.json()["items"]] == [(rule_id, False)]

    now = await db_now(db)
    result = await send(client, admin, [event("C1", now, amount=5_000_000)])
    assert result == {"accepted": 1, "tasks_created": 0, "rejected": []}
    rm01 = await headers_of(client, "rm01")
    assert (await client.get(f"{API}/tasks", headers=rm01)).json()["items"] == []

    on = await edit(client, admin, rule_id, {"active": True})
    assert on.status_code == 200, on.text
    assert on.json()["active"] is True
    result = await send(client, admin, [event("C1", now, amount=5_000_000)])
    assert result["tasks_created"] == 1
    assert [
        t["title"] for t in (await client.get(f"{API}/tasks", headers=rm01)).json()["items"]
    ] == ["大额变动回访"]


async def test_a_rule_whose_value_no_longer_fits_can_still_be_switched_off(client, db, setup):
    """A rule stored before its value was checked (or by hand) is switched off all the same."""
    await db.execute("""update task_rules set op = 'gt', value = '"a lot"'""")
    off = await edit(client, setup["admin"], setup["rule"]["id"], {"active": False})
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False


# ---- correcting a rule -----------------------------------------------------------------------


async def test_a_corrected_rule_fires_on_its_new_condition(client, db, setup):
    """The wrong rule (amount > 0) gave C1's RM a task for a small movement; corrected to
    amount >= 1m, small movements create nothing and C1's next large one creates a task (the
    window the wrong condition held is not held against the right one)."""
    admin, rule_id = setup["admin"], setup["rule"]["id"]
    wrong = await edit(client, admin, rule_id, {"op": "gt", "value": 0})
    assert wrong.status_code == 200, wrong.text
    now = await db_now(db)
    assert (await send(client, admin, [event("C1", now, amount=10)]))["tasks_created"] == 1

    fixed = await edit(client, admin, rule_id, {"op": "gte", "value": 1_000_000})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["op"], fixed.json()["value"]) == ("gte", 1_000_000)
    small = [event("C1", now, amount=20), event("C2", now, amount=999_999)]
    assert (await send(client, admin, small))["tasks_created"] == 0
    large = [event("C1", now, amount=2_000_000), event("C2", now, amount=3_000_000)]
    assert (await send(client, admin, large))["tasks_created"] == 2
    assert await db.fetchval("select count(*) from tasks where customer_id = $1",
                             setup["ids"]["C1"]) == 2  # fmt: skip


async def test_an_edit_changes_what_it_names_and_keeps_the_rest(client, db, setup):
    admin, rule_id = setup["admin"], setup["rule"]["id"]
    other = await make_template(client, admin, name="VIP 回访")
    body = {"name": "  VIP login  ", "event_kind": "login", "field": "segment", "op": "in",
            "value": ["vip", "private"], "template_id": other, "within_days": 7,
            "due_in_hours": 24}  # fmt: skip
    answer = await edit(client, admin, rule_id, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**body, "name": "VIP login", "id": rule_id, "active": True}
    got = await client.get(f"{RULES}/{rule_id}", headers=admin)
    assert got.json() == answer.json()

    now = await db_now(db)
    events = [event("C1", now, amount=5_000_000),  # the old condition: nothing
              event("C2", now, kind="login", segment="private")]  # fmt: skip
    assert (await send(client, admin, events))["tasks_created"] == 1
    task = await db.fetchrow("select customer_id, title, due_at - created_at as due from tasks")
    assert (task["customer_id"], task["title"]) == (setup["ids"]["C2"], "VIP 回访")
    assert task["due"].total_seconds() == 24 * 3600


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"within_days": 0}, "request.validation_failed", "$.within_days"),
        ({"due_in_hours": 10_000}, "request.validation_failed", "$.due_in_hours"),
        ({"op": "between"}, "request.validation_failed", "$.op"),
        ({"event_kind": ""}, "request.validation_failed", "$.event_kind"),
        ({"active": "no"}, "request.validation_failed", "$.active"),
        ({"name": "   "}, "request.validation_failed", "$.name"),
        ({"name": "\u202eLarge inflow"}, "request.validation_failed", "$.name"),
        ({"value": "a lot"}, "task_rule.bad_value", "$.value"),
        ({"op": "in"}, "task_rule.bad_value", "$.op"),  # the value 1m is no list
        ({"op": "in", "value": []}, "task_rule.bad_value", "$.value"),
    ],
)
async def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(
    client, db, setup, body, code, path
):
    answer = await edit(client, setup["admin"], setup["rule"]["id"], {"active": False, **body})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == code
    assert [e["path"] for e in problem["errors"]] == [path]
    got = await client.get(f"{RULES}/{setup['rule']['id']}", headers=setup["admin"])
    assert got.json() == setup["rule"]
    assert await audits(db, "task_rule") == [
        ("task_rule.created", f"task_rule:{setup['rule']['id']}",
         {"template_id": setup["template_id"]}),
    ]  # fmt: skip


async def test_an_unknown_field_is_refused_not_ignored(client, db, setup):
    """`enabled: false` is not `active: false`: the rule would keep firing unnoticed."""
    answer = await edit(client, setup["admin"], setup["rule"]["id"], {"enabled": False})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "request.validation_failed"
    # Said at the field, in words.
    assert answer.json()["errors"] == [
        {"path": "$.enabled", "message": "is not a field this request takes"}
    ]
    assert await db.fetchval("select active from task_rules") is True


async def test_an_edit_to_an_unknown_template_is_not_found(client, setup):
    answer = await edit(
        client, setup["admin"], setup["rule"]["id"], {"template_id": str(uuid.uuid4())}
    )
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "template.not_found"


async def test_rule_names_must_show_something(client, db, setup):
    for name in ("   ", "\u200b\u200b", "Large\ninflow", "\u202ewolfni"):
        answer = await client.post(
            RULES, json=rule_body(setup["template_id"], name=name), headers=setup["admin"]
        )
        assert answer.status_code == 422, (name, answer.text)
        assert [e["path"] for e in answer.json()["errors"]] == ["$.name"]
    assert await db.fetchval("select count(*) from task_rules") == 1
    trimmed = await make_rule(client, setup["admin"], rule_body(setup["template_id"], name=" VIP "))
    assert trimmed["name"] == "VIP"


# ---- the audit trail -------------------------------------------------------------------------


async def test_creating_and_changing_rules_is_audited_by_field_name(client, db, setup):
    admin, rule_id = setup["admin"], setup["rule"]["id"]
    subject = f"task_rule:{rule_id}"
    await edit(client, admin, rule_id, {"active": False})
    await edit(client, admin, rule_id, {"value": 2_000_000, "name": "Larger inflow"})
    await edit(client, admin, rule_id, {"value": 2_000_000, "active": False})  # nothing new
    assert await audits(db, "task_rule") == [
        ("task_rule.created", subject, {"template_id": setup["template_id"]}),
        ("task_rule.updated", subject, {"changed": ["active"]}),
        ("task_rule.updated", subject, {"changed": ["name", "value"]}),
    ]
    actors = await db.fetch(
        "select distinct actor_id from audit_events where action like 'task_rule.%'"
    )
    assert [a["actor_id"] for a in actors] == [
        await db.fetchval("select id from users where login = 'admin'")
    ]
    # Never a value: neither the name nor the threshold appears in the trail.
    assert (
        await db.fetchval(
            "select count(*) from audit_events where detail::text like any($1)",
            ["%inflow%", "%2000000%"],
        )
        == 0
    )


# ---- a yes/no is not a number ---------------------------------------------------------------

YES_NO = [  # (op, rule value, event value, fires)
    ("eq", 1, True, False),
    ("eq", 0, False, False),
    ("eq", True, 1, False),
    ("eq", False, 0, False),
    ("eq", True, True, True),
    ("eq", False, False, True),
    ("eq", 1, 1.0, True),
    ("eq", [1, "a"], [True, "a"], False),
    ("eq", [1, "a"], [1.0, "a"], True),
    ("ne", 1, True, True),
    ("ne", False, 0, True),
    ("ne", True, True, False),
    ("in", [1, 2], True, False),
    ("in", [0], False, False),
    ("in", [True], 1, False),
    ("in", [True, "vip"], True, True),
    ("in", [False], False, True),
    ("in", [1, 2, 3], 2.0, True),
    ("in", [1, 2, 3], "2", True),  # as `eq` 2 matches an amount sent as "2"
]


async def test_a_yes_no_never_equals_a_number(client, db, setup):
    admin = setup["admin"]
    names = {}
    for n, (op, value, _, _) in enumerate(YES_NO):
        body = rule_body(setup["template_id"], name=f"rule-{n}", event_kind=f"kind-{n}",
                         field="level", op=op, value=value)  # fmt: skip
        names[(await make_rule(client, admin, body))["id"]] = n
    now = await db_now(db)
    events = [
        event("C1", now, kind=f"kind-{n}", level=actual) for n, (*_, actual, _) in enumerate(YES_NO)
    ]
    result = await send(client, admin, events)
    fired = {names[str(r["rule_id"])] for r in await db.fetch("select rule_id from tasks")}
    expected = {n for n, case in enumerate(YES_NO) if case[3]}
    assert {n: YES_NO[n] for n in fired ^ expected} == {}  # the cases that went wrong
    assert result["tasks_created"] == len(expected)

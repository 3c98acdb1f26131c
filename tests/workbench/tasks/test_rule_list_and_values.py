"""Event rules as the API keeps and shows them: `GET /task-rules` answers a page as every list
does (`?array=true`, deprecated, the bare array of before); a number value comes back as it was
sent (a whole number stays whole); an `event_kind` is trimmed as events' kinds are, and a blank
one is refused naming it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.tasks.test_event_rules import (
    RULES,
    add_customers,
    db_now,
    event,
    make_rule,
    make_template,
    rule_body,
    send,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_rules_come_as_pages_and_the_bare_array_on_request(client):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    made = [await make_rule(client, admin, rule_body(template_id, name=f"规则 {n}"))
            for n in range(3)]  # fmt: skip

    first = await client.get(RULES, params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    assert [r["id"] for r in first.json()["items"]] == [made[0]["id"], made[1]["id"]]
    cursor = first.json()["next_cursor"]
    assert cursor
    rest = await client.get(RULES, params={"limit": 2, "cursor": cursor}, headers=admin)
    assert rest.json() == {"items": [made[2]], "next_cursor": None}

    bare = await client.get(RULES, params={"array": "true", "limit": 1}, headers=admin)
    assert bare.status_code == 200, bare.text
    assert bare.json() == made

    bad = await client.get(RULES, params={"cursor": "not-a-cursor"}, headers=admin)
    assert bad.status_code == 400, bad.text
    assert bad.json()["code"] == "request.bad_cursor"


def value_of(response: Any) -> Any:
    """The `value` of a rule as the JSON text holds it (an int stays an int in Python)."""
    return json.loads(response.text)["value"]


async def test_a_number_value_comes_back_as_it_was_sent(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    made = await client.post(RULES, json=rule_body(template_id, value=100000), headers=admin)
    assert made.status_code == 201, made.text
    assert '"value":100000,' in made.text.replace(" ", "")
    assert type(value_of(made)) is int
    rule_id = made.json()["id"]
    read = await client.get(f"{RULES}/{rule_id}", headers=admin)
    assert type(value_of(read)) is int
    assert value_of(read) == 100000
    listed = await client.get(RULES, headers=admin)
    [item] = json.loads(listed.text)["items"]
    assert type(item["value"]) is int

    fraction = await client.patch(f"{RULES}/{rule_id}", json={"value": 2.5}, headers=admin)
    assert fraction.status_code == 200, fraction.text
    assert value_of(fraction) == 2.5
    listed_in = await client.patch(
        f"{RULES}/{rule_id}", json={"op": "in", "value": [1, 2.5, "vip"]}, headers=admin
    )
    assert listed_in.status_code == 200, listed_in.text
    values = value_of(listed_in)
    assert values == [1, 2.5, "vip"]
    assert [type(v) for v in values] == [int, float, str]

    # A rule stored before whole numbers were kept whole shows its value whole too.
    await db.execute(
        "update task_rules set op = 'gte', value = '500000.0'::jsonb where id = $1",
        uuid.UUID(rule_id),
    )
    old = await client.get(f"{RULES}/{rule_id}", headers=admin)
    assert type(value_of(old)) is int
    assert value_of(old) == 500000


async def test_an_event_kind_is_trimmed_and_its_events_fire_the_rule(client, db):
    admin = await headers_of(client, "admin")
    await add_customers(client, db, admin, {"C1": "rm01"})
    template_id = await make_template(client, admin)
    rule = await make_rule(client, admin, rule_body(template_id, event_kind=" balance_movement "))
    assert rule["event_kind"] == "balance_movement"
    stored = await db.fetchval(
        "select event_kind from task_rules where id = $1", uuid.UUID(rule["id"])
    )
    assert stored == "balance_movement"

    result = await send(client, admin, [event("C1", await db_now(db), amount=5_000_000)])
    assert result["tasks_created"] == 1

    edited = await client.patch(
        f"{RULES}/{rule['id']}", json={"event_kind": "\tlarge_outflow  "}, headers=admin
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["event_kind"] == "large_outflow"


@pytest.mark.parametrize("kind", ["   ", "\t\n"])
async def test_a_blank_event_kind_is_refused_naming_it(client, db, kind):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    made = await client.post(RULES, json=rule_body(template_id, event_kind=kind), headers=admin)
    assert made.status_code == 422, made.text
    assert [e["path"] for e in made.json()["errors"]] == ["$.event_kind"]
    assert await db.fetchval("select count(*) from task_rules") == 0

    rule = await make_rule(client, admin, rule_body(template_id))
    edit = await client.patch(f"{RULES}/{rule['id']}", json={"event_kind": kind}, headers=admin)
    assert edit.status_code == 422, edit.text
    assert [e["path"] for e in edit.json()["errors"]] == ["$.event_kind"]
    assert await db.fetchval("select event_kind from task_rules") == "balance_movement"

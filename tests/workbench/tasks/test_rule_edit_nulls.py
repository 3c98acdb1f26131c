"""PATCH /task-rules/{id}: a `null` is not "leave it". Every setting of a rule has a value, so a
null is refused with 422 naming the field (as POST /task-rules refuses it) and nothing changes;
a field left out still stays as it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import create_template

pytestmark = pytest.mark.usefixtures("demo_bank")

RULES = "/api/v1/task-rules"
EDITABLE = ("name", "event_kind", "field", "op", "value", "template_id", "within_days",
            "due_in_hours", "active")  # fmt: skip


@pytest.fixture
async def rule(client) -> dict[str, Any]:
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    body = {"name": "大额资金变动", "event_kind": "balance_movement", "field": "amount",
            "op": "gte", "value": 500000, "template_id": template["id"],
            "within_days": 30}  # fmt: skip
    made = await client.post(RULES, json=body, headers=admin)
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    return created


@pytest.mark.parametrize("name", EDITABLE)
async def test_a_null_is_refused_naming_its_field(client, db, rule, name):
    admin = await headers_of(client, "admin")
    response = await client.patch(f"{RULES}/{rule['id']}", json={name: None}, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "request.validation_failed"
    assert [e["path"] for e in problem["errors"]] == [f"$.{name}"]
    unchanged = await client.get(f"{RULES}/{rule['id']}", headers=admin)
    assert unchanged.json() == rule
    updates = "select count(*) from audit_events where action = 'task_rule.updated'"
    assert await db.fetchval(updates) == 0


async def test_a_null_beside_a_change_refuses_the_whole_edit(client, rule):
    """`{"active": false, "value": null}` switched the rule off and silently kept its value."""
    admin = await headers_of(client, "admin")
    response = await client.patch(f"{RULES}/{rule['id']}", json={"active": False, "value": None},
                                  headers=admin)  # fmt: skip
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["$.value"]
    assert (await client.get(f"{RULES}/{rule['id']}", headers=admin)).json()["active"] is True


async def test_what_is_left_out_still_stays(client, rule):
    admin = await headers_of(client, "admin")
    response = await client.patch(f"{RULES}/{rule['id']}", json={"active": False}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {**rule, "active": False}
    again = await client.patch(f"{RULES}/{rule['id']}", json={}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {**rule, "active": False}

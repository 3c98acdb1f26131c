"""The events feed checks each event on its own, its types too: an event with a value of the
wrong type, or a field left out, is rejected alone (`row.invalid`, naming the field in words),
the others are recorded and fire their rules; only a body that is no feed is refused whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import FEEDS, customer_row, feed, headers_of
from tests.test_feed_rows_customers import reads_in_words

pytestmark = pytest.mark.usefixtures("demo_bank")

EVENTS = f"{FEEDS}/events"


def event(customer: str, at: datetime, **data: Any) -> dict[str, Any]:
    return {"kind": "balance_movement", "customer_external_id": customer,
            "occurred_at": at.isoformat(), "data": data}  # fmt: skip


async def with_a_rule(client: Any, admin: dict[str, str]) -> None:
    """Customers C1 and C2 (rm01's, rm05's), and a rule: a movement of 1,000,000 makes a task."""
    rows = [customer_row("C1", name="王小明", seq=1), customer_row("C2", name="李小红", seq=2,
            owner="rm05")]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    form = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
    template = await client.post(
        "/api/v1/task-templates", json={"name": "大额变动回访", "form": form}, headers=admin
    )
    assert template.status_code == 201, template.text
    rule = {"name": "Large inflow", "event_kind": "balance_movement", "field": "amount",
            "op": "gte", "value": 1_000_000, "template_id": template.json()["id"],
            "within_days": 30, "due_in_hours": 48}  # fmt: skip
    created = await client.post("/api/v1/task-rules", json=rule, headers=admin)
    assert created.status_code == 201, created.text


async def test_an_event_of_the_wrong_type_is_rejected_alone(client, db):
    admin = await headers_of(client, "admin")
    await with_a_rule(client, admin)
    at = datetime.now(UTC) - timedelta(minutes=5)
    events: list[Any] = [event("C1" if n % 2 else "C2", at, amount=n) for n in range(8)]
    events[1] = event("C1", at, amount=2_000_000)  # fires the rule
    events[3] = {**events[3], "occurred_at": "yesterday"}
    events[4] = {k: v for k, v in events[4].items() if k != "kind"}
    events[5] = {**events[5], "data": [1, 2]}
    events[6] = {**events[6], "customer_external_id": "nobody"}  # a value: rejected as before

    answer = await client.post(EVENTS, json={"events": events}, headers=admin)

    assert answer.status_code == 200, answer.text
    result = answer.json()
    rejected = result.pop("rejected")
    assert result == {"accepted": 4, "tasks_created": 1}
    assert [(r["index"], r["code"]) for r in rejected] == [
        (3, "row.invalid"),
        (4, "row.invalid"),
        (5, "row.invalid"),
        (6, "event.unknown_customer"),
    ]
    assert reads_in_words(rejected[0]["detail"], "$.occurred_at", "date"), rejected
    assert reads_in_words(rejected[1]["detail"], "$.kind", "required"), rejected
    assert reads_in_words(rejected[2]["detail"], "$.data", "object"), rejected
    recorded = await db.fetch("select (data->>'amount')::int as amount from integration_events")
    assert sorted(r["amount"] for r in recorded) == [0, 2, 7, 2_000_000]
    assert await db.fetchval("select count(*) from tasks") == 1

    # Sent again: the same rejections; the rule does not fire twice in its window.
    again = await client.post(EVENTS, json={"events": events}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {"accepted": 4, "tasks_created": 0, "rejected": rejected}
    assert await db.fetchval("select count(*) from tasks") == 1


async def test_an_events_body_that_is_no_feed_is_refused_whole(client, db):
    admin = await headers_of(client, "admin")
    at = datetime.now(UTC)
    for body, path in [
        ([event("C1", at)], "$"),
        ({"events": event("C1", at)}, "$.events"),
        ({}, "$.events"),
        ({"events": [event("C1", at)] * 10_001}, "$.events"),
    ]:
        answer = await client.post(EVENTS, json=body, headers=admin)
        assert answer.status_code == 422, answer.text[:300]
        assert answer.json()["code"] == "request.validation_failed"
        assert [e["path"] for e in answer.json()["errors"]] == [path]
    assert await db.fetchval("select count(*) from integration_events") == 0

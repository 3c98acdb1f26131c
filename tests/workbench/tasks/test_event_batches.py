"""Events sent together give the tasks they would give sent one by one in date order: a rule
fires again for a customer once its window has passed since it last fired, also between two
events of one batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.tasks.test_event_rules import (
    add_customers,
    db_now,
    event,
    make_rule,
    make_template,
    rule_body,
    send,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def tasks_of(db: Any, customer: Any) -> int:
    return int(await db.fetchval("select count(*) from tasks where customer_id = $1", customer))


async def test_a_batch_fires_as_its_events_would_one_by_one(client, db):
    admin = await headers_of(client, "admin")
    ids = await add_customers(client, db, admin, {"B1": "rm01", "S1": "rm02"})
    template_id = await make_template(client, admin)
    await make_rule(client, admin, rule_body(template_id, value=1000, within_days=7))
    base = await db_now(db) - timedelta(days=40)

    # The reported case: two events 15 days apart, the later one first in the batch.
    pair = [event("B1", base + timedelta(days=15), amount=5000), event("B1", base, amount=1000)]
    assert (await send(client, admin, pair))["tasks_created"] == 2
    # Against the stored firing (day 15) and each other: day 18 is inside its window, day 22
    # plus an hour is past it, day 25 inside day 22's, day 30 past it.
    days = (18, 25, 30)
    later = [event("B1", base + timedelta(days=d), amount=2000) for d in days]
    later.append(event("B1", base + timedelta(days=22, hours=1), amount=2000))
    assert (await send(client, admin, later))["tasks_created"] == 2
    assert await tasks_of(db, ids["B1"]) == 4

    # The same events for another customer, one request each in date order: the same tasks.
    one_by_one = sorted((pair + later), key=lambda e: e["occurred_at"])
    created = [
        (await send(client, admin, [{**e, "customer_external_id": "S1"}]))["tasks_created"]
        for e in one_by_one
    ]
    assert created == [1, 1, 0, 1, 0, 1]
    assert await tasks_of(db, ids["S1"]) == 4

    # Both customers' windows now run from day 30: day 36 gives nothing, day 37 a task.
    assert (await send(client, admin, [event("B1", base + timedelta(days=36), amount=2000),
                                       event("S1", base + timedelta(days=36), amount=2000)])
            )["tasks_created"] == 0  # fmt: skip
    assert (await send(client, admin, [event("B1", base + timedelta(days=37), amount=2000),
                                       event("B1", base + timedelta(days=38), amount=2000)])
            )["tasks_created"] == 1  # fmt: skip

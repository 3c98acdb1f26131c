"""A customer-list dispatch tells apart the customers nobody can get a task for: `not_found`
(unknown, or outside the dispatcher's scope) and `no_active_rm` (in the scope, but owned by a
user who is no active RM: disabled, or given another role). A retry with the same
Idempotency-Key answers the same counts."""

from __future__ import annotations

import uuid

import pytest

from tests.customers_data import headers_of
from tests.workbench.tasks.test_dispatch import (
    dispatched,
    feed_customers,
    make_template,
    task_count,
    to_customers,
    user,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_customers_of_a_disabled_or_reassigned_owner_are_counted_apart(client, db):
    admin = await headers_of(client, "admin")
    owners = {"A1": "rm01", "A2": "rm01", "B1": "rm02", "C1": "rm03", "W1": "rm05"}
    ids = await feed_customers(client, db, admin, owners)
    template_id = await make_template(client, admin)
    east = await headers_of(client, "bh.east")
    await db.execute("update users set active = false where id = $1", user("rm01"))
    await db.execute("update users set role = 'marketing' where id = $1", user("rm03"))

    wanted = [ids["A1"], ids["B1"], ids["A2"], ids["C1"], ids["W1"], uuid.uuid4(), ids["A1"]]
    body = to_customers(template_id, wanted)
    result = await dispatched(client, east, body, key="no-active-rm")
    # B1 gets its task; A1 and A2 (rm01 disabled) and C1 (rm03 now in marketing) have nobody;
    # W1 lies in the west branch and the random id is no customer: not found.
    assert (result["created"], result["skipped"]) == (1, 0)
    assert (result["not_found"], result["no_active_rm"]) == (2, 3)
    assert await task_count(db) == 1

    again = await dispatched(client, east, body, key="no-active-rm")
    assert again == result
    assert await task_count(db) == 1

    # The admin's scope is the whole bank: only the random id is not found.
    everywhere = await dispatched(client, admin, body)
    assert (everywhere["created"], everywhere["not_found"], everywhere["no_active_rm"]) == (
        2, 1, 3,
    )  # fmt: skip

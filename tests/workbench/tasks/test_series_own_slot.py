"""Finishing a task of a customer list's series opens the next period for that task's customer
only: the RM's other customers get theirs when they finish their own or when the period
starts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.tasks.test_recurring_series import complete, dispatch, make_template

pytestmark = pytest.mark.usefixtures("demo_bank")


async def series(db: Any, dispatch_id: str) -> list[tuple[uuid.UUID, str, int]]:
    """(customer, status, period number from 0) of each task of the series."""
    rows = await db.fetch(
        "select customer_id, status, dense_rank() over (order by period_start) - 1 as n"
        " from tasks where dispatch_id = $1 order by n, customer_id",
        uuid.UUID(dispatch_id),
    )
    return [(r["customer_id"], r["status"], r["n"]) for r in rows]


async def test_done_opens_the_next_period_for_its_own_customer_only(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"D{n}", name=f"客户{n}", owner="rm02", seq=n) for n in (1, 2, 3)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    template_id = await make_template(client, admin, "FREQ=DAILY")
    wanted = [str(ids[e]) for e in ("D1", "D2", "D3")]
    dispatch_id = await dispatch(client, admin, template_id, customer_ids=wanted, per_rm_cap=2)
    first = await series(db, dispatch_id)
    assert first == sorted([(ids["D1"], "pending", 0), (ids["D2"], "pending", 0)])

    d1_task = await db.fetchval(
        "select id from tasks where dispatch_id = $1 and customer_id = $2",
        uuid.UUID(dispatch_id),
        ids["D1"],
    )
    await complete(client, await headers_of(client, "rm02"), d1_task)
    after = await series(db, dispatch_id)
    # D2's task of today is still pending: its next period waits (nor does D3, never in it).
    today = sorted([(ids["D1"], "done", 0), (ids["D2"], "pending", 0)])
    assert after == [*today, (ids["D1"], "pending", 1)]

"""A recurring series of a customer list opens no new period for a customer the bank closed:
their task of the period was cancelled (客户已销户) and no RM is to call on them again."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.tasks.test_dispatch_series import (
    SHANGHAI,
    dispatch,
    make_template,
    tasks_of,
)
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_a_closed_customer_gets_no_new_period(client, db, clock, job_ctx):
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"S-{n}", name=f"客户{n}", owner="rm01", seq=n) for n in (1, 2)]
    assert (await feed(client, admin, "customers", rows))["inserted"] == 2
    ids = await customer_ids(db)
    template_id = await make_template(client, admin)
    clock(datetime(2026, 12, 5, 7, tzinfo=SHANGHAI))
    dispatch_id = await dispatch(
        client, admin, template_id, customer_ids=[str(ids["S-1"]), str(ids["S-2"])]
    )
    first = await tasks_of(db, dispatch_id)
    assert len(first) == 2
    closed = {**rows[0], "status": "closed"}
    assert (await feed(client, admin, "customers", [closed]))["updated"] == 1

    clock(first[0]["due_at"] + timedelta(minutes=1))
    assert await jobs.open_recurring_periods(job_ctx) == 1
    new = await db.fetch(
        "select customer_id from tasks where dispatch_id = $1 and period_start = $2",
        uuid.UUID(dispatch_id),
        first[0]["due_at"],
    )
    assert [r["customer_id"] for r in new] == [ids["S-2"]]

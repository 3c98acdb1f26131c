"""A customer's owner given another role (the customers not yet handed over) gets no task about
them: not from an event rule, whose window for the customer stays unused, nor from a recurring
series' next period. Tasks go only to an active RM, as for an owner disabled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.tasks.test_event_rules import (
    db_now,
    event,
    make_rule,
    rule_body,
    send,
)
from tests.workbench.tasks.test_event_rules import make_template as make_rule_template
from tests.workbench.tasks.test_recurring_series import (
    MONTHLY_ON_THE_1ST,
    SHANGHAI,
    dispatch,
    make_template,
    rewind,
    series_tasks,
    user,
)
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")

USERS = "/api/v1/admin/users"


async def _set_role(client: Any, admin: dict[str, str], login: str, role: str) -> dict[str, Any]:
    changed = await client.patch(f"{USERS}/{user(login)}", headers=admin, json={"role": role})
    assert changed.status_code == 200, changed.text
    answer: dict[str, Any] = changed.json()
    return answer


async def test_an_event_for_a_customer_of_an_owner_made_marketing_makes_no_task(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("QA-R1", name="客户一", owner="rm02", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template_id = await make_rule_template(client, admin)
    await make_rule(client, admin, rule_body(template_id))
    await _set_role(client, admin, "rm02", "marketing")

    now = await db_now(db)
    result = await send(client, admin, [event("QA-R1", now, amount=2_000_000)])
    # The event is kept, but nobody who can work a task owns the customer.
    assert result == {"accepted": 1, "tasks_created": 0, "rejected": []}
    assert await db.fetchval("select count(*) from tasks") == 0
    assert await db.fetchval("select count(*) from task_rule_firings") == 0

    # The window was not used up: once an RM owns the customer again, the next event fires.
    await _set_role(client, admin, "rm02", "rm")
    result = await send(client, admin, [event("QA-R1", now, amount=2_000_000)])
    assert result == {"accepted": 1, "tasks_created": 1, "rejected": []}
    assert await db.fetchval("select assignee_id from tasks") == user("rm02")


async def test_a_series_next_period_skips_a_customer_whose_owner_is_no_longer_an_rm(
    client, db, job_ctx
):
    admin = await headers_of(client, "admin")
    rows = [
        customer_row("QA-S1", name="客户一", owner="rm02", seq=1),
        customer_row("QA-S2", name="客户二", owner="rm03", seq=2),
    ]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db, ["QA-S1", "QA-S2"])
    template_id = await make_template(client, admin, MONTHLY_ON_THE_1ST)
    dispatch_id = await dispatch(
        client, admin, template_id, customer_ids=[str(ids["QA-S1"]), str(ids["QA-S2"])]
    )
    # As if dispatched last month: this month's period is due to open.
    now = await db_now(db)
    local = now.astimezone(SHANGHAI)
    month = local.year * 12 + local.month - 1 - 1
    anchor = local.replace(year=month // 12, month=month % 12 + 1, day=1, hour=12)
    period = await rewind(db, dispatch_id, rule=MONTHLY_ON_THE_1ST, anchor=anchor, at=anchor)
    await _set_role(client, admin, "rm03", "marketing")

    assert await jobs.open_recurring_periods(job_ctx) == 1
    opened = [t for t in await series_tasks(db, dispatch_id) if t["period_start"] != period.start]
    assert [(t["assignee_id"], t["customer_id"]) for t in opened] == [(user("rm02"), ids["QA-S1"])]

"""An alert rule for the owning RM (`assign_to: owner_rm`) never hands a work order to a
customer's owner who is no active RM (disabled, or given another role such as marketing): as
for an owner gone, it goes to the branch head over the customer's unit, both when the answer
comes in and when the rule is applied to past answers."""

from __future__ import annotations

import pytest

from tests.workbench.workorders.wo_setup import Bench, unit_id, user_id
from workbench.workorders import alerts

CHANGES = {
    "disabled": "update users set active = false where id = $1",
    "made marketing": "update users set role = 'marketing' where id = $1",
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
async def test_an_owner_who_is_no_active_rm_gets_no_work_order(bench: Bench, change: str) -> None:
    await bench.conn.execute(change, user_id("rm01"))
    await bench.rule()  # score <= 6, for the owning RM
    _, opened = await bench.respond(answers={"score": 3})
    assert opened is not None
    [wo] = await bench.work_orders()
    assert wo["assignee_id"] == user_id("bh.east")
    assert wo["org_unit_id"] == unit_id("team-east-1")
    told = await bench.conn.fetch("select user_id from notifications where subject_id = $1", opened)
    assert [n["user_id"] for n in told] == [user_id("bh.east")]


async def test_a_rule_applied_to_past_answers_skips_an_owner_who_is_no_active_rm(
    bench: Bench,
) -> None:
    response = await bench.store(answers={"score": 2})
    await bench.conn.execute(CHANGES["disabled"], user_id("rm01"))
    rule_id = await bench.rule()
    rule = await bench.conn.fetchrow("select * from alert_rules where id = $1", rule_id)
    async with bench.conn.transaction():
        opened, _ = await alerts.apply_rule(
            bench.conn, cipher=bench.vault.cipher, rule=rule, after=None
        )
    assert opened == 1
    [wo] = await bench.work_orders()
    assert (wo["response_id"], wo["assignee_id"]) == (response, user_id("bh.east"))

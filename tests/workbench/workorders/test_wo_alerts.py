"""Alert rules opening work orders: exactly one per answer, assigned and due as the rule says."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.workbench.workorders.wo_setup import T0, Bench, hours, unit_id, user_id
from workbench.db import use_json_codecs
from workbench.workorders import alerts


async def test_a_detractor_opens_one_work_order_for_the_owning_rm(bench: Bench) -> None:
    rule = await bench.rule()
    _, none = await bench.respond(answers={"score": 9})
    response, opened = await bench.respond(answers={"score": 6})
    assert none is None
    assert opened is not None
    [wo] = await bench.work_orders()
    assert (wo["id"], wo["response_id"], wo["rule_id"]) == (opened, response, rule)
    assert wo["assignee_id"] == user_id("rm01")
    assert wo["state"] == "open"
    assert wo["due_at"] == T0 + hours(24)
    assert wo["org_unit_id"] == unit_id("team-east-1")
    told = await bench.conn.fetch(
        "select category, title, user_id from notifications where subject_id = $1", opened
    )
    assert [(n["category"], n["user_id"]) for n in told] == [
        ("work_order.assigned", user_id("rm01"))
    ]
    kinds = await bench.conn.fetch(
        "select kind from customer_timeline where customer_id = $1", bench.customer
    )
    assert [k["kind"] for k in kinds] == ["work_order.opened"]


async def test_the_hook_twice_or_two_matching_rules_still_make_one(bench: Bench) -> None:
    first = await bench.rule()
    await bench.rule(op="lte", value=8, assign_to="branch_head")  # also matches a 3
    response, opened = await bench.respond(answers={"score": 3})
    async with bench.conn.transaction():
        again = await alerts.on_response(bench.conn, response_id=response, texts={}, now=T0)
    assert opened is not None
    assert again is None
    [wo] = await bench.work_orders()
    assert wo["rule_id"] == first
    assert wo["assignee_id"] == user_id("rm01")
    assert await bench.conn.fetchval("select count(*) from notifications") == 1


async def test_concurrent_hooks_for_one_answer_open_one(bench: Bench) -> None:
    await bench.rule()
    response = await bench.store(answers={"score": 0})
    conns = [await asyncpg.connect(bench.settings.database_url) for _ in range(4)]
    try:
        for c in conns:
            await use_json_codecs(c)

        async def hook(c: asyncpg.Connection) -> object:
            async with c.transaction():
                return await alerts.on_response(c, response_id=response, texts={}, now=T0)

        results = await asyncio.gather(*(hook(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sum(r is not None for r in results) == 1
    assert len(await bench.work_orders()) == 1
    assert await bench.conn.fetchval("select count(*) from work_order_events") == 1


async def test_a_term_in_a_chinese_text_answer(bench: Bench) -> None:
    await bench.rule(question_key="reason", op="contains", value="排队", assign_to="branch_head")
    _, calm = await bench.respond(answers={"score": 8}, texts={"reason": "服务很好"})
    _, upset = await bench.respond(answers={"score": 8}, texts={"reason": "周末排队一个小时"})
    assert calm is None
    assert upset is not None
    [wo] = await bench.work_orders()
    assert wo["assignee_id"] == user_id("bh.east")  # the branch head over rm01's team


async def test_choice_rule_and_a_west_customer_goes_to_their_rm_and_branch(bench: Bench) -> None:
    await bench.rule(question_key="channel", op="eq", value="app", assign_to="branch_head")
    await bench.respond(answers={"score": 9, "channel": "counter"}, customer=bench.west_customer)
    await bench.respond(answers={"score": 9, "channel": "app"}, customer=bench.west_customer)
    [wo] = await bench.work_orders()
    assert wo["assignee_id"] == user_id("bh.west")
    assert wo["org_unit_id"] == unit_id("team-west-1")


async def test_a_staff_answer_opens_no_work_order(bench: Bench) -> None:
    # Staff answer anonymously: a work order handed the respondent's branch head their answer,
    # their team and the minute they gave it (and kept who they were).
    refused = await bench.client.post(
        "/api/v1/alert-rules",
        json={"survey_id": str(bench.pulse), "question_key": "mood", "op": "lte", "value": 2,
              "assign_to": "branch_head", "sla_hours": 8},
        headers=bench.admin,
    )  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "alert_rule.staff_survey"
    # A rule made before this one matches nothing.
    await bench.rule(survey=bench.pulse, question_key="mood", op="lte", value=2)
    _, opened = await bench.respond(staff="rm06", answers={"mood": 1}, survey=bench.pulse)
    assert opened is None
    assert await bench.work_orders() == []


async def test_business_hours_sla_on_a_friday_afternoon(bench: Bench) -> None:
    await bench.rule(sla_hours=4, sla_kind="business_hours")
    friday_4pm = T0 + hours(4 * 24 + 6)  # Fri 2026-06-05 16:00 in Shanghai
    await bench.respond(answers={"score": 2}, now=friday_4pm)
    [wo] = await bench.work_orders()
    assert wo["due_at"] == T0 + hours(7 * 24 + 1)  # Mon 2026-06-08 11:00 in Shanghai

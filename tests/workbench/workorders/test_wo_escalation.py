"""Overdue work orders escalate once per level: the branch head over the assignee, then the
one above, with a controllable clock."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.workbench.workorders.wo_setup import RM01, T0, Bench, hours, unit_id, user_id
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.workorders import escalation, service
from workbench.workorders.service import State

HQ_HEAD = uuid5_for("user:bh.hq")


async def _escalate(bench: Bench, at_hours: float) -> int:
    async with bench.conn.transaction():
        return await escalation.escalate_due(bench.conn, now=T0 + hours(at_hours))


async def _told(bench: Bench) -> list[tuple[str, object]]:
    rows = await bench.conn.fetch(
        "select title, user_id from notifications where category = 'work_order.escalated'"
        " and data ? 'level' order by created_at"
    )
    return [(r["title"], r["user_id"]) for r in rows]


async def test_level_one_at_due_then_level_two_one_sla_later_once_each(bench: Bench) -> None:
    await bench.conn.execute(
        "insert into users (id, login, name, role, org_unit_id, password_hash)"
        " values ($1, 'bh.hq', '周总 Head Office Head', 'branch_head', $2, 'x')",
        HQ_HEAD, unit_id("head-office"),
    )  # fmt: skip
    await bench.rule(sla_hours=4)
    _, opened = await bench.respond(answers={"score": 1})  # due at T0 + 4h
    assert await _escalate(bench, 3.9) == 0
    assert await _escalate(bench, 4.1) == 1
    assert await _escalate(bench, 4.2) == 0  # level 1 only once
    assert await _told(bench) == [("工单逾期升级", user_id("bh.east"))]
    assert await _escalate(bench, 8.0) == 0  # not yet one SLA period after the escalation
    assert await _escalate(bench, 8.2) == 1
    assert await _escalate(bench, 100) == 0  # never a third time
    assert await _told(bench) == [
        ("工单逾期升级", user_id("bh.east")),
        ("工单逾期二次升级", HQ_HEAD),
    ]
    wo = await service.detail(
        bench.conn, vault=bench.vault, caller=RM01, work_order_id=opened, now=T0 + hours(9)
    )
    assert wo.escalation_level == 2
    assert wo.overdue
    assert [(e.kind, e.data.get("level")) for e in wo.events] == [
        ("opened", None), ("escalated", 1), ("escalated", 2),
    ]  # fmt: skip


async def test_a_resolved_work_order_does_not_escalate(bench: Bench) -> None:
    await bench.rule(sla_hours=4)
    _, opened = await bench.respond(answers={"score": 1})
    assert opened is not None
    for to in (State.IN_PROGRESS, State.RESOLVED):
        await service.transition(
            bench.conn, vault=bench.vault, caller=RM01, work_order_id=opened, to=to,
            note="已回访客户", now=T0 + hours(1),
        )  # fmt: skip
    assert await _escalate(bench, 5) == 0
    assert await _told(bench) == []


async def test_two_workers_at_once_escalate_each_work_order_once(bench: Bench) -> None:
    await bench.rule(sla_hours=4)
    for _ in range(3):
        await bench.respond(answers={"score": 1})
    conns = [await asyncpg.connect(bench.settings.database_url) for _ in range(2)]
    try:

        async def worker(c: asyncpg.Connection) -> int:
            await use_json_codecs(c)
            async with c.transaction():
                return await escalation.escalate_due(c, now=T0 + hours(5))

        counts = await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sum(counts) == 3
    assert len(await _told(bench)) == 3
    levels = await bench.conn.fetch("select escalation_level from work_orders")
    assert [r["escalation_level"] for r in levels] == [1, 1, 1]

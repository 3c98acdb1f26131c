"""A customer a bank feed hands to another RM takes their unfinished work orders along: the new
RM (or, for a rule assigning branch heads, the new unit's branch head) gets them with a
`handed_over` event and a notification, the branch heads and escalations follow the new unit,
and the former RM's device loses them. Closed work orders stay, but no longer show the customer
(masked name, answers) to readers who cannot see the customer any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mobile_contracts.v1.identity import Role
from tests.customers_data import customer_row, feed, headers_of
from tests.sync.sync_data import App
from tests.workbench.workorders.wo_setup import Bench, caller, user_id
from workbench.workorders import escalation, service

ORDERS = "/api/v1/work-orders"
RM05 = caller("rm05", Role.RM, "team-west-1")
REASON = "理财经理没回电话，请打 13812345678"


async def _answer(bench: Bench, score: int, at: datetime, **kw: Any) -> Any:
    _, opened = await bench.respond(customer=bench.west_customer, answers={"score": score},
                                    now=at, **kw)  # fmt: skip
    assert opened is not None
    return opened


async def _close(bench: Bench, work_order: Any) -> None:
    for to, more in (("in_progress", {}), ("resolved", {}), ("closed", {"root_cause": "other"})):
        async with bench.conn.transaction():
            await service.transition(
                bench.conn, vault=bench.vault, caller=RM05, work_order_id=work_order,
                to=service.State(to), note=f"{to} 说明", **more,
            )  # fmt: skip


async def _move_west_customer_to(bench: Bench, login: str) -> None:
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-2", name="李四", owner=login, seq=2)])  # fmt: skip


async def _get(bench: Bench, headers: dict[str, str], work_order: Any) -> Any:
    return await bench.client.get(f"{ORDERS}/{work_order}", headers=headers)


async def _listed(bench: Bench, headers: dict[str, str]) -> set[str]:
    answer = await bench.client.get(f"{ORDERS}?limit=200", headers=headers)
    assert answer.status_code == 200, answer.text
    return {w["id"] for w in answer.json()["items"]}


async def test_open_work_orders_follow_the_customer_to_the_new_rm(bench: Bench) -> None:
    now = datetime.now(UTC)
    await bench.rule()
    opened = await _answer(bench, 2, now - timedelta(hours=1), texts={"reason": REASON})
    closed = await _answer(bench, 1, now - timedelta(hours=2))
    await _close(bench, closed)
    who = {login: await headers_of(bench.client, login)
           for login in ("rm05", "rm01", "bh.west", "bh.east")}  # fmt: skip
    assert (await _get(bench, who["rm05"], opened)).json()["customer"] == "李*"
    assert (await _get(bench, who["rm01"], opened)).status_code == 404
    devices = {login: App(bench.client, who[login], bench.conn, schema=4)
               for login in ("rm05", "rm01")}  # fmt: skip
    for device in devices.values():
        await device.sync()
    assert set(devices["rm05"].rows("work_order")) == {str(opened), str(closed)}

    await _move_west_customer_to(bench, "rm01")

    # The open one is rm01's now, in rm01's unit: rm01 and bh.east read it, with the customer.
    row = await bench.conn.fetchrow(
        "select assignee_id, org_unit_id, state from work_orders where id = $1", opened
    )
    assert (row["assignee_id"], row["state"]) == (user_id("rm01"), "open")
    assert row["org_unit_id"] == await bench.conn.fetchval(
        "select org_unit_id from users where id = $1", user_id("rm01")
    )
    for login in ("rm01", "bh.east"):
        seen = await _get(bench, who[login], opened)
        assert seen.status_code == 200, (login, seen.text)
        assert seen.json()["customer"] == "李*"
        assert any("138******78" in a["answer"] for a in seen.json()["answers"])
    assert str(opened) in await _listed(bench, who["rm01"])
    events = (await _get(bench, who["rm01"], opened)).json()["events"]
    assert [e["kind"] for e in events] == ["opened", "handed_over"]
    assert (events[-1]["data"]["from"], events[-1]["data"]["to"]) == (
        str(user_id("rm05")), str(user_id("rm01")),
    )  # fmt: skip
    told = await bench.conn.fetch(
        "select category, title from notifications where user_id = $1 and subject_id = $2",
        user_id("rm01"), opened,
    )  # fmt: skip
    assert [r["category"] for r in told] == ["work_order.assigned"]
    # The former RM and branch head no longer read it.
    for login in ("rm05", "bh.west"):
        assert (await _get(bench, who[login], opened)).status_code == 404, login
        assert str(opened) not in await _listed(bench, who[login])

    # The closed one stays with rm05, but shows neither the customer nor their answers there.
    for login in ("rm05", "bh.west"):
        kept = await _get(bench, who[login], closed)
        assert kept.status_code == 200, (login, kept.text)
        assert (kept.json()["state"], kept.json()["customer"]) == ("closed", "*")
        assert kept.json()["answers"] == []
        listed = (await bench.client.get(ORDERS, headers=who[login])).json()["items"]
        assert {w["customer"] for w in listed if w["id"] == str(closed)} == {"*"}
    assert (await _get(bench, who["rm01"], closed)).status_code == 404

    # Offline: the former RM's device loses the open one and keeps the closed one without the
    # customer; the new RM's device gets the open one.
    changes = await devices["rm05"].sync()
    assert ("delete", str(opened)) in [(c["op"], c["id"]) for c in changes]
    kept_offline = devices["rm05"].rows("work_order")
    assert set(kept_offline) == {str(closed)}
    assert (kept_offline[str(closed)]["customer"], kept_offline[str(closed)]["answers"]) == (
        "*", [],
    )  # fmt: skip
    await devices["rm01"].sync()
    assert set(devices["rm01"].rows("work_order")) == {str(opened)}

    # A feed that changes nothing moves nothing again.
    await _move_west_customer_to(bench, "rm01")
    handed = "select count(*) from work_order_events where kind = 'handed_over'"
    assert await bench.conn.fetchval(handed) == 1


async def test_escalation_follows_the_new_rms_unit(bench: Bench) -> None:
    now = datetime.now(UTC)
    await bench.rule()
    overdue = await _answer(bench, 2, now - timedelta(hours=30))  # due 6 hours ago
    later = await _answer(bench, 3, now - timedelta(hours=20))  # due in 4 hours
    async with bench.conn.transaction():
        assert await escalation.escalate_due(bench.conn, now=now) == 1
    assert await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", overdue
    ) == user_id("bh.west")

    await _move_west_customer_to(bench, "rm01")

    # Escalated already: re-pointed to the new unit's branch head, who is told.
    assert await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", overdue
    ) == user_id("bh.east")
    told = await bench.conn.fetch(
        "select category from notifications where user_id = $1 and subject_id = $2",
        user_id("bh.east"), overdue,
    )  # fmt: skip
    assert [r["category"] for r in told] == ["work_order.escalated"]
    # Not yet escalated: when it falls due, the new RM's branch head hears of it.
    due = await bench.conn.fetchval("select due_at from work_orders where id = $1", later)
    async with bench.conn.transaction():
        assert await escalation.escalate_due(bench.conn, now=due + timedelta(minutes=1)) == 1
    assert await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", later
    ) == user_id("bh.east")
    bh_west = await headers_of(bench.client, "bh.west")
    for work_order in (overdue, later):
        assert (await _get(bench, bh_west, work_order)).status_code == 404


async def test_a_branch_heads_work_order_goes_to_the_new_units_branch_head(bench: Bench) -> None:
    await bench.rule(assign_to="branch_head")
    opened = await _answer(bench, 2, datetime.now(UTC) - timedelta(hours=1))
    assert await bench.conn.fetchval(
        "select assignee_id from work_orders where id = $1", opened
    ) == user_id("bh.west")

    await _move_west_customer_to(bench, "rm01")

    assert await bench.conn.fetchval(
        "select assignee_id from work_orders where id = $1", opened
    ) == user_id("bh.east")
    bh_east, bh_west = (await headers_of(bench.client, "bh.east"),
                        await headers_of(bench.client, "bh.west"))  # fmt: skip
    assert (await _get(bench, bh_east, opened)).json()["customer"] == "李*"
    assert (await _get(bench, bh_west, opened)).status_code == 404

"""An overdue work order escalates to a branch head over the work order's unit, who can open and
move it: an RM moved to another branch leaves the work orders opened for their old unit with
that unit, whose branch head is told and reads them; the new branch's head neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.workorders.wo_setup import Bench, unit_id, user_id
from workbench.ids import uuid5_for
from workbench.workorders import escalation

ORDERS = "/api/v1/work-orders"
HQ_HEAD = uuid5_for("user:bh.hq")


async def _move_user(bench: Bench, login: str, unit: str) -> None:
    """As admin: POST /admin/users with the user's id, now in another unit."""
    name = await bench.conn.fetchval("select name from users where id = $1", user_id(login))
    moved = await bench.client.post("/api/v1/admin/users", headers=bench.admin, json={
        "id": str(user_id(login)), "login": login, "name": name, "role": "rm",
        "org_unit_id": str(unit_id(unit)), "password": "workbench-demo",
    })  # fmt: skip
    assert moved.status_code == 200, moved.text


async def _rm04_work_order(bench: Bench) -> object:
    """A work order opened for rm04 (East Team 2) by an answer of one of their customers."""
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-4", name="王五", owner="rm04", seq=4)])  # fmt: skip
    customer = (await customer_ids(bench.conn))["W-4"]
    await bench.rule()
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2}, now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert opened is not None
    assert await bench.conn.fetchval(
        "select org_unit_id from work_orders where id = $1", opened
    ) == unit_id("team-east-2")
    return opened


async def _overdue(bench: Bench, work_order: object) -> None:
    await bench.conn.execute(
        "update work_orders set due_at = now() - interval '2 hours',"
        " next_escalation_at = now() - interval '1 hour' where id = $1",
        work_order,
    )
    async with bench.conn.transaction():
        assert await escalation.escalate_due(bench.conn, now=datetime.now(UTC)) == 1


async def _told(bench: Bench, work_order: object) -> set[object]:
    rows = await bench.conn.fetch(
        "select user_id from notifications where category = 'work_order.escalated'"
        " and subject_id = $1",
        work_order,
    )
    return {r["user_id"] for r in rows}


async def test_an_rm_moved_away_escalates_to_the_head_who_reads_the_work_order(
    bench: Bench,
) -> None:
    opened = await _rm04_work_order(bench)
    await _move_user(bench, "rm04", "team-west-1")
    await _overdue(bench, opened)

    assert await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", opened
    ) == user_id("bh.east")
    assert await _told(bench, opened) == {user_id("bh.east")}
    east, west = (
        await headers_of(bench.client, "bh.east"),
        await headers_of(bench.client, "bh.west"),
    )
    seen = await bench.client.get(f"{ORDERS}/{opened}", headers=east)
    assert seen.status_code == 200, seen.text
    assert seen.json()["events"][-1]["data"] == {"level": 1, "to": str(user_id("bh.east"))}
    moved = await bench.client.post(
        f"{ORDERS}/{opened}/transition", headers=east, json={"to": "in_progress", "note": "督办"}
    )
    assert moved.status_code == 200, moved.text
    # The branch head of the RM's new branch was not told, and does not read it.
    assert (await bench.client.get(f"{ORDERS}/{opened}", headers=west)).status_code == 404
    # The assignee still does.
    rm04 = await headers_of(bench.client, "rm04")
    assert (await bench.client.get(f"{ORDERS}/{opened}", headers=rm04)).status_code == 200


async def test_level_two_goes_above_the_work_orders_unit_too(bench: Bench) -> None:
    await bench.conn.execute(
        "insert into users (id, login, name, role, org_unit_id, password_hash)"
        " values ($1, 'bh.hq', '周总 Head Office Head', 'branch_head', $2, 'x')",
        HQ_HEAD, unit_id("head-office"),
    )  # fmt: skip
    opened = await _rm04_work_order(bench)
    await _move_user(bench, "rm04", "team-west-1")
    await _overdue(bench, opened)
    await _overdue(bench, opened)  # one SLA period later, still unresolved
    assert await _told(bench, opened) == {user_id("bh.east"), HQ_HEAD}
    assert (
        await bench.conn.fetchval("select escalation_level from work_orders where id = $1", opened)
        == 2
    )

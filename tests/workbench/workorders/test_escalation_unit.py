"""An overdue work order escalates to a branch head over the work order's unit, who can open and
move it; no branch head of a unit it has left is told. Its unit changes with its customer: a
customer a bank feed moves to an RM of another branch takes the work order to that branch, whose
head is told and reads it, not the branch it was opened in. Its unit is not where its assignee
works now: an open work order that an RM's move to another branch left with the old one (as
every move did before work orders followed an admin's staff changes; the bank's data still has
such) escalates to the old branch's head, who reads it, never to the new branch's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.workorders.wo_setup import Bench, unit_id, user_id
from workbench.ids import uuid5_for
from workbench.workorders import escalation

ORDERS = "/api/v1/work-orders"
HQ_HEAD = uuid5_for("user:bh.hq")
MOVES = ["customer_moved_by_feed", "left_behind_by_a_moved_rm"]


@dataclass(frozen=True)
class Moved:
    """Where rm04's work order is after the move, by login: the branch head over its unit (who
    reads it), the other branch's head (who does not), its assignee and the RM who lost it
    (None: nobody did)."""

    head: str
    other_head: str
    assignee: str
    former: str | None


async def _rm04_work_order(bench: Bench) -> uuid.UUID:
    """A work order opened for rm04 (East Team 2) by an answer of one of their customers."""
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-4", name="王五", owner="rm04", seq=4)])  # fmt: skip
    customer = (await customer_ids(bench.conn))["W-4"]
    await bench.rule()
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2}, now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert opened is not None
    assert await _placed(bench, opened) == (user_id("rm04"), unit_id("team-east-2"))
    return opened


async def _placed(bench: Bench, work_order: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    row = await bench.conn.fetchrow(
        "select assignee_id, org_unit_id from work_orders where id = $1", work_order
    )
    return row["assignee_id"], row["org_unit_id"]


async def _move(bench: Bench, how: str, work_order: uuid.UUID) -> Moved:
    """Take the work order's customer or RM to West Team 1 (`MOVES`)."""
    if how == "customer_moved_by_feed":  # rm05 (West Team 1) owns the customer now
        await feed(bench.client, bench.admin, "customers",
                   [customer_row("W-4", name="王五", owner="rm05", seq=4)])  # fmt: skip
        assert await _placed(bench, work_order) == (user_id("rm05"), unit_id("team-west-1"))
        return Moved(head="bh.west", other_head="bh.east", assignee="rm05", former="rm04")
    # rm04 moved as an admin's change moved RMs before work orders followed it: the work order
    # stays in East Team 2.
    await bench.conn.execute(
        "update users set org_unit_id = $2, updated_at = now() where id = $1",
        user_id("rm04"), unit_id("team-west-1"),
    )  # fmt: skip
    assert await _placed(bench, work_order) == (user_id("rm04"), unit_id("team-east-2"))
    return Moved(head="bh.east", other_head="bh.west", assignee="rm04", former=None)


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


async def _status(bench: Bench, login: str, work_order: object) -> int:
    headers = await headers_of(bench.client, login)
    status: int = (await bench.client.get(f"{ORDERS}/{work_order}", headers=headers)).status_code
    return status


@pytest.mark.parametrize("how", MOVES)
async def test_an_overdue_work_order_escalates_to_the_head_who_reads_it(
    bench: Bench, how: str
) -> None:
    opened = await _rm04_work_order(bench)
    moved = await _move(bench, how, opened)
    await _overdue(bench, opened)

    assert await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", opened
    ) == user_id(moved.head)
    assert await _told(bench, opened) == {user_id(moved.head)}
    head = await headers_of(bench.client, moved.head)
    seen = await bench.client.get(f"{ORDERS}/{opened}", headers=head)
    assert seen.status_code == 200, seen.text
    assert seen.json()["events"][-1]["data"] == {"level": 1, "to": str(user_id(moved.head))}
    worked = await bench.client.post(
        f"{ORDERS}/{opened}/transition", headers=head, json={"to": "in_progress", "note": "督办"}
    )
    assert worked.status_code == 200, worked.text
    # The other branch's head was not told, and does not read it.
    assert await _status(bench, moved.other_head, opened) == 404
    # The assignee does; an RM who lost the customer no longer.
    assert await _status(bench, moved.assignee, opened) == 200
    if moved.former is not None:
        assert await _status(bench, moved.former, opened) == 404


@pytest.mark.parametrize("how", MOVES)
async def test_level_two_goes_above_the_work_orders_unit_too(bench: Bench, how: str) -> None:
    await bench.conn.execute(
        "insert into users (id, login, name, role, org_unit_id, password_hash)"
        " values ($1, 'bh.hq', '周总 Head Office Head', 'branch_head', $2, 'x')",
        HQ_HEAD, unit_id("head-office"),
    )  # fmt: skip
    opened = await _rm04_work_order(bench)
    moved = await _move(bench, how, opened)
    await _overdue(bench, opened)
    await _overdue(bench, opened)  # one SLA period later, still unresolved
    assert await _told(bench, opened) == {user_id(moved.head), HQ_HEAD}
    assert (
        await bench.conn.fetchval("select escalation_level from work_orders where id = $1", opened)
        == 2
    )

"""Work orders on a branch head's device are exactly those GET /work-orders lists them, shown as
GET /work-orders/{id} shows them, however the pull is paged and whatever moved meanwhile:

- an initial sync in pages of one row ends with the same work orders as one page of 5,000 and
  the API's list, also for a head who moved away and still has escalations of their old branch
  pointed at them (which they can no longer open: the pull skips them and goes on);
- an RM moved to another branch: their customers' closed work orders stay with the old branch,
  whose head's device then shows the customer as "*" with no answers, as the API does;
- a team moved to another branch: its work orders leave the old head's device and reach the
  new head's, and a closed work order left behind in the old branch about a customer of the
  moved team shows the old head "*" and no answers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mobile_contracts.v1.identity import Role
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.sync.sync_data import App, api_get, api_items
from tests.workbench.workorders.wo_setup import Bench, caller, close, unit_id, user_id
from workbench.workorders import escalation

ORDERS = "/api/v1/work-orders"
USERS = "/api/v1/admin/users"
ORG_UNITS = "/api/v1/admin/org-units"
V4 = 4
RM05 = caller("rm05", Role.RM, "team-west-1")


async def _device(bench: Bench, login: str, name: str) -> App:
    """An app of `login` on its own device `name` (signed in now: after a move, in the new
    unit)."""
    return App(
        bench.client,
        await headers_of(bench.client, login, f"{login}-{name}"),
        bench.conn,
        schema=V4,
    )


async def _customer(bench: Bench, external_id: str, name: str, owner: str, seq: int) -> uuid.UUID:
    await feed(bench.client, bench.admin, "customers",
               [customer_row(external_id, name=name, owner=owner, seq=seq)])  # fmt: skip
    return (await customer_ids(bench.conn, [external_id]))[external_id]


async def _opened(bench: Bench, customer: uuid.UUID, *, hours_ago: float = 1) -> uuid.UUID:
    """A low score of the customer `hours_ago` (24-hour rule): the work order it opened."""
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2, "channel": "counter"},
        texts={"reason": "柜台排队太久，请回电 13812345678"},
        now=datetime.now(UTC) - timedelta(hours=hours_ago),
    )  # fmt: skip
    assert opened is not None
    return opened


async def _patch_user(bench: Bench, login: str, unit: str) -> None:
    changed = await bench.client.patch(
        f"{USERS}/{user_id(login)}", headers=bench.admin,
        json={"org_unit_id": str(unit_id(unit))},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text


async def _move_unit(bench: Bench, unit: str, name: str, parent: str) -> None:
    moved = await bench.client.post(ORG_UNITS, headers=bench.admin, json={
        "id": str(unit_id(unit)), "name": name, "parent_id": str(unit_id(parent)),
    })  # fmt: skip
    assert moved.status_code == 200, moved.text


async def _listed(bench: Bench, app: App) -> set[str]:
    return {w["id"] for w in await api_items(bench.client, app.headers, ORDERS)}


async def _api_row(bench: Bench, app: App, work_order: uuid.UUID) -> Any:
    return await api_get(bench.client, app.headers, f"{ORDERS}/{work_order}")


async def _synced_alike(bench: Bench, login: str) -> dict[str, Any]:
    """Pull `login`'s partition in pages of one and in one page of 5,000 on two devices, and
    the API's list: the same work orders, the same rows. The rows."""
    paged, whole = await _device(bench, login, "paged"), await _device(bench, login, "whole")
    await paged.sync(limit=1)
    await whole.sync(limit=5_000)
    listed = await _listed(bench, whole)
    assert set(paged.rows("work_order")) == listed
    assert set(whole.rows("work_order")) == listed
    assert paged.rows("work_order") == whole.rows("work_order")
    return whole.rows("work_order")


# ---- paging a branch head's partition --------------------------------------------------------


async def test_a_head_moved_away_with_an_escalation_left_syncs_every_work_order_at_any_limit(
    bench: Bench,
) -> None:
    """bh.east's overdue escalation stays with them when they move to West Team 2 (nobody heads
    East now), and they can no longer open it; the work orders of West Team 2, made after it,
    all reach their device however small the pages."""
    await bench.rule()
    escalated = await _opened(bench, bench.customer, hours_ago=30)  # rm01's, 6 hours overdue
    async with bench.conn.transaction():
        assert await escalation.escalate_due(bench.conn, now=datetime.now(UTC)) == 1
    west2 = await _customer(bench, "W-7", "王五", "rm07", seq=3)
    later = [await _opened(bench, west2) for _ in range(3)]

    await _patch_user(bench, "bh.east", "team-west-2")

    holder = await bench.conn.fetchval(
        "select escalated_to_id from work_orders where id = $1", escalated
    )
    assert holder == user_id("bh.east")  # nobody over East Team 1 to hand it to
    rows = await _synced_alike(bench, "bh.east")
    assert set(rows) == {str(w) for w in later}
    assert str(escalated) not in rows


async def test_an_ordinary_heads_and_rms_partitions_page_alike(bench: Bench) -> None:
    await bench.rule()
    west2 = await _customer(bench, "W-7", "王五", "rm07", seq=3)
    opened = [await _opened(bench, c) for c in (bench.west_customer, west2, bench.west_customer)]
    await close(bench, opened[0], RM05)
    await _opened(bench, bench.customer)  # East's: not bh.west's

    assert set(await _synced_alike(bench, "bh.west")) == {str(w) for w in opened}
    assert set(await _synced_alike(bench, "rm05")) == {str(opened[0]), str(opened[2])}


# ---- moves that hide a closed work order's customer --------------------------------------------


async def test_an_rm_moved_away_leaves_their_closed_work_orders_without_the_customer_on_devices(
    bench: Bench,
) -> None:
    await bench.rule()
    closed = await _opened(bench, bench.west_customer)
    await close(bench, closed, RM05)
    head = await _device(bench, "bh.west", "phone")
    await head.sync()
    before = head.rows("work_order")[str(closed)]
    assert before["customer"] not in (None, "*")
    assert before["answers"]
    assert before["trigger"] is not None

    await _patch_user(bench, "rm05", "team-east-1")

    shown = await _api_row(bench, head, closed)
    assert (shown["customer"], shown["answers"]) == ("*", [])
    changes = await head.sync()
    assert ("upsert", str(closed)) in [(c["op"], c["id"]) for c in changes]
    after = head.rows("work_order")[str(closed)]
    assert (after["customer"], after["answers"], after["trigger"]) == ("*", [], None)
    fresh = await _device(bench, "bh.west", "new-phone")
    await fresh.sync()
    assert head.rows("work_order") == fresh.rows("work_order")


async def test_a_team_moved_to_another_branch_takes_its_work_orders_across_devices(
    bench: Bench,
) -> None:
    """West Team 1 moves under East Branch: rm05's work orders leave bh.west's device (404 in
    the API) and reach bh.east's, as a fresh pull has them."""
    await bench.rule()
    closed = await _opened(bench, bench.west_customer)
    await close(bench, closed, RM05)
    opened = await _opened(bench, bench.west_customer)
    west, east = await _device(bench, "bh.west", "phone"), await _device(bench, "bh.east", "phone")
    await west.sync()
    await east.sync()
    assert {str(closed), str(opened)} <= set(west.rows("work_order"))
    assert not {str(closed), str(opened)} & set(east.rows("work_order"))

    await _move_unit(bench, "team-west-1", "西城一组", "branch-east")

    for work_order in (closed, opened):
        gone = await bench.client.get(f"{ORDERS}/{work_order}", headers=west.headers)
        assert gone.status_code == 404
    await west.sync()
    assert not {str(closed), str(opened)} & set(west.rows("work_order"))
    await east.sync()
    assert {str(closed), str(opened)} <= set(east.rows("work_order"))
    assert east.rows("work_order")[str(closed)]["customer"] not in (None, "*")
    for app, login in ((west, "bh.west"), (east, "bh.east")):
        fresh = await _device(bench, login, "new-phone")
        await fresh.sync()
        assert app.rows("work_order") == fresh.rows("work_order")


async def test_a_team_moved_away_hides_the_customer_of_a_closed_work_order_left_behind(
    bench: Bench,
) -> None:
    """rm05 moves to West Team 2, their closed work order staying with West Team 1; then West
    Team 2 moves under East Branch: bh.west still reads that work order, without the customer,
    on the device too."""
    await bench.rule()
    closed = await _opened(bench, bench.west_customer)
    await close(bench, closed, RM05)
    await _patch_user(bench, "rm05", "team-west-2")
    head = await _device(bench, "bh.west", "phone")
    await head.sync()
    assert head.rows("work_order")[str(closed)]["customer"] not in (None, "*")

    await _move_unit(bench, "team-west-2", "西城二组", "branch-east")

    shown = await _api_row(bench, head, closed)
    assert (shown["customer"], shown["answers"]) == ("*", [])
    await head.sync()
    after = head.rows("work_order")[str(closed)]
    assert (after["customer"], after["answers"], after["trigger"]) == ("*", [], None)
    fresh = await _device(bench, "bh.west", "new-phone")
    await fresh.sync()
    assert head.rows("work_order") == fresh.rows("work_order")

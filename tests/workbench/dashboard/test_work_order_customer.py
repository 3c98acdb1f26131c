"""The dashboard's work-order list shows a work order's customer as the work orders themselves
do: masked to a reader who may see the customer, "*" to one who may not (the page says it in
words: "客户（姓名已隐藏）"), in its export and in the RM's drill-down alike. An RM an admin moves
to another branch now takes their customers and unfinished work orders along (the new branch's
list shows them, masked); an open work order such a move left with the old branch before work
orders followed it (the bank's data still has such) is listed there with "*"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.console.conftest import make_console, signed_in
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.dashboard.dash_data import ADMIN, BH_EAST, BH_WEST, TZ
from tests.workbench.workorders.wo_setup import Bench, bench, unit_id, user_id
from workbench.dashboard import numbers
from workbench.dashboard import tables as dashboard_tables
from workbench.exports.tables import ExportRequest, table

__all__ = ["bench", "make_console"]


async def _view(bench: Bench, caller: Any, unit: str) -> numbers.View:
    return await numbers.view(
        bench.conn, caller=caller, org_unit_id=unit_id(unit), from_=None, to=None,
        tz=TZ, now=datetime.now(UTC),
    )  # fmt: skip


async def _customers_on_the_list(
    bench: Bench, caller: Any = BH_EAST, unit: str = "branch-east"
) -> list[str]:
    view = await _view(bench, caller, unit)
    listed = await numbers.work_orders(bench.conn, bench.vault, caller, view)
    by_rm = await numbers.work_orders(bench.conn, bench.vault, caller, view, rm_id=user_id("rm04"))
    assert by_rm == listed
    export = table("work_orders")
    assert export is not None
    request = ExportRequest(caller=caller, view=view, params={})
    rows = [row async for row in export.rows(bench.conn, bench.vault, request)]
    assert rows == [dashboard_tables.work_order_row(w) for w in listed]
    return [w.customer for w in listed]


async def _rm04_work_order(bench: Bench) -> Any:
    """A work order opened for rm04 (East Team 2) by an answer of their customer 王五."""
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-4", name="王五", owner="rm04", seq=4)])  # fmt: skip
    customer = (await customer_ids(bench.conn))["W-4"]
    await bench.rule()
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2}, now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert opened is not None
    assert await _customers_on_the_list(bench) == ["王*"]
    return opened


async def test_a_work_order_left_behind_by_a_moved_rm_hides_the_customer(
    bench: Bench, make_console: Any
) -> None:
    opened = await _rm04_work_order(bench)

    # rm04 (East Team 2) moved to West Team 1 as an admin's change did before work orders
    # followed it: the customer goes with them, out of bh.east's reach; the work order stays
    # with East Team 2.
    await bench.conn.execute(
        "update users set org_unit_id = $2, updated_at = now() where id = $1",
        user_id("rm04"), unit_id("team-west-1"),
    )  # fmt: skip

    assert await _customers_on_the_list(bench) == ["*"]
    # As the work-order API shows it to bh.east.
    east = await headers_of(bench.client, "bh.east")
    api = await bench.client.get(f"/api/v1/work-orders/{opened}", headers=east)
    assert api.status_code == 200, api.text
    assert api.json()["customer"] == "*"
    # An admin sees every customer, masked as admins see them ("*" too).
    assert await _customers_on_the_list(bench, ADMIN) == ["*"]

    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get("/console/dashboard")
    assert page.status_code == 200, page.text
    assert f"/console/work-orders/{opened}" in page.text
    assert "王*" not in page.text
    # The page says so in words, as the work-order pages do (the export keeps "*").
    assert '<td class="nowrap">客户（姓名已隐藏）</td>' in page.text
    assert '<td class="nowrap">*</td>' not in page.text


async def test_a_work_order_follows_the_rm_an_admin_moves_with_the_customer_shown(
    bench: Bench,
) -> None:
    await _rm04_work_order(bench)

    name = await bench.conn.fetchval("select name from users where id = $1", user_id("rm04"))
    moved = await bench.client.post("/api/v1/admin/users", headers=bench.admin, json={
        "id": str(user_id("rm04")), "login": "rm04", "name": name, "role": "rm",
        "org_unit_id": str(unit_id("team-west-1")), "password": "workbench-demo",
    })  # fmt: skip
    assert moved.status_code == 200, moved.text

    assert await _customers_on_the_list(bench) == []
    assert await _customers_on_the_list(bench, BH_WEST, "branch-west") == ["王*"]

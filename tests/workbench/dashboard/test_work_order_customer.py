"""The dashboard's work-order list shows a work order's customer as the work orders themselves
do: masked to a reader who may see the customer, "*" to one who may not (an RM moved to another
branch takes their customers along, and the work orders opened for the old branch stay there),
on the page, in its export and in the RM's drill-down alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.console.conftest import make_console, signed_in
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.dashboard.dash_data import ADMIN, BH_EAST, TZ
from tests.workbench.workorders.wo_setup import Bench, bench, unit_id, user_id
from workbench.dashboard import numbers
from workbench.dashboard import tables as dashboard_tables
from workbench.exports.tables import ExportRequest, table

__all__ = ["bench", "make_console"]


async def _east_view(bench: Bench, caller: Any = BH_EAST) -> numbers.View:
    return await numbers.view(
        bench.conn, caller=caller, org_unit_id=unit_id("branch-east"), from_=None, to=None,
        tz=TZ, now=datetime.now(UTC),
    )  # fmt: skip


async def _customers_on_the_list(bench: Bench, caller: Any = BH_EAST) -> list[str]:
    view = await _east_view(bench, caller)
    listed = await numbers.work_orders(bench.conn, bench.vault, caller, view)
    by_rm = await numbers.work_orders(bench.conn, bench.vault, caller, view, rm_id=user_id("rm04"))
    assert by_rm == listed
    export = table("work_orders")
    assert export is not None
    request = ExportRequest(caller=caller, view=view, params={})
    rows = [row async for row in export.rows(bench.conn, bench.vault, request)]
    assert rows == [dashboard_tables.work_order_row(w) for w in listed]
    return [w.customer for w in listed]


async def test_a_work_order_left_behind_by_a_moved_rm_hides_the_customer(
    bench: Bench, make_console: Any
) -> None:
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-4", name="王五", owner="rm04", seq=4)])  # fmt: skip
    customer = (await customer_ids(bench.conn))["W-4"]
    await bench.rule()
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2}, now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert opened is not None
    assert await _customers_on_the_list(bench) == ["王*"]

    # The admin moves rm04 (East Team 2) to West Team 1: the customer goes with them, out of
    # bh.east's reach; the work order stays with East Team 2.
    name = await bench.conn.fetchval("select name from users where id = $1", user_id("rm04"))
    moved = await bench.client.post("/api/v1/admin/users", headers=bench.admin, json={
        "id": str(user_id("rm04")), "login": "rm04", "name": name, "role": "rm",
        "org_unit_id": str(unit_id("team-west-1")), "password": "workbench-demo",
    })  # fmt: skip
    assert moved.status_code == 200, moved.text

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
    assert '<td class="nowrap">*</td>' in page.text

"""Every step of a work order is in the audit trail (`work_order.transitioned`), not only in its
own events: who, from which address (relay headers believed from trusted proxies only), the
states and the root cause, never the note; through the API, the staff console and an offline
push alike (the push's address). A step refused records nothing. A work order handed over by a
staff change is there too (`work_order.handed_over`, by 系统, ids only)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mobile_contracts.v1 import sync as sync_wire
from sync import mutations
from tests.console.conftest import make_console, post_form, signed_in
from tests.helpers import bearer, login
from tests.workbench.workorders.test_admin_audit import behind, no_values_in_the_trail, trail
from tests.workbench.workorders.wo_setup import RM01, Bench, unit_id, user_id

__all__ = ["make_console"]  # the console's client, for the console's forms

PROXY = "10.0.0.2"
RM_IP = "203.0.113.21"  # rm01's phone, behind the bank's proxy
BH_IP = "203.0.113.22"  # bh.east's browser
SYNC_IP = "198.51.100.23"  # the address an offline push came from
ORDERS = "/api/v1/work-orders"
# What the notes say (a customer's phone among it): never in the audit trail.
NOTES = {
    "in_progress": "已致电客户 13812345678，约好明天上门",
    "resolved": "柜台排队问题已向网点反映并解决",
    "closed": "客户满意，结单",
}


@pytest.fixture
async def proxied(make_client: Any) -> AsyncTestClient[Litestar]:
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    behind(client, PROXY, RM_IP)
    return client


async def _opened(bench: Bench) -> uuid.UUID:
    """rm01's customer's low score: a work order for rm01 (open)."""
    await bench.rule()
    _, opened = await bench.respond(answers={"score": 2})
    assert opened is not None
    return opened


async def _step_events(bench: Bench, work_order: uuid.UUID) -> list[str]:
    rows = await bench.conn.fetch(
        "select id from work_order_events where work_order_id = $1 and kind = 'transition'"
        " order by created_at, id",
        work_order,
    )
    return [str(r["id"]) for r in rows]


async def test_each_step_through_the_api_is_audited_with_the_callers_address(
    bench: Bench, proxied: AsyncTestClient[Litestar]
) -> None:
    order = await _opened(bench)
    rm01 = bearer(await login(proxied, "rm01", device_no="rm01-phone"))
    url = f"{ORDERS}/{order}/transition"
    for body in (
        {"to": "in_progress", "note": NOTES["in_progress"], "from": "open"},
        {"to": "resolved", "note": NOTES["resolved"]},
        {"to": "closed", "note": NOTES["closed"], "root_cause": "other", "from": "resolved"},
    ):
        moved = await proxied.post(url, headers=rm01, json=body)
        assert moved.status_code == 200, moved.text
    # A stale step (the work order is closed by now) records nothing.
    stale = await proxied.post(url, headers=rm01, json={
        "to": "in_progress", "note": "再次处理", "from": "resolved",
    })  # fmt: skip
    assert stale.status_code == 409, stale.text

    first, second, third = await _step_events(bench, order)
    rm = user_id("rm01")
    assert await trail(bench, f"work_order:{order}") == [
        ("work_order.transitioned", rm, RM_IP,
         {"from": "open", "to": "in_progress", "event_id": first}),
        ("work_order.transitioned", rm, RM_IP,
         {"from": "in_progress", "to": "resolved", "event_id": second}),
        ("work_order.transitioned", rm, RM_IP,
         {"from": "resolved", "to": "closed", "root_cause": "other", "event_id": third}),
    ]  # fmt: skip
    await no_values_in_the_trail(bench, *NOTES.values(), "13812345678", "再次处理")


async def test_a_step_on_the_console_is_audited_with_the_branch_heads_address(
    bench: Bench, make_console: Any
) -> None:
    order = await _opened(bench)
    console = await make_console(trusted_proxies=(f"{PROXY}/32",))
    behind(console, PROXY, BH_IP)
    token = await signed_in(console, "bh.east")
    moved = await post_form(
        console, f"/console/work-orders/{order}/transition",
        {"to": "in_progress", "note": NOTES["in_progress"], "from": "open"}, token=token,
    )  # fmt: skip
    assert moved.status_code == 303, moved.text
    [event] = await _step_events(bench, order)
    assert await trail(bench, f"work_order:{order}") == [
        ("work_order.transitioned", user_id("bh.east"), BH_IP,
         {"from": "open", "to": "in_progress", "event_id": event}),
    ]  # fmt: skip
    await no_values_in_the_trail(bench, NOTES["in_progress"])


async def test_a_step_pushed_from_offline_is_audited_with_the_pushs_address(bench: Bench) -> None:
    order = await _opened(bench)
    ctx = mutations.Context(
        caller=RM01, vault=bench.vault, bank_timezone=bench.settings.bank_timezone,
        public_base_url=bench.settings.public_base_url, client_ip=SYNC_IP,
    )  # fmt: skip
    step = {"work_order_id": str(order), "to": "in_progress", "note": NOTES["in_progress"],
            "from": "open"}  # fmt: skip
    stale = {**step, "note": "再次处理"}  # the same step again: a conflict, nothing recorded
    request = msgspec.convert(
        {"client_id": "rm01-phone", "mutations": [
            {"id": 1, "name": "work_order.transition", "args": step},
            {"id": 2, "name": "work_order.transition", "args": stale},
        ]},
        sync_wire.PushRequest,
    )  # fmt: skip
    async with bench.conn.transaction():
        result = await mutations.push(bench.conn, ctx=ctx, request=request)
    assert [r.status for r in result.results] == ["applied", "conflict"]
    [event] = await _step_events(bench, order)
    assert await trail(bench, f"work_order:{order}") == [
        ("work_order.transitioned", user_id("rm01"), SYNC_IP,
         {"from": "open", "to": "in_progress", "event_id": event}),
    ]  # fmt: skip
    await no_values_in_the_trail(bench, NOTES["in_progress"], "再次处理")


async def test_a_step_pushed_through_the_sync_api_is_audited_with_the_phones_address(
    bench: Bench, proxied: AsyncTestClient[Litestar]
) -> None:
    order = await _opened(bench)
    rm01 = bearer(await login(proxied, "rm01", device_no="rm01-phone"))
    step = {"work_order_id": str(order), "to": "in_progress", "note": NOTES["in_progress"],
            "from": "open"}  # fmt: skip
    body = {"client_id": "rm01-phone",
            "mutations": [{"id": 1, "name": "work_order.transition", "args": step}]}  # fmt: skip
    pushed = await proxied.post("/api/v1/sync/push", headers=rm01, json=body)
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["applied"], pushed.text
    [event] = await _step_events(bench, order)
    assert await trail(bench, f"work_order:{order}") == [
        ("work_order.transitioned", user_id("rm01"), RM_IP,
         {"from": "open", "to": "in_progress", "event_id": event}),
    ]  # fmt: skip


async def test_a_work_order_handed_over_by_a_staff_change_is_audited(bench: Bench) -> None:
    order = await _opened(bench)
    moved = await bench.client.patch(
        f"/api/v1/admin/users/{user_id('rm01')}", headers=bench.admin,
        json={"org_unit_id": str(unit_id("team-west-1"))},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    event = await bench.conn.fetchval(
        "select id from work_order_events where work_order_id = $1 and kind = 'handed_over'",
        order,
    )
    rm = str(user_id("rm01"))
    assert await trail(bench, f"work_order:{order}") == [
        ("work_order.handed_over", None, None, {
            "reason": "rm_moved", "staff": rm, "from": rm, "to": rm,
            "from_unit": str(unit_id("team-east-1")), "to_unit": str(unit_id("team-west-1")),
            "event_id": str(event),
        }),
    ]  # fmt: skip

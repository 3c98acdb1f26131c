"""Closing a work order with the contract's body (`{to: closed, note}`, API.md): an app built
from the contract can close one. Without a root cause it records none (null), which readers show
and count as 未注明; a root cause given is checked and kept as before."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from tests.console.conftest import console, make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.workbench.workorders.wo_setup import RM01, Bench
from workbench.workorders import service

ORDERS = "/api/v1/work-orders"


async def _resolved(bench: Bench, rm01: dict[str, str]) -> uuid.UUID:
    """A work order of rm01's, taken through in progress to resolved through the API."""
    _, opened = await bench.respond(answers={"score": 2, "channel": "app"})
    assert opened is not None
    for to in ("in_progress", "resolved"):
        moved = await bench.client.post(
            f"{ORDERS}/{opened}/transition", json={"to": to, "note": f"{to} 说明"}, headers=rm01
        )
        assert moved.status_code == 200, moved.text
    return opened


async def _close(bench: Bench, work_order: uuid.UUID, who: dict[str, str], **more: Any) -> Any:
    return await bench.client.post(
        f"{ORDERS}/{work_order}/transition",
        json={"to": "closed", "note": "关闭", **more},
        headers=who,
    )


async def test_the_contracts_body_closes_a_resolved_work_order_without_a_root_cause(
    bench: Bench,
    console: Any,  # noqa: F811
) -> None:
    await bench.rule()
    rm01 = await headers_of(bench.client, "rm01")
    opened = await _resolved(bench, rm01)

    closed = await _close(bench, opened, rm01)  # exactly API.md's body

    assert closed.status_code == 200, closed.text
    wo = closed.json()
    assert (wo["state"], wo["root_cause"]) == ("closed", None)
    assert wo["closed_at"] is not None
    last = wo["events"][-1]
    fields = ("kind", "from_state", "to_state", "note", "root_cause")
    assert [last[f] for f in fields] == ["transition", "resolved", "closed", "关闭", None]
    stored = await bench.conn.fetchrow(
        "select state, root_cause, closed_at from work_orders where id = $1", opened
    )
    assert (stored["state"], stored["root_cause"]) == ("closed", None)
    assert stored["closed_at"] is not None
    timeline = await bench.conn.fetchval(
        "select data from customer_timeline where kind = 'work_order.closed'"
        " and data->>'work_order_id' = $1",
        str(opened),
    )
    assert timeline == {"work_order_id": str(opened), "root_cause": None}
    # Final, as any closed work order.
    again = await _close(bench, opened, rm01)
    assert (again.status_code, again.json()["code"]) == (409, "work_order.transition_invalid")

    # The work order and the list give no root cause; read, it is 未注明.
    detail = (await bench.client.get(f"{ORDERS}/{opened}", headers=rm01)).json()
    assert (detail["state"], detail["root_cause"], detail["events"][-1]["note"]) == (
        "closed", None, "关闭",
    )  # fmt: skip
    listed = (await bench.client.get(f"{ORDERS}?state=closed", headers=rm01)).json()["items"]
    assert [(w["id"], w["root_cause"]) for w in listed] == [(str(opened), None)]
    labels = {c.code: c.label for c in await service.root_causes(bench.conn, include_inactive=True)}
    assert service.root_cause_label(detail["root_cause"], labels) == "未注明"

    # The staff console's page of it (the branch head over rm01: RMs use the app) draws, with
    # the closing note.
    await signed_in(console, "bh.east")
    page = await console.get(f"/console/work-orders/{opened}")
    assert page.status_code == 200, page.text
    assert "关闭" in page.text
    assert "None" not in page.text


async def test_root_causes_are_counted_with_the_ones_closed_without_as_未注明(
    bench: Bench,
) -> None:
    await bench.rule()
    rm01 = await headers_of(bench.client, "rm01")
    without, named = await _resolved(bench, rm01), await _resolved(bench, rm01)
    assert (await _close(bench, without, rm01)).status_code == 200
    assert (await _close(bench, named, rm01, root_cause="system_fault")).status_code == 200

    labels = {c.code: c.label for c in await service.root_causes(bench.conn, include_inactive=True)}
    listed = (await bench.client.get(f"{ORDERS}?state=closed", headers=rm01)).json()["items"]
    counted = Counter(service.root_cause_label(w["root_cause"], labels) for w in listed)
    assert counted == {"未注明": 1, labels["system_fault"]: 1}  # none dropped
    assert service.root_cause_label("retired_code", labels) == "retired_code"


async def test_closing_with_a_root_cause_works_as_before(bench: Bench) -> None:
    await bench.rule()
    rm01 = await headers_of(bench.client, "rm01")
    opened = await _resolved(bench, rm01)

    closed = await _close(bench, opened, rm01, root_cause="system_fault")

    assert closed.status_code == 200, closed.text
    wo = closed.json()
    assert (wo["state"], wo["root_cause"]) == ("closed", "system_fault")
    assert (wo["events"][-1]["note"], wo["events"][-1]["root_cause"]) == ("关闭", "system_fault")
    assert (
        await bench.conn.fetchval("select root_cause from work_orders where id = $1", opened)
        == "system_fault"
    )


@pytest.mark.parametrize("cause", ["no_such_cause", "wait_time_retired"])
async def test_an_unknown_or_retired_root_cause_is_still_422(bench: Bench, cause: str) -> None:
    await bench.rule()
    await bench.conn.execute(
        "insert into work_order_root_causes (code, label, active, position)"
        " values ('wait_time_retired', '等候过久（旧）', false, 999)"
    )
    rm01 = await headers_of(bench.client, "rm01")
    opened = await _resolved(bench, rm01)

    refused = await _close(bench, opened, rm01, root_cause=cause)

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "work_order.root_cause_unknown"
    assert await bench.conn.fetchval("select state from work_orders where id = $1", opened) == (
        "resolved"
    )


async def test_a_caller_that_insists_on_a_root_cause_still_gets_422(bench: Bench) -> None:
    """The staff console's close form may insist (`require_root_cause`); nothing is changed."""
    await bench.rule()
    rm01 = await headers_of(bench.client, "rm01")
    opened = await _resolved(bench, rm01)

    with pytest.raises(service.RootCauseRequired):
        async with bench.conn.transaction():
            await service.transition(
                bench.conn, vault=bench.vault, caller=RM01, work_order_id=opened,
                to=service.State.CLOSED, note="关闭", require_root_cause=True,
            )  # fmt: skip

    assert await bench.conn.fetchval("select state from work_orders where id = $1", opened) == (
        "resolved"
    )

"""A work order's page says why each hand-over happened (`data.reason` of its `handed_over`
event): its customer moved to another RM by a bank feed, its RM moved to another unit by an
admin, or the branch head holding it left. An event with no reason known (recorded before staff
moves handed work orders over) says what it meant then: the customer moved. Before, every
hand-over said the customer had moved, also when the customer had not."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.console.test_pages import console_page
from tests.customers_data import customer_row, feed, headers_of
from tests.sync.test_work_order_sync import Desk, open_desk
from workbench.ids import uuid5_for
from workbench.settings import Settings
from workbench.workorders import escalation

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/work-orders"
USERS = "/api/v1/admin/users"
CUSTOMER_MOVED = "客户转至新的客户经理，工单随之转交"
RM_MOVED = "客户经理调至新的机构，工单随之转交"
BRANCH_HEAD_LEFT = "原负责人已调离，工单转交现任负责人"
_EVENT = re.compile(r'<li class="wo-event wo-event-([a-z_]+)">.*?<strong>(.*?)</strong>', re.S)


def _id(key: str) -> str:
    return str(uuid5_for(key))


async def _events(console: Any, order: uuid.UUID) -> list[tuple[str, str]]:
    """(kind, what the page calls it) of the work order's events, newest first."""
    html = console_page(await console.get(f"{LIST}/{order}"), 200)
    return _EVENT.findall(html)


async def _handed_over_three_ways(console: Any, db: Any, desk: Desk) -> None:
    """rm01's work order: rm01 moved to West Team 1 by an admin, then the customer moved to rm05
    by a feed; overdue, escalated to bh.west, who is then disabled (bh.west2 takes over)."""
    admin = await headers_of(console, "admin")
    moved = await console.patch(f"{USERS}/{_id('user:rm01')}", headers=admin,
                                json={"org_unit_id": _id("org:team-west-1")})  # fmt: skip
    assert moved.status_code == 200, moved.text
    await feed(console, admin, "customers",
               [customer_row("C-1", name="司马光明", owner="rm05", seq=1)])  # fmt: skip
    await db.execute(
        "update work_orders set due_at = now() - interval '2 hours',"
        " next_escalation_at = now() - interval '1 hour' where id = $1",
        desk.order,
    )
    async with db.transaction():
        assert await escalation.escalate_due(db, now=datetime.now(UTC)) == 1
    made = await console.post(USERS, headers=admin, json={
        "login": "bh.west2", "name": "新负责人", "role": "branch_head",
        "org_unit_id": _id("org:branch-west"), "password": "workbench-demo",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    off = await console.post(f"{USERS}/{_id('user:bh.west')}/disable", headers=admin)
    assert off.status_code == 200, off.text


async def test_the_page_says_why_each_hand_over_happened(
    console: Any, db: Any, settings: Settings
) -> None:
    desk = await open_desk(console, db, settings)
    await _handed_over_three_ways(console, db, desk)
    await signed_in(console, "bh.west2")

    assert await _events(console, desk.order) == [
        ("handed_over", BRANCH_HEAD_LEFT),
        ("escalated", "逾期升级至第 1 级"),
        ("handed_over", CUSTOMER_MOVED),
        ("handed_over", RM_MOVED),
        ("opened", "预警规则生成工单"),
    ]

    # Events recorded without a reason, or with one this console does not know yet, say what
    # a hand-over meant before: the customer moved.
    await db.execute(
        """
        update work_order_events
           set data = case when data ->> 'reason' = 'rm_moved' then data - 'reason'
                           else jsonb_set(data, '{reason}', '"merged_units"') end
         where work_order_id = $1 and kind = 'handed_over' and data ->> 'reason' <> 'customer_moved'
        """,
        desk.order,
    )
    assert [what for kind, what in await _events(console, desk.order) if kind == "handed_over"] == [
        CUSTOMER_MOVED,
        CUSTOMER_MOVED,
        CUSTOMER_MOVED,
    ]

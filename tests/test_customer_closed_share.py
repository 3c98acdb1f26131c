"""A customer who left the bank is no one's to share a brochure with: sharing with them answers
404 `customer.not_found` (online and from an offline push alike), as a customer outside the
RM's scope; reopened, they may be shared with again."""

from __future__ import annotations

from typing import Any

from tests.customers_data import customer_row, feed
from tests.workbench.brochures.conftest import studio  # noqa: F401 (fixture)
from tests.workbench.shares.conftest import Desk, desk  # noqa: F401 (fixture)

SHARED_WITH = customer_row("S-1", name="张小三", owner="rm01", seq=1)  # the desk's customer


async def test_a_closed_customer_is_no_share_target_until_reopened(
    desk: Desk,  # noqa: F811
    db: Any,
) -> None:
    admin = desk.studio.admin
    closed = await feed(desk.client, admin, "customers", [{**SHARED_WITH, "status": "closed"}])
    assert closed["updated"] == 1
    response = await desk.share(customer_id=str(desk.customer))
    assert (response.status_code, response.json()["code"]) == (404, "customer.not_found")
    pushed = await desk.client.post(
        "/api/v1/sync/push",
        json={"client_id": "app-1", "mutations": [{"id": 1, "name": "share.create", "args": {
            "client_ref": "11111111-1111-4111-8111-111111111111",
            "brochure_id": desk.brochure["id"], "channel": "wechat",
            "customer_id": str(desk.customer)}}]},
        headers=desk.rm01,
    )  # fmt: skip
    assert pushed.status_code == 200, pushed.text
    [result] = pushed.json()["results"]
    assert (result["status"], result["code"]) == ("rejected", "customer.not_found")
    assert await db.fetchval("select count(*) from shares") == 0
    # Sharing without a customer is still fine.
    assert (await desk.share()).status_code == 201

    await feed(desk.client, admin, "customers", [SHARED_WITH])
    made = await desk.made(customer_id=str(desk.customer))
    assert made["customer_id"] == str(desk.customer)

"""share.create through sync push: a share made offline is the same share as online, by its
`client_ref`; a resent batch is `duplicate`; what may not be shared is rejected with the API's
code."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.sync.sync_data import PUSH
from tests.workbench.shares.conftest import Desk

pytestmark = pytest.mark.usefixtures("demo_bank")


async def push(desk: Desk, client_id: str, *mutations: tuple[int, dict[str, Any]]) -> Any:
    body = {
        "client_id": client_id,
        "mutations": [{"id": n, "name": "share.create", "args": args} for n, args in mutations],
    }
    response = await desk.client.post(PUSH, json=body, headers=desk.rm01)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_a_share_made_offline_is_the_same_as_online(desk: Desk, db: Any):
    ref = str(uuid.uuid4())
    args = {"client_ref": ref, "brochure_id": desk.brochure["id"], "channel": "qr",
            "customer_id": str(desk.customer)}  # fmt: skip
    [offline] = await push(desk, "phone", (1, args))
    assert offline["status"] == "applied"
    share = offline["result"]
    assert share["url"] == f"{desk.base_url}/s/{share['code']}"
    assert share["poster_png_url"].endswith(f"/api/v1/shares/{share['id']}/poster.png")
    # The answer was lost: the same batch again changes nothing.
    [again] = await push(desk, "phone", (1, args))
    assert again["status"] == "duplicate"
    # The same share made online (the app retried it there) is the one made offline.
    online = await desk.share(**args)
    assert (online.status_code, online.json()) == (200, share)
    # Another install of the app sending it with a new mutation id gets it too.
    [other] = await push(desk, "tablet", (1, args))
    assert other["status"] == "applied"
    assert other["result"] == share
    assert await db.fetchval("select count(*) from shares") == 1
    assert (await desk.get(share["poster_png_url"])).status_code == 200


async def test_what_may_not_be_shared_offline_is_rejected_and_the_rest_applies(desk: Desk):
    results = await push(
        desk, "phone",
        (1, {"client_ref": str(uuid.uuid4()), "brochure_id": str(uuid.uuid4()),
             "channel": "sms"}),
        (2, {"client_ref": str(uuid.uuid4()), "brochure_id": desk.brochure["id"],
             "channel": "sms", "customer_id": str(desk.other_customer)}),
        (3, {"brochure_id": desk.brochure["id"], "channel": "sms"}),  # no client_ref
        (4, {"client_ref": str(uuid.uuid4()), "brochure_id": desk.brochure["id"],
             "channel": "sms"}),
    )  # fmt: skip
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "brochure.not_found"),
        ("rejected", "customer.not_found"),
        ("rejected", "request.invalid"),
        ("applied", None),
    ]

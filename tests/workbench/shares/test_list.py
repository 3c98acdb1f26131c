"""GET /shares?mine=1: the RM's shares, newest first, with their visitors' opens, dwell and
clicks from the per-visitor rollup; the customer's name masked; nobody else's shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.shares.conftest import SHARES, Desk

pytestmark = pytest.mark.usefixtures("demo_bank")


async def visitors(db: Any, share_id: str, *rows: tuple[bool, int, bool]) -> None:
    """One rollup row per (opened, dwell ms, clicked), as the tracking worker keeps them."""
    now = datetime.now(UTC)
    await db.executemany(
        "insert into share_visitors (share_id, visitor_id, first_open_at, last_hit_at, dwell_ms,"
        " clicked_at) values ($1, $2, $3, $4, $5, $6)",
        [
            (uuid.UUID(share_id), f"v{n}", now if opened else None, now, dwell,
             now if clicked else None)
            for n, (opened, dwell, clicked) in enumerate(rows)
        ],
    )  # fmt: skip


async def listed(desk: Desk, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = await desk.client.get(
        SHARES, params={"mine": "1", **params}, headers=headers or desk.rm01
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_my_shares_carry_their_visitors_counts(desk: Desk, db: Any):
    to_customer = await desk.made(customer_id=str(desk.customer))
    quiet = await desk.made(channel="link")
    await visitors(
        db, to_customer["id"],
        (True, 12_500, True), (True, 3_000, False), (True, 0, False),
        (False, 9_000, False),  # hits without a visible open: not an open, its dwell not counted
    )  # fmt: skip
    page = await listed(desk)
    assert [i["id"] for i in page["items"]] == [quiet["id"], to_customer["id"]]
    newest, older = page["items"]
    assert (newest["opens"], newest["unique_visitors"], newest["dwell_seconds"],
            newest["clicks"], newest["customer"]) == (0, 0, 0, 0, None)  # fmt: skip
    assert (older["opens"], older["unique_visitors"], older["dwell_seconds"],
            older["clicks"]) == (3, 3, 15, 1)  # fmt: skip
    assert older["customer"] == "张*三"  # never the name itself
    assert older["title"] == "稳享90天"
    assert older["url"] == to_customer["url"]
    assert page["next_cursor"] is None


async def test_the_list_pages_newest_first(desk: Desk, db: Any):
    made = [await desk.made() for _ in range(3)]
    for minutes, share in zip((30, 20, 10), made, strict=True):  # oldest first
        await db.execute(
            "update shares set created_at = now() - make_interval(mins => $2) where id = $1",
            uuid.UUID(share["id"]), minutes,
        )  # fmt: skip
    first = await listed(desk, limit=2)
    second = await listed(desk, limit=2, cursor=first["next_cursor"])
    seen = [i["id"] for i in first["items"] + second["items"]]
    assert seen == [m["id"] for m in reversed(made)]
    assert second["next_cursor"] is None
    tampered = await desk.client.get(SHARES, params={"cursor": "x"}, headers=desk.rm01)
    assert tampered.status_code == 400


async def test_nobody_sees_another_rms_shares(desk: Desk, db: Any):
    made = await desk.made(customer_id=str(desk.customer))
    await visitors(db, made["id"], (True, 1_000, True))
    assert (await listed(desk, desk.rm02))["items"] == []
    west = await headers_of(desk.client, "bh.west")
    assert (await desk.client.get(SHARES, headers=west)).json()["items"] == []
    # The east branch head sees the share of their subtree, with the counts and the mask.
    east = await headers_of(desk.client, "bh.east")
    [row] = (await desk.client.get(SHARES, headers=east)).json()["items"]
    assert (row["id"], row["opens"], row["customer"]) == (made["id"], 1, "张*三")
    # A customer now owned by another RM is no longer named in rm01's list.
    await db.execute(
        "update customers set owner_id = (select id from users where login = 'rm02') where id = $1",
        desk.customer,
    )
    [row] = (await listed(desk))["items"]
    assert row["customer"] is None
    assert row["opens"] == 1

"""Marking all read up to what the app was shown: the list's first page hands out `listed`, and
read-all with it marks only notifications that page could have listed. A notification written by
a transaction still open when the app listed (dated by that transaction's start, so it sorts
below ones committed before it) arrives meanwhile and stays unread."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.helpers import bearer, login
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.notifications.service import notify
from workbench.pagination import encode_cursor

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
PATH = "/api/v1/notifications"


@pytest.fixture
async def conn(db):
    await use_json_codecs(db)
    return db


@pytest.fixture
async def other(settings) -> Any:
    """A second connection, for a transaction held open across the app's requests."""
    conn = await asyncpg.connect(settings.database_url)
    await use_json_codecs(conn)
    yield conn
    await conn.close()


@pytest.fixture
async def rm01(client):
    return bearer(await login(client, "rm01", device_no=1))


async def _notify(conn: Any, n: int, **extra: Any) -> uuid.UUID:
    notification_id = await notify(
        conn, user_id=RM01, category="customer.verified", title=f"通知 {n}", body=f"正文 {n}",
        dedupe_key=f"listed:{n}", **extra,
    )  # fmt: skip
    assert notification_id is not None
    return notification_id


async def _unread(client: Any, headers: dict[str, str]) -> list[str]:
    response = await client.get(f"{PATH}?unread=true", headers=headers)
    assert response.status_code == 200, response.text
    return [i["title"] for i in response.json()["items"]]


async def test_one_committed_after_the_list_stays_unread_though_it_sorts_older(
    client, conn, other, rm01
):
    slow = other.transaction()
    await slow.start()
    try:
        late = await _notify(other, 1)  # written by a transaction still open
        shown = await _notify(conn, 2)  # committed at once
        page = await client.get(f"{PATH}?unread=true", headers=rm01)
        assert page.status_code == 200, page.text
        assert [i["title"] for i in page.json()["items"]] == ["通知 2"]
        listed = page.json()["listed"]
        assert listed
    finally:
        await slow.commit()
    assert await _unread(client, rm01) == ["通知 2", "通知 1"]  # older by its transaction's start

    response = await client.post(
        f"{PATH}/read-all", json={"up_to_id": str(shown), "listed": listed}, headers=rm01
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"marked": 1}
    assert await _unread(client, rm01) == ["通知 1"]
    assert await conn.fetchval("select read_at from notifications where id = $1", late) is None
    # `listed` alone marks the same, and again nothing.
    again = await client.post(f"{PATH}/read-all", json={"listed": listed}, headers=rm01)
    assert again.json() == {"marked": 0}
    # The next list shows it, and its own `listed` covers it.
    fresh = (await client.get(PATH, headers=rm01)).json()
    marked = await client.post(f"{PATH}/read-all", json={"listed": fresh["listed"]}, headers=rm01)
    assert marked.json() == {"marked": 1}
    assert await _unread(client, rm01) == []


async def test_listed_leaves_one_that_fell_due_after_the_list_unread(client, conn, rm01):
    await _notify(conn, 1)
    # Written before the list but scheduled: due only once its time comes, after the list.
    scheduled = await _notify(conn, 2)
    await conn.execute(
        "update notifications set created_at = now() + interval '1 hour' where id = $1", scheduled
    )
    page = (await client.get(PATH, headers=rm01)).json()
    assert [i["title"] for i in page["items"]] == ["通知 1"]
    await conn.execute(  # its time has come
        "update notifications set created_at = now() where id = $1", scheduled
    )
    response = await client.post(f"{PATH}/read-all", json={"listed": page["listed"]}, headers=rm01)
    assert response.json() == {"marked": 1}
    assert await _unread(client, rm01) == ["通知 2"]


async def test_listed_comes_with_the_first_page_only_and_the_old_form_still_works(
    client, conn, rm01
):
    for n in range(1, 5):
        await _notify(conn, n)
    first = (await client.get(f"{PATH}?limit=2", headers=rm01)).json()
    assert first["listed"]
    assert first["next_cursor"]
    second = await client.get(f"{PATH}?limit=2&cursor={first['next_cursor']}", headers=rm01)
    assert second.json().get("listed") is None
    old = await client.post(
        f"{PATH}/read-all", json={"up_to_id": first["items"][0]["id"]}, headers=rm01
    )
    assert old.status_code == 200, old.text
    assert old.json() == {"marked": 4}


async def test_a_listed_the_server_did_not_hand_out_is_refused_and_changes_nothing(
    client, conn, rm01
):
    await _notify(conn, 1)
    snapshots = (
        "0:0:", "5:3:", "3:5:7", "3:9:5,4", "3:99999999999999999999:", "3:9:4; drop", "3:9:٤",
    )  # fmt: skip
    bad_values = [
        "not a token",
        "",
        encode_cursor([]),
        encode_cursor(["3:9:4", "9999-01-01T00:00:00Z"]),  # no list was made then
        encode_cursor(["3:9:4", "2026-01-01T00:00:00"]),  # a time without an offset
        *(encode_cursor([s, "2026-01-01T00:00:00Z"]) for s in snapshots),
    ]
    for bad in bad_values:
        response = await client.post(f"{PATH}/read-all", json={"listed": bad}, headers=rm01)
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["path"] == "$.listed"
    too_long = await client.post(f"{PATH}/read-all", json={"listed": "x" * 200_001}, headers=rm01)
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["errors"][0]["path"] == "$.listed"
    assert await _unread(client, rm01) == ["通知 1"]

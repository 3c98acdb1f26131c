"""The notification centre: what a user was told, newest first, and marking it read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.helpers import bearer, login
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.notifications.service import notify

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
RM02 = uuid5_for("user:rm02")
PATH = "/api/v1/notifications"


@pytest.fixture
async def conn(db):
    """The test's connection, decoding JSON like the app's pool does."""
    await use_json_codecs(db)
    return db


@pytest.fixture
async def rm01(client):
    return await login(client, "rm01", device_no=1)


@pytest.fixture
async def rm02(client):
    return await login(client, "rm02", device_no=2)


async def _notify(conn: Any, user_id: uuid.UUID, n: int, *, minutes_ago: int | None = None) -> Any:
    created = await notify(
        conn,
        user_id=user_id,
        category="customer.verified",
        title=f"通知 {n}",
        body=f"正文 {n}",
        dedupe_key=f"test:{n}",
        data={"n": n},
    )
    notification_id = await conn.fetchval(
        "select id from notifications where user_id = $1 and dedupe_key = $2", user_id, f"test:{n}"
    )
    assert created == notification_id
    if minutes_ago is not None:
        await conn.execute(
            "update notifications set created_at = now() - make_interval(mins => $2) where id = $1",
            notification_id,
            minutes_ago,
        )
    return notification_id


async def _all_pages(client: Any, tokens: dict[str, Any], query: str = "") -> list[list[Any]]:
    pages, cursor = [], None
    while True:
        url = f"{PATH}?limit=3{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=bearer(tokens))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return pages
        assert len(pages) < 20, "pagination does not end"


async def test_list_is_newest_first_and_keyset_paginated(client, conn, rm01):
    # Three older ones at distinct times, then five created in one transaction: those share
    # created_at, and pagination must still neither skip nor repeat any of them.
    for n, minutes in ((1, 30), (2, 20), (3, 10)):
        await _notify(conn, RM01, n, minutes_ago=minutes)
    async with conn.transaction():
        for n in range(4, 9):
            await _notify(conn, RM01, n)
    await _notify(conn, RM02, 99)  # someone else's

    pages = await _all_pages(client, rm01)
    assert [len(p) for p in pages] == [3, 3, 2]
    items = [item for page in pages for item in page]
    assert len({i["id"] for i in items}) == 8
    keys = [(datetime.fromisoformat(i["created_at"]), uuid.UUID(i["id"])) for i in items]
    assert keys == sorted(keys, reverse=True)
    # The newest five came in one go (ids break the tie), then the older three by age.
    assert [i["title"] for i in items[5:]] == ["通知 3", "通知 2", "通知 1"]
    assert {i["title"] for i in items[:5]} == {f"通知 {n}" for n in range(4, 9)}
    first = items[-1]
    assert first["category"] == "customer.verified"
    assert first["body"] == "正文 1"
    assert first["data"] == {"n": 1}
    assert first["read_at"] is None

    # The other user sees only their own.
    rm02 = await login(client, "rm02", device_no=2)
    theirs = await client.get(PATH, headers=bearer(rm02))
    assert [i["title"] for i in theirs.json()["items"]] == ["通知 99"]
    assert theirs.json().get("next_cursor") is None


async def test_unread_filter_and_marking_read(client, conn, db, rm01):
    ids = [await _notify(conn, RM01, n, minutes_ago=10 - n) for n in range(1, 6)]
    for notification_id in ids[1], ids[3]:
        response = await client.post(f"{PATH}/{notification_id}/read", headers=bearer(rm01))
        assert response.status_code == 200, response.text
        assert response.json()["read_at"] is not None
        assert response.json()["id"] == str(notification_id)

    unread = [i for page in await _all_pages(client, rm01, "&unread=true") for i in page]
    assert [i["title"] for i in unread] == ["通知 5", "通知 3", "通知 1"]
    assert all(i["read_at"] is None for i in unread)
    everything = await client.get(f"{PATH}?unread=false", headers=bearer(rm01))
    assert [i["read_at"] is not None for i in everything.json()["items"]] == [
        False,
        True,
        False,
        True,
        False,
    ]
    unread_rows = await db.fetchval(
        "select count(*) from notifications where user_id = $1 and read_at is null", RM01
    )
    assert unread_rows == 3


async def test_marking_read_twice_keeps_the_first_time(client, conn, db, rm01):
    notification_id = await _notify(conn, RM01, 1)
    first = await client.post(f"{PATH}/{notification_id}/read", headers=bearer(rm01))
    assert first.status_code == 200
    read_at = first.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"{PATH}/{notification_id}/read", headers=bearer(rm01))
    assert again.status_code == 200
    assert again.json()["read_at"] == read_at
    stored = await db.fetchval("select read_at from notifications where id = $1", notification_id)
    assert stored == datetime.fromisoformat(read_at)


async def test_another_users_notification_is_not_found(client, conn, db, rm01, rm02):
    mine = await _notify(conn, RM01, 1)
    response = await client.post(f"{PATH}/{mine}/read", headers=bearer(rm02))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "notification.not_found"
    # Exactly like an id that does not exist at all.
    unknown = await client.post(f"{PATH}/{uuid.uuid4()}/read", headers=bearer(rm02))
    assert unknown.status_code == 404
    assert unknown.json()["code"] == response.json()["code"]
    assert await db.fetchval("select read_at from notifications where id = $1", mine) is None
    listed = await client.get(PATH, headers=bearer(rm02))
    assert listed.json()["items"] == []


async def test_notify_is_once_per_dedupe_key_and_user(conn, db):
    args = {"category": "task.reminder", "title": "任务到期", "body": "您有一项任务今天到期。"}
    first = await notify(conn, user_id=RM01, dedupe_key="task:1", **args)
    assert isinstance(first, uuid.UUID)
    assert await notify(conn, user_id=RM01, dedupe_key="task:1", **args) is None
    assert isinstance(await notify(conn, user_id=RM02, dedupe_key="task:1", **args), uuid.UUID)
    rows = await db.fetch("select user_id, data from notifications order by user_id")
    assert sorted(r["user_id"] for r in rows) == sorted([RM01, RM02])
    assert [r["data"] for r in rows] == [{}, {}]


async def test_bad_requests_are_problems(client, conn, rm01):
    await _notify(conn, RM01, 1)
    bad_cursor = await client.get(f"{PATH}?cursor=not-a-cursor", headers=bearer(rm01))
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["code"] == "request.bad_cursor"
    for limit in (0, 201):
        response = await client.get(f"{PATH}?limit={limit}", headers=bearer(rm01))
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(PATH)).status_code == 401
    assert (await client.post(f"{PATH}/{uuid.uuid4()}/read")).status_code == 401
    not_uuid = await client.post(f"{PATH}/not-a-uuid/read", headers=bearer(rm01))
    assert 400 <= not_uuid.status_code < 500

"""What an RM notices in the notification centre's badge and in the settings screen.

Covers: the unread count matching what `unread=true` lists (own, due, not withdrawn, in-app);
marking all read at once, up to the newest the app has shown (a notification arriving meanwhile
stays unread), idempotently and only the caller's own; the settings screen in Chinese; and a
misspelt or unknown preferences field refused with a 422 naming it instead of silently ignored.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from mobile_contracts.v1.identity import Role
from tests.helpers import bearer, login
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.notifications import categories
from workbench.notifications.service import notify

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
RM02 = uuid5_for("user:rm02")
PATH = "/api/v1/notifications"
PREFERENCES = "/api/v1/me/notification-preferences"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def conn(db):
    await use_json_codecs(db)
    return db


@pytest.fixture
async def rm01(client):
    return bearer(await login(client, "rm01", device_no=1))


@pytest.fixture
async def rm02(client):
    return bearer(await login(client, "rm02", device_no=2))


async def _notify(conn: Any, user_id: uuid.UUID, n: int, *, minutes_ago: int = 0) -> uuid.UUID:
    notification_id = await notify(
        conn, user_id=user_id, category="customer.verified", title=f"通知 {n}",
        body=f"正文 {n}", dedupe_key=f"badge:{n}",
    )  # fmt: skip
    assert notification_id is not None
    if minutes_ago:
        await conn.execute(
            "update notifications set created_at = now() - make_interval(mins => $2) where id = $1",
            notification_id,
            minutes_ago,
        )
    return notification_id


async def _badge(client: Any, headers: dict[str, str]) -> int:
    response = await client.get(f"{PATH}/unread-count", headers=headers)
    assert response.status_code == 200, response.text
    unread: int = response.json()["unread"]
    return unread


async def _unread_titles(client: Any, headers: dict[str, str]) -> list[str]:
    response = await client.get(f"{PATH}?unread=true&limit=200", headers=headers)
    assert response.status_code == 200, response.text
    return [i["title"] for i in response.json()["items"]]


async def test_the_badge_counts_exactly_what_the_unread_list_shows(client, conn, rm01, rm02):
    ids = [await _notify(conn, RM01, n, minutes_ago=10 - n) for n in range(1, 5)]
    await _notify(conn, RM02, 99)  # someone else's
    # Scheduled for later: not listed yet, so not counted.
    await notify(conn, user_id=RM01, category="task.reminder", title="稍后", body="稍后",
                 dedupe_key="later", send_at=await conn.fetchval(
                     "select now() + interval '1 hour'"))  # fmt: skip
    # Withdrawn (the task was finished before its reminder went out): not listed, not counted.
    gone = await notify(conn, user_id=RM01, category="task.reminder", title="撤回", body="撤回",
                        dedupe_key="gone", subject_id=uuid.uuid4())  # fmt: skip
    await conn.execute("update notifications set push_status = 'withdrawn' where id = $1", gone)
    # A silent poke is never in the centre.
    await notify(conn, user_id=RM01, category="sync.poke", title="", body="", dedupe_key="poke")

    assert await _badge(client, rm01) == 4 == len(await _unread_titles(client, rm01))
    read = await client.post(f"{PATH}/{ids[0]}/read", headers=rm01)
    assert read.status_code == 200, read.text
    assert await _badge(client, rm01) == 3 == len(await _unread_titles(client, rm01))
    assert await _badge(client, rm02) == 1


async def test_read_all_marks_every_unread_one_of_mine_once(client, conn, db, rm01, rm02):
    for n in range(1, 6):
        await _notify(conn, RM01, n, minutes_ago=10 - n)
    theirs = await _notify(conn, RM02, 99)

    first = await client.post(f"{PATH}/read-all", headers=rm01)
    assert first.status_code == 200, first.text
    assert first.json() == {"marked": 5}
    assert await _badge(client, rm01) == 0
    assert await _unread_titles(client, rm01) == []
    read_at = await db.fetch("select read_at from notifications where user_id = $1", RM01)
    assert all(r["read_at"] is not None for r in read_at)

    again = await client.post(f"{PATH}/read-all", json={}, headers=rm01)
    assert again.status_code == 200, again.text
    assert again.json() == {"marked": 0}
    # The first read time stays.
    assert await db.fetch("select read_at from notifications where user_id = $1", RM01) == read_at
    # Someone else's are untouched.
    assert await db.fetchval("select read_at from notifications where id = $1", theirs) is None
    assert await _badge(client, rm02) == 1


async def test_read_all_up_to_the_newest_shown_leaves_a_later_arrival_unread(client, conn, rm01):
    for n in range(1, 4):
        await _notify(conn, RM01, n, minutes_ago=10 - n)
    shown = await client.get(PATH, headers=rm01)
    newest_shown = shown.json()["items"][0]["id"]
    await _notify(conn, RM01, 4)  # arrives while the RM looks at the list

    response = await client.post(f"{PATH}/read-all", json={"up_to_id": newest_shown}, headers=rm01)
    assert response.status_code == 200, response.text
    assert response.json() == {"marked": 3}
    assert await _unread_titles(client, rm01) == ["通知 4"]
    assert await _badge(client, rm01) == 1


async def test_read_all_with_someone_elses_or_a_bad_anchor_is_refused(client, conn, db, rm01, rm02):
    await _notify(conn, RM01, 1)
    theirs = await _notify(conn, RM02, 2)
    response = await client.post(f"{PATH}/read-all", json={"up_to_id": str(theirs)}, headers=rm01)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "notification.not_found"
    schema = (await client.get("/schema/openapi.json")).json()
    documented = schema["paths"][f"{PATH}/read-all"]["post"]["responses"]
    assert "notification.not_found" in documented["404"]["description"]  # the app can expect it
    for body in ({"up_to_id": "not-a-uuid"}, {"upto_id": str(theirs)}, [1]):
        bad = await client.post(f"{PATH}/read-all", json=body, headers=rm01)
        assert 400 <= bad.status_code < 500, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
    assert await db.fetchval("select count(*) from notifications where read_at is not null") == 0
    assert (await client.post(f"{PATH}/read-all")).status_code == 401
    assert (await client.get(f"{PATH}/unread-count")).status_code == 401


async def test_read_all_up_to_a_poke_or_summary_is_refused_like_reading_it(client, conn, rm01):
    """A silent sync poke or a push summary is never listed: the app cannot have shown it, so
    as an `up_to_id` it is none of mine in the list (404, as reading it alone is), and marks
    nothing."""
    for n in range(1, 4):
        await _notify(conn, RM01, n, minutes_ago=10 - n)
    for n, category in enumerate((categories.SYNC_POKE, categories.PUSH_SUMMARY), start=10):
        hidden = await notify(
            conn, user_id=RM01, category=category, title="", body="", dedupe_key=f"hidden:{n}"
        )
        assert hidden is not None
        alone = await client.post(f"{PATH}/{hidden}/read", headers=rm01)
        assert alone.status_code == 404, alone.text
        response = await client.post(
            f"{PATH}/read-all", json={"up_to_id": str(hidden)}, headers=rm01
        )
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "notification.not_found"
    assert await _badge(client, rm01) == 3


# ---- the settings screen ----------------------------------------------------------------------


async def test_the_settings_screen_is_in_chinese_with_the_category_codes_kept(client, rm01):
    response = await client.get(PREFERENCES, headers=rm01)
    assert response.status_code == 200, response.text
    listed = response.json()["categories"]
    assert {c["name"] for c in listed} >= {"task.reminder", "work_order.assigned", "push.test"}
    for category in listed:
        assert HAN.search(category["label"]), category
        assert not re.search(r"[A-Za-z]{3,}", category["label"]), category


def test_every_category_has_a_chinese_label_and_heads_only_ones_do_not_reach_an_rm():
    for category in categories.ALL.values():
        assert HAN.search(category.label), category
    for_rm = {c.name for c in categories.listed_for(Role.RM)}
    for_head = {c.name for c in categories.listed_for(Role.BRANCH_HEAD)}
    assert "task.escalation" not in for_rm
    assert "report.ready" not in for_rm
    assert {"task.escalation", "report.ready"} <= for_head
    # Only RMs are assigned tasks: a branch head has no reminder of their own to mute.
    assert "task.reminder" in for_rm
    assert "task.reminder" not in for_head
    assert "sync.poke" not in for_head  # not in the centre: nothing to set


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"foo": 1}, "foo"),
        ({"mute_categories": ["brochure.opened"]}, "mute_categories"),
        ({"quiet_hours": {"start": "22:00", "end": "08:00", "tz": "Asia/Shanghai"}}, "tz"),
    ],
    ids=["unknown field", "typo of muted_categories", "unknown nested field"],
)
async def test_an_unknown_preferences_field_is_refused_naming_it(client, db, rm01, change, field):
    response = await client.put(PREFERENCES, json=change, headers=rm01)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "request.validation_failed", body
    assert any(
        e["path"].endswith(f".{field}") and e["message"] == "is not a field this request takes"
        for e in body["errors"]
    ), body
    assert await db.fetchval("select count(*) from notification_preferences") == 0

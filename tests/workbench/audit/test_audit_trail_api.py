"""GET /api/v1/audit-events: compliance and admins read the whole bank's audit trail, newest first,
with who, what (in words), which object, from where and the recorded detail; filtered by days
(bank time zone, `to` included), actor login, kind and object id; paged by cursors of this list.
Other roles are refused (403)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.customers_data import headers_of

pytestmark = pytest.mark.usefixtures("demo_bank")

URL = "/api/v1/audit-events"
BROCHURE = uuid.UUID("0195f0a0-0000-7000-8000-00000000b001")
CUSTOMER = uuid.UUID("0195f0a0-0000-7000-8000-00000000c001")


async def user_id(db: Any, login: str) -> uuid.UUID:
    found: uuid.UUID = await db.fetchval("select id from users where login = $1", login)
    return found


async def arrange(db: Any) -> dict[str, int]:
    """Five events over 1-3 March 2026 (Shanghai), by key: their ids."""
    compliance, rm01 = await user_id(db, "compliance"), await user_id(db, "rm01")
    bh, admin = await user_id(db, "bh.east"), await user_id(db, "admin")
    rows = [
        # 23:30 on 1 March in Shanghai
        ("approved", datetime(2026, 3, 1, 15, 30, tzinfo=UTC), compliance, "brochure.approved",
         f"brochure:{BROCHURE}", "10.1.2.3", {"version": 2, "content_hash": "ab12"}),
        # 00:30 on 2 March in Shanghai: still 1 March in UTC
        ("viewed", datetime(2026, 3, 1, 16, 30, tzinfo=UTC), rm01, "customer_viewed",
         f"customer:{CUSTOMER}", "10.9.9.9", {}),
        ("failed", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), None, "login_failed",
         "device:device-00000042", "192.0.2.7", {"reason": "wrong_password"}),
        ("exported", datetime(2026, 3, 3, 1, 0, tzinfo=UTC), bh, "export.downloaded",
         "export_table:tasks", "10.4.4.4",
         {"table": "tasks", "format": "csv", "rows": 12, "filters": {"from": "2026-03-01"}}),
        # the same moment as the export: the later id is the newer
        ("unknown", datetime(2026, 3, 3, 1, 0, tzinfo=UTC), admin, "something.new",
         "recommendation_rules", None, {"fields": ["min_aum"]}),
    ]  # fmt: skip
    ids = {}
    for key, at, actor, action, subject, ip, detail in rows:
        ids[key] = await db.fetchval(
            """insert into audit_events (occurred_at, actor_id, action, subject, client_ip, detail)
               values ($1, $2, $3, $4, $5::inet, $6::jsonb) returning id""",
            at, actor, action, subject, ip, _json(detail),
        )  # fmt: skip
    return ids


def _json(value: Any) -> str:
    return json.dumps(value)


async def listed(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    got = await client.get(URL, params=params, headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {"items", "next_cursor"}
    items: list[dict[str, Any]] = body["items"]
    return items


@pytest.mark.parametrize("who", ["rm01", "bh.east", "marketing"])
async def test_other_roles_may_not_read_the_trail(client, who):
    got = await client.get(URL, headers=await headers_of(client, who))
    assert got.status_code == 403, got.text
    assert got.json()["code"] == "auth.forbidden"


async def test_compliance_and_admins_read_every_event_newest_first_in_words(client, db):
    ids = await arrange(db)
    for who in ("compliance", "admin"):
        items = await listed(client, await headers_of(client, who), to="2026-03-03")
        assert [e["id"] for e in items] == [
            ids["unknown"], ids["exported"], ids["failed"], ids["viewed"], ids["approved"]
        ]  # fmt: skip
        by_id = {e["id"]: e for e in items}
        approved = by_id[ids["approved"]]
        assert approved["kind"] == "brochure.approved"
        assert approved["kind_label"] == "批准宣传册"
        assert approved["actor"] == {
            "id": str(await user_id(db, "compliance")), "name": approved["actor"]["name"],
            "login": "compliance",
        }  # fmt: skip
        assert approved["actor"]["name"]
        assert approved["subject"] == {"type": "brochure", "type_label": "宣传册",
                                       "id": str(BROCHURE)}  # fmt: skip
        assert approved["client_ip"] == "10.1.2.3"
        assert approved["detail"] == {"version": 2, "content_hash": "ab12"}
        assert approved["occurred_at"].startswith("2026-03-01T15:30:00")
        failed = by_id[ids["failed"]]
        assert failed["actor"] is None  # no one signed in
        assert failed["kind_label"] == "登录失败（账号或密码错误）"
        assert failed["subject"]["id"] == "device-00000042"
        unknown = by_id[ids["unknown"]]
        assert unknown["kind_label"] == "something.new"  # no words for it: its kind
        assert unknown["subject"] == {"type": "recommendation_rules", "type_label": "推荐规则",
                                      "id": None}  # fmt: skip
        assert unknown["client_ip"] is None


async def test_filters_by_days_actor_kind_and_object(client, db):
    ids = await arrange(db)
    headers = await headers_of(client, "compliance")

    async def found(**params: Any) -> list[int]:
        return [e["id"] for e in await listed(client, headers, **params)]

    # Days in the bank's time zone, both included: 00:30 on 2 March is the 2nd there.
    assert await found(**{"from": "2026-03-02", "to": "2026-03-02"}) == [
        ids["failed"],
        ids["viewed"],
    ]
    assert await found(to="2026-03-01") == [ids["approved"]]
    assert await found(**{"from": "2026-03-03", "to": "2026-03-04"}) == [
        ids["unknown"],
        ids["exported"],
    ]
    assert await found(**{"from": "2026-03-02T02:00:00Z", "to": "2026-03-03"}) == [
        ids["unknown"], ids["exported"], ids["failed"]
    ]  # fmt: skip
    # The actor by login, any case; a login no one has finds nothing.
    assert await found(actor="RM01") == [ids["viewed"]]
    assert await found(actor="nobody") == []
    assert await found(kind="export.downloaded") == [ids["exported"]]
    assert await found(kind="login_failed", to="2026-03-03") == [ids["failed"]]
    assert await found(object_id=str(BROCHURE)) == [ids["approved"]]
    assert await found(object_id="device-00000042") == [ids["failed"]]
    assert await found(object_id="tasks") == [ids["exported"]]
    assert await found(actor="admin", kind="something.new", object_id="recommendation_rules") == [
        ids["unknown"]
    ]

    backwards = await client.get(URL, params={"from": "2026-03-03", "to": "2026-03-01"},
                                 headers=headers)  # fmt: skip
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "audit.bad_period"
    for bad in ({"from": "3 March"}, {"kind": "Login Failed"}, {"actor": "a b"},
                {"object_id": "x" * 201}, {"to": "9999-12-31"}):  # fmt: skip
        got = await client.get(URL, params=bad, headers=headers)
        assert got.status_code in (400, 422), (bad, got.text)


async def test_pages_follow_their_cursor_and_refuse_another_lists(client, db):
    ids = await arrange(db)
    await headers_of(client, "compliance")  # a second device for the devices' list below
    headers = await headers_of(client, "admin")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "to": "2026-03-03"}
        if cursor:
            params["cursor"] = cursor
        got = await client.get(URL, params=params, headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        assert len(body["items"]) <= 2
        seen += [e["id"] for e in body["items"]]
        pages += 1
        if (cursor := body["next_cursor"]) is None:
            break
    assert pages == 3
    assert seen == [ids["unknown"], ids["exported"], ids["failed"], ids["viewed"], ids["approved"]]

    # A cursor of another list (the devices') is refused by name, never a page of this order.
    devices = await client.get("/api/v1/admin/devices", params={"limit": 1}, headers=headers)
    other = devices.json()["next_cursor"]
    assert other, devices.text
    refused = await client.get(URL, params={"cursor": other}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == "request.bad_cursor"

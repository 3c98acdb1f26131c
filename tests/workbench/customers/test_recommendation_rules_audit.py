"""An admin's replacement of the recommendation rule table is in the audit trail like every
other admin change: who, when, from which address (relay headers believed from trusted proxies
only), and what changed (the rules added, removed and changed, by id, with the names of the
fields changed, never their values); a replacement that changes nothing, or is refused, writes
no row."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import FromPeer, bearer, login
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

RULES = "/api/v1/admin/recommendation-rules"
PROXY = "10.0.0.2"
ADMIN_IP = "203.0.113.7"  # the admin's browser or script, behind the bank's proxy
ADMIN_ID = uuid5_for("user:admin")
KEPT, DROPPED, NEW = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.fixture
async def proxied(make_client: Any) -> AsyncTestClient[Litestar]:
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    client._transport = FromPeer(client, PROXY)
    client.headers["X-Forwarded-For"] = ADMIN_IP
    return client


def _rule(rule_id: uuid.UUID, name: str, when: dict[str, Any], weight: int) -> dict[str, Any]:
    return {"id": str(rule_id), "name": name, "when": when, "recommend": {"category": "fund"},
            "weight": weight}  # fmt: skip


async def _trail(db: Any) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "select action, actor_id, host(client_ip) as ip, detail, occurred_at from audit_events"
        " where subject = 'recommendation_rules' order by id"
    )
    return [
        (r["action"], r["actor_id"], r["ip"],
         r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]),
         r["occurred_at"])
        for r in rows
    ]  # fmt: skip


async def test_replacing_the_rule_table_is_audited(db, proxied):
    admin = bearer(await login(proxied, "admin", device_no="admin-api"))
    first = {"rules": [_rule(KEPT, "贵宾客户", {"tag": "vip"}, 50),
                       _rule(DROPPED, "私行客户", {"segment": "private"}, 30)]}  # fmt: skip
    second = {"rules": [_rule(KEPT, "贵宾客户", {"tag": "gold"}, 80),
                        _rule(NEW, "基金持有人", {"holds_category": "fund"}, 10)]}  # fmt: skip
    for table in (first, first, second):  # the second changes nothing: no row
        saved = await proxied.put(RULES, json=table, headers=admin)
        assert saved.status_code == 200, saved.text
    duplicate = {"rules": [_rule(NEW, "甲", {}, 1), _rule(NEW, "乙", {}, 2)]}
    refused = await proxied.put(RULES, json=duplicate, headers=admin)
    assert refused.status_code == 400, refused.text

    trail = await _trail(db)
    assert [row[:4] for row in trail] == [
        ("recommendation_rules.replaced", ADMIN_ID, ADMIN_IP, {
            "added": [str(KEPT), str(DROPPED)], "removed": [], "changed": [],
            "rules": {"before": 0, "after": 2},
        }),
        ("recommendation_rules.replaced", ADMIN_ID, ADMIN_IP, {
            "added": [str(NEW)], "removed": [str(DROPPED)],
            "changed": [{"id": str(KEPT), "fields": ["when.tag", "weight"]}],
            "rules": {"before": 2, "after": 2},
        }),
    ]  # fmt: skip
    assert all(row[4] is not None for row in trail)  # when
    for value in ("贵宾客户", "私行客户", "vip", "gold", "private"):  # names, never values
        found = await db.fetchval(
            "select count(*) from audit_events where strpos(detail::text, $1) > 0", value
        )
        assert found == 0, f"an audit row holds {value!r}"

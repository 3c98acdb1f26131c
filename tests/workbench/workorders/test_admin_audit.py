"""An admin's changes to alert rules and root causes are in the audit trail, through the API and
the console alike: who, from which address (relay headers believed from trusted proxies only),
what (the names of the fields changed, never their values); a request that changes nothing
writes no row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.console.conftest import make_console, post_form, signed_in
from tests.helpers import FromPeer, bearer, login
from tests.workbench.workorders.wo_setup import Bench, user_id

__all__ = ["make_console"]  # the console's client, for the console's forms

PROXY = "10.0.0.2"
ADMIN_IP = "203.0.113.7"  # the admin's browser or script, behind the bank's proxy
ELSEWHERE = "198.51.100.9"  # a peer that is no proxy of ours
RULES = "/api/v1/alert-rules"
CAUSES = "/api/v1/work-orders/root-causes"
LABEL = "排队叫号系统故障"


def behind(client: AsyncTestClient[Litestar], peer: str, forwarded_for: str) -> None:
    """Send the client's requests from `peer`, naming `forwarded_for` as the client."""
    client._transport = FromPeer(client, peer)
    client.headers["X-Forwarded-For"] = forwarded_for


@pytest.fixture
async def proxied(make_client: Any) -> AsyncTestClient[Litestar]:
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    behind(client, PROXY, ADMIN_IP)
    return client


async def trail(bench: Bench, subject: str) -> list[tuple[Any, ...]]:
    rows = await bench.conn.fetch(
        "select action, actor_id, host(client_ip) as ip, detail from audit_events"
        " where subject = $1 order by id",
        subject,
    )
    return [
        (r["action"], r["actor_id"], r["ip"],
         r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))
        for r in rows
    ]  # fmt: skip


async def no_values_in_the_trail(bench: Bench, *values: str) -> None:
    for value in values:
        found = await bench.conn.fetchval(
            "select count(*) from audit_events where strpos(detail::text, $1) > 0", value
        )
        assert found == 0, f"an audit row holds {value!r}"


async def test_alert_rule_changes_through_the_api_are_audited(
    bench: Bench, proxied: AsyncTestClient[Litestar]
) -> None:
    admin = bearer(await login(proxied, "admin", device_no="admin-api"))
    await bench.store(answers={"score": 2})  # a past answer no rule caught
    created = await proxied.post(RULES, headers=admin, json={
        "survey_id": str(bench.nps), "question_key": "score", "op": "lte", "value": 6,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    rule = created.json()["id"]
    for body in (
        {"active": False},  # silences the rule's work orders
        {"active": True},
        {"active": True},  # changes nothing: no row
        {"value": 5, "sla_hours": 12, "assign_to": "owner_rm"},
    ):
        edited = await proxied.patch(f"{RULES}/{rule}", headers=admin, json=body)
        assert edited.status_code == 200, edited.text
    applied = await proxied.post(f"{RULES}/{rule}/apply", headers=admin)
    assert applied.status_code == 200, applied.text
    assert applied.json()["opened"] == 1

    admin_id = user_id("admin")
    assert await trail(bench, f"alert_rule:{rule}") == [
        ("alert_rule.created", admin_id, ADMIN_IP, {"survey_id": str(bench.nps), "active": True}),
        ("alert_rule.updated", admin_id, ADMIN_IP, {"changed": ["active"]}),
        ("alert_rule.updated", admin_id, ADMIN_IP, {"changed": ["active"]}),
        ("alert_rule.updated", admin_id, ADMIN_IP, {"changed": ["value", "sla_hours"]}),
        ("alert_rule.applied", admin_id, ADMIN_IP, {"responses": 1, "queued": False,
                                                    "opened": 1}),
    ]  # fmt: skip


async def test_a_refused_change_leaves_no_audit_row(
    bench: Bench, proxied: AsyncTestClient[Litestar]
) -> None:
    admin = bearer(await login(proxied, "admin", device_no="admin-api"))
    created = await proxied.post(RULES, headers=admin, json={
        "survey_id": str(bench.nps), "question_key": "score", "op": "lte", "value": 6,
        "active": False,
    })  # fmt: skip
    rule = created.json()["id"]
    refused = await proxied.patch(f"{RULES}/{rule}", headers=admin, json={"op": "contains"})
    assert refused.status_code == 422, refused.text
    inactive = await proxied.post(f"{RULES}/{rule}/apply", headers=admin)
    assert inactive.status_code == 409, inactive.text
    assert [a for a, *_ in await trail(bench, f"alert_rule:{rule}")] == ["alert_rule.created"]


async def test_root_cause_changes_through_the_api_are_audited(
    bench: Bench, proxied: AsyncTestClient[Litestar]
) -> None:
    admin = bearer(await login(proxied, "admin", device_no="admin-api"))
    for body in (
        {"code": "queue_system", "label": LABEL},
        {"code": "queue_system", "label": LABEL, "active": False},
        {"code": "queue_system", "label": LABEL, "active": False},  # as it is: no row
        {"code": "queue_system", "label": "叫号系统故障", "active": True},
    ):
        saved = await proxied.post(CAUSES, headers=admin, json=body)
        assert saved.status_code == 200, saved.text
    admin_id = user_id("admin")
    assert await trail(bench, "work_order_root_cause:queue_system") == [
        ("work_order_root_cause.created", admin_id, ADMIN_IP, {"active": True}),
        ("work_order_root_cause.updated", admin_id, ADMIN_IP, {"changed": ["active"]}),
        ("work_order_root_cause.updated", admin_id, ADMIN_IP, {"changed": ["label", "active"]}),
    ]
    await no_values_in_the_trail(bench, LABEL, "叫号系统故障")

    # A relay header from a peer that is no proxy of ours is not believed.
    behind(proxied, ELSEWHERE, ADMIN_IP)
    saved = await proxied.post(CAUSES, headers=admin, json={"code": "other_cause", "label": "其他"})
    assert saved.status_code == 200, saved.text
    assert [ip for _, _, ip, _ in await trail(bench, "work_order_root_cause:other_cause")] == [
        ELSEWHERE
    ]


async def test_the_consoles_rule_and_root_cause_forms_are_audited(
    bench: Bench, make_console: Any
) -> None:
    console = await make_console(trusted_proxies=(f"{PROXY}/32",))
    behind(console, PROXY, ADMIN_IP)
    token = await signed_in(console, "admin")
    admin_id = user_id("admin")
    added = await post_form(console, "/console/work-orders/rules", {
        "question": f"{bench.nps}:score", "op": "lte", "value": "6", "assign_to": "owner_rm",
        "sla_hours": "24", "sla_kind": "hours",
    }, token=token)  # fmt: skip
    assert added.status_code == 303, added.text
    rule = await bench.conn.fetchval("select id from alert_rules")
    applied = await post_form(console, f"/console/work-orders/rules/{rule}/apply", token=token)
    assert applied.status_code == 303, applied.text
    assert [(a, who, ip) for a, who, ip, _ in await trail(bench, f"alert_rule:{rule}")] == [
        ("alert_rule.created", admin_id, ADMIN_IP),
        ("alert_rule.applied", admin_id, ADMIN_IP),
    ]

    causes = "/console/work-orders/root-causes"
    new = await post_form(
        console, causes, {"code": "queue_system", "label": LABEL, "active": "1", "new": "1"},
        token=token,
    )  # fmt: skip
    assert new.status_code == 303, new.text
    off = await post_form(console, causes, {"code": "queue_system", "label": LABEL}, token=token)
    assert off.status_code == 303, off.text
    assert await trail(bench, "work_order_root_cause:queue_system") == [
        ("work_order_root_cause.created", admin_id, ADMIN_IP, {"active": True}),
        ("work_order_root_cause.updated", admin_id, ADMIN_IP, {"changed": ["active"]}),
    ]
    await no_values_in_the_trail(bench, LABEL)

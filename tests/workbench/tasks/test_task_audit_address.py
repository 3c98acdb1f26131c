"""Every audit row of the task inbox's managers' changes (templates, dispatches and their end,
event rules) records the address the change came from, as user, unit, device and package changes
do: the client a trusted proxy names, never one an untrusted peer claims."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import FromPeer, bearer, login
from tests.tasks_data import unit

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
PROXY = "10.0.0.2"
ADMIN_IP = "203.0.113.7"  # the admin's browser or script, behind the bank's proxy
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}


def from_peer(client: AsyncTestClient[Litestar], peer: str, claimed: str) -> None:
    """Send the client's requests from `peer`, naming `claimed` as the client."""
    client._transport = FromPeer(client, peer)
    client.headers["X-Forwarded-For"] = claimed


async def managers_changes(client: AsyncTestClient[Litestar]) -> None:
    """An admin makes a weekly template, edits it, dispatches it and ends the series; makes an
    event rule and switches it off."""
    admin = bearer(await login(client, "admin", device_no="admin-api"))
    body = {"name": "周报", "form": FORM, "recurrence": "FREQ=WEEKLY"}
    template = await client.post(f"{API}/task-templates", json=body, headers=admin)
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    edited = await client.put(f"{API}/task-templates/{template_id}",
                              json={**body, "name": "周报 v2"}, headers=admin)  # fmt: skip
    assert edited.status_code == 200, edited.text
    dispatched = await client.post(f"{API}/dispatches", headers=admin, json={
        "template_id": template_id, "title": "周报", "org_unit_id": str(unit("team-east-1")),
    })  # fmt: skip
    assert dispatched.status_code == 201, dispatched.text
    ended = await client.post(f"{API}/dispatches/{dispatched.json()['id']}/end", headers=admin)
    assert ended.status_code == 200, ended.text
    rule = await client.post(f"{API}/task-rules", headers=admin, json={
        "name": "大额", "event_kind": "balance_movement", "field": "amount", "op": "gte",
        "value": 500000, "template_id": template_id, "within_days": 30,
    })  # fmt: skip
    assert rule.status_code == 201, rule.text
    off = await client.patch(f"{API}/task-rules/{rule.json()['id']}", json={"active": False},
                             headers=admin)  # fmt: skip
    assert off.status_code == 200, off.text


ACTIONS = ["dispatch.created", "dispatch.ended", "task_rule.created", "task_rule.updated",
           "task_template.created", "task_template.updated"]  # fmt: skip


async def addresses(db: Any) -> dict[str, str | None]:
    rows = await db.fetch(
        "select action, host(client_ip) as ip from audit_events"
        " where action like any(array['dispatch.%', 'task_rule.%', 'task_template.%'])"
    )
    assert sorted(r["action"] for r in rows) == ACTIONS
    return {r["action"]: r["ip"] for r in rows}


async def test_behind_a_trusted_proxy_the_admins_address_is_recorded(make_client, db):
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    from_peer(client, PROXY, ADMIN_IP)
    await managers_changes(client)
    assert await addresses(db) == dict.fromkeys(ACTIONS, ADMIN_IP)


async def test_an_untrusted_peer_is_recorded_not_the_client_it_claims(make_client, db):
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    from_peer(client, "198.51.100.9", ADMIN_IP)
    await managers_changes(client)
    assert await addresses(db) == dict.fromkeys(ACTIONS, "198.51.100.9")

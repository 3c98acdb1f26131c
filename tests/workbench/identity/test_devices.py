"""The device list (GET /admin/devices): a branch head finds a lost device among their subtree's, an
admin among all; filters, keyset pages, and what each device says about itself."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import bearer, device, login
from tests.workbench.identity.test_org_scope import assert_problem, unit, user_id

pytestmark = pytest.mark.usefixtures("demo_bank")

DEVICES = "/api/v1/admin/devices"


def revoke_path(n: int | str) -> str:
    return f"/api/v1/admin/devices/{device(n)['device_id']}/revoke"


async def listed(client: Any, tokens: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    """Every page of the list (following next_cursor)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(DEVICES, headers=bearer(tokens), params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["device_id"] for i in items]


@pytest.fixture
async def signed_in(client: Any) -> dict[str, dict[str, Any]]:
    """Each of these signed in on a device of their own: rm01 on 1, rm02 on 2, rm05 (West) on 5,
    bh.east on 10, bh.west on 11, admin on 12."""
    numbers = {"rm01": 1, "rm02": 2, "rm05": 5, "bh.east": 10, "bh.west": 11, "admin": 12}
    return {who: await login(client, who, device_no=n) for who, n in numbers.items()}


async def test_a_branch_head_sees_only_the_devices_of_their_subtree(client, signed_in):
    east = await listed(client, signed_in["bh.east"])
    assert sorted(ids(east)) == [device(n)["device_id"] for n in (1, 2, 10)]
    west = await listed(client, signed_in["bh.west"])
    assert sorted(ids(west)) == [device(n)["device_id"] for n in (5, 11)]
    everyone = await listed(client, signed_in["admin"])
    assert sorted(ids(everyone)) == [device(n)["device_id"] for n in (1, 2, 5, 10, 11, 12)]
    # Nothing of the West Branch, whatever the East Branch head searches for.
    for q in ("rm05", "陈静", device(5)["device_id"], "device-", "West"):
        assert device(5)["device_id"] not in ids(await listed(client, signed_in["bh.east"], q=q))


async def test_a_device_says_whose_it_is_and_where_it_stands(client, signed_in):
    rm01 = next(
        i
        for i in await listed(client, signed_in["bh.east"])
        if i["device_id"] == device(1)["device_id"]
    )
    assert rm01["platform"] == "ios"
    assert rm01["state"] == "active"
    assert rm01["revoked_at"] is None
    assert rm01["revoked_by"] is None
    assert rm01["session_open"] is True
    assert rm01["push"] is None
    assert rm01["user"] == {
        "id": str(user_id("rm01")),
        "login": "rm01",
        "name": "张伟",
        "org_unit": {"id": unit("team-east-1"), "name": rm01["user"]["org_unit"]["name"]},
    }
    assert rm01["first_seen_at"] <= rm01["last_seen_at"]


async def test_a_revoked_device_shows_who_revoked_it_and_that_its_session_ended(client, signed_in):
    pushed = await client.post(
        "/api/v1/devices",
        headers=bearer(signed_in["rm01"]),
        json={**device(1), "provider": "apns", "push_token": "a1" * 32},
    )
    assert pushed.status_code == 200, pushed.text
    before = await listed(client, signed_in["bh.east"], q=device(1)["device_id"])
    assert before[0]["push"]["active"] is True
    assert before[0]["push"]["provider"] == "apns"
    revoked = await client.post(revoke_path(1), headers=bearer(signed_in["bh.east"]))
    assert revoked.status_code == 200, revoked.text

    [item] = await listed(client, signed_in["bh.east"], q=device(1)["device_id"])
    assert item["state"] == "revoked"
    assert item["revoked_at"] == revoked.json()["revoked_at"]
    assert item["revoked_by"] == {"id": str(user_id("bh.east")), "name": "王东 East Branch Head"}
    assert item["session_open"] is False
    assert item["push"]["active"] is False
    assert item["push"]["deactivated_reason"] == "device_revoked"


async def test_revoking_a_revoked_device_again_changes_nothing(client, signed_in, db):
    # A stale page or a second person: who revoked it, and when, stay as they were.
    first = await client.post(revoke_path(1), headers=bearer(signed_in["bh.east"]))
    again = await client.post(revoke_path(1), headers=bearer(signed_in["admin"]))
    assert again.status_code == 200, again.text
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert again.json()["sessions_ended"] == 0
    [item] = await listed(client, signed_in["admin"], q=device(1)["device_id"])
    assert item["revoked_by"]["id"] == str(user_id("bh.east"))
    audited = await db.fetchval("select count(*) from audit_events where action = 'device_revoked'")
    assert audited == 1


async def test_a_west_device_stays_out_of_reach_of_the_east_branch_head(client, signed_in):
    refused = await client.post(revoke_path(5), headers=bearer(signed_in["bh.east"]))
    assert_problem(refused, 404, "device.not_found")
    assert (await client.get("/api/v1/me", headers=bearer(signed_in["rm05"]))).status_code == 200
    west_team = await client.get(
        DEVICES, headers=bearer(signed_in["bh.east"]), params={"org_unit_id": unit("team-west-1")}
    )
    assert_problem(west_team, 404, "org_unit.not_found")
    unknown = await client.get(
        DEVICES, headers=bearer(signed_in["admin"]), params={"org_unit_id": str(uuid.uuid4())}
    )
    assert_problem(unknown, 404, "org_unit.not_found")


@pytest.mark.parametrize("who", ["rm01", "marketing", "compliance"])
async def test_other_roles_may_not_list_devices(client, who):
    tokens = await login(client, who, device_no=30)
    assert_problem(await client.get(DEVICES, headers=bearer(tokens)), 403, "auth.forbidden")


async def test_filters_by_text_state_and_org_unit(client, signed_in, db):
    head = signed_in["bh.east"]
    await db.execute(
        "update devices set model = 'Huawei MatePad 11' where device_id = $1",
        device(2)["device_id"],
    )
    by = {
        "RM01": [1],  # login, any case
        "王芳": [2],  # the user's name (rm02)
        "matepad": [2],  # the model, any case
        "0000010": [10],  # part of the device id
        "nobody": [],
        "%": [],  # no pattern characters
        "_": [],
    }
    for q, expected in by.items():
        assert ids(await listed(client, head, q=q)) == [device(n)["device_id"] for n in expected], q

    assert (await client.post(revoke_path(2), headers=bearer(head))).status_code == 200
    assert ids(await listed(client, head, state="revoked")) == [device(2)["device_id"]]
    active = await listed(client, head, state="active")
    assert sorted(ids(active)) == [device(n)["device_id"] for n in (1, 10)]
    bad_state = await client.get(DEVICES, headers=bearer(head), params={"state": "lost"})
    assert bad_state.status_code == 400 or bad_state.status_code == 422, bad_state.text

    team = await listed(client, head, org_unit_id=unit("team-east-1"))
    assert sorted(ids(team)) == [device(n)["device_id"] for n in (1, 2)]
    team_active = await listed(
        client, head, org_unit_id=unit("team-east-1"), state="active", q="rm"
    )
    assert ids(team_active) == [device(1)["device_id"]]


async def test_pages_go_from_the_most_recently_seen_without_gaps_or_repeats(client, db):
    admin = await login(client, "admin", device_no=99)
    for n in range(20, 27):
        await login(client, "rm03", device_no=n)
    # Seen at distinct times, two at the very same instant (the device id breaks the tie).
    await db.execute(
        """
        update devices
           set last_seen_at = now() - make_interval(mins => 100 - substr(device_id, 8)::int)
         where device_id like 'device-000000__' and device_id <> $1
        """,
        device(99)["device_id"],
    )
    await db.execute(
        "update devices set last_seen_at = (select last_seen_at from devices where device_id = $1)"
        " where device_id = $2",
        device(25)["device_id"],
        device(24)["device_id"],
    )
    first = await client.get(DEVICES, headers=bearer(admin), params={"limit": 3})
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 3
    assert first.json()["next_cursor"]
    every = await listed(client, admin, limit=3)
    expected = [device(n)["device_id"] for n in (99, 26, 25, 24, 23, 22, 21, 20)]
    assert ids(every) == expected
    assert ids(every)[:3] == ids(first.json()["items"])
    seen = [i["last_seen_at"] for i in every]
    assert seen == sorted(seen, reverse=True)

    tampered = await client.get(DEVICES, headers=bearer(admin), params={"cursor": "not-a-cursor"})
    assert_problem(tampered, 400, "request.bad_cursor")
    too_many = await client.get(DEVICES, headers=bearer(admin), params={"limit": 201})
    assert too_many.status_code in (400, 422), too_many.text


async def test_a_refresh_counts_as_the_device_being_seen(client, db):
    tokens = await login(client, "rm01", device_no=1)
    head = await login(client, "bh.east", device_no=2)
    await db.execute(
        "update devices set last_seen_at = now() - interval '3 days' where device_id = $1",
        device(1)["device_id"],
    )
    [stale] = await listed(client, head, q="rm01")
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"], "device_id": device(1)["device_id"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    [fresh] = await listed(client, head, q="rm01")
    assert fresh["last_seen_at"] > stale["last_seen_at"]
    assert fresh["first_seen_at"] == stale["first_seen_at"]

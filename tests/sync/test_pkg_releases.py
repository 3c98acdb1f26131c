"""Gray release and rollback of H5 offline packages: who `latest` answers what, on every API
instance, and what devices report they installed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.packages.releases import bucket, in_percent
from tests.helpers import bearer, login
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

APP = "h5-customer"
ADMIN = "/api/v1/admin/offline-packages"
LATEST = "/api/v1/offline-packages/latest"


async def add_package(db: Any, version: int, *, app_id: str = APP) -> dict[str, Any]:
    """An H5 package row as publishing stores it (the file itself is not needed here)."""
    sha = hashlib.sha256(f"{app_id}:{version}".encode()).hexdigest()
    now = datetime.now(UTC)
    package_id = uuid.uuid4()
    await db.execute(
        """insert into offline_packages
               (id, app_id, version, kind, sha256, size, blob_key, manifest, signature, key_id,
                min_app_version, issued_at, expires_at)
           values ($1, $2, $3, 'h5', $4, $5, $6, '{}'::jsonb, 'sig', 'test-1', '1.0.0', $7, $8)""",
        package_id,
        app_id,
        version,
        sha,
        1000 + version,
        f"packages/{sha}.zip",
        now,
        now + timedelta(days=30),
    )
    return {"id": str(package_id), "version": version, "sha256": sha}


async def add_release(
    db: Any, package: dict[str, Any], *, percent: float = 0, state: str = "active", **audience: Any
) -> None:
    """A release row as the release service stores it."""
    await db.execute(
        """insert into offline_releases
               (id, app_id, package_id, state, percent, org_unit_ids, user_ids)
           select gen_random_uuid(), app_id, id, $2, $3, $4, $5 from offline_packages
            where id = $1::uuid""",
        package["id"],
        state,
        percent,
        audience.get("org_unit_ids", []),
        audience.get("user_ids", []),
    )


def user_id(login_: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_}")


async def version_for(client: Any, tokens: dict[str, Any], **params: str) -> int | None:
    answer = await client.get(LATEST, params={"app": APP, **params}, headers=bearer(tokens))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["version"] if body["available"] else None


def test_percentage_is_sticky_and_proportional_over_ten_thousand_users():
    users = [uuid.UUID(int=n * 7919 + 11) for n in range(10_000)]
    at_10 = {u for u in users if in_percent(APP, u, 10)}
    at_20 = {u for u in users if in_percent(APP, u, 20)}
    assert 850 <= len(at_10) <= 1150
    assert 1700 <= len(at_20) <= 2300
    assert at_10 <= at_20  # nobody in at 10 % is out at 20 %
    assert not any(in_percent(APP, u, 0) for u in users)
    assert all(in_percent(APP, u, 100) for u in users)
    # Another app id places users independently.
    assert {u for u in users if in_percent("h5-other", u, 10)} != at_10


async def test_latest_follows_percent_units_users_pause_and_rollback(make_client, db):
    one, two = await make_client(), await make_client()  # two API instances
    admin = await login(one, "admin", device_no=90)
    rm01 = await login(one, "rm01", device_no=1)  # East Team 1
    rm05 = await login(two, "rm05", device_no=5)  # West Team 1
    v1, v2, v3 = [await add_package(db, n) for n in (1, 2, 3)]

    assert await version_for(one, rm01) is None  # nothing released yet

    released = await one.post(f"{ADMIN}/{v1['id']}/release", json={"percent": 100},
                              headers=bearer(admin))  # fmt: skip
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "active"
    east = str(await db.fetchval("select id from org_units where name like '东城支行%'"))
    await one.post(f"{ADMIN}/{v2['id']}/release", json={"percent": 0, "org_unit_ids": [east]},
                   headers=bearer(admin))  # fmt: skip
    await one.post(f"{ADMIN}/{v3['id']}/release",
                   json={"percent": 0, "user_ids": [str(user_id("rm05"))]},
                   headers=bearer(admin))  # fmt: skip

    # rm01 is in the East subtree (v2), rm05 is listed for v3.
    assert await version_for(two, rm01) == 2
    assert await version_for(one, rm05) == 3

    # The answer names the package to download and check.
    full = (await one.get(LATEST, params={"app": APP}, headers=bearer(rm01))).json()
    assert full["sha256"] == v2["sha256"]
    assert full["up_to_date"] is False
    assert full["current_withdrawn"] is False
    assert full["size"] == 1002
    assert full["url"].endswith(f"/offline-packages/{v2['id']}/download")
    assert full["signature"] == "sig"
    assert full["key_id"] == "test-1"

    same = await one.get(LATEST, params={"app": APP, "current": v2["sha256"]}, headers=bearer(rm01))
    assert same.json()["up_to_date"] is True
    assert same.json()["diff_url"] is None

    # Pausing v3 stops answering it: rm05 falls back to v1; resuming brings it back.
    assert (await one.post(f"{ADMIN}/{v3['id']}/pause", headers=bearer(admin))).status_code == 200
    assert await version_for(two, rm05) == 1
    again = await two.post(f"{ADMIN}/{v3['id']}/pause", headers=bearer(admin))
    assert (again.status_code, again.json()["code"]) == (409, "offline_release.state")
    assert (await two.post(f"{ADMIN}/{v3['id']}/resume", headers=bearer(admin))).status_code == 200
    assert await version_for(one, rm05) == 3

    # A rollback on one instance is what the other answers at once. (Before it, an app on v1
    # with no diff to offer, as here where no package file is stored, downloads v2 whole.)
    assert await version_for(two, rm01, current=v1["sha256"]) == 2
    rolled = await one.post(f"{ADMIN}/{v2['id']}/rollback", headers=bearer(admin))
    assert rolled.status_code == 200
    assert rolled.json()["state"] == "rolled_back"
    after = await two.get(
        LATEST, params={"app": APP, "current": v2["sha256"], "installed": "2"}, headers=bearer(rm01)
    )
    # v3 (rm05's) is still open above v2, so the rollback only withdrew: rm01's device keeps v2
    # (it would refuse v1) and is told it was withdrawn.
    assert (after.json()["version"], after.json()["up_to_date"]) == (2, True)
    assert after.json()["current_withdrawn"] is True
    assert await version_for(two, rm01) == 1  # a device without v2 gets v1
    # Rolling back v1 too leaves nothing for rm01.
    await two.post(f"{ADMIN}/{v1['id']}/rollback", headers=bearer(admin))
    assert await version_for(one, rm01) is None

    actions = await db.fetch(
        "select action from audit_events where action like 'offline_package.%' order by id"
    )
    assert [a["action"] for a in actions] == [
        "offline_package.release", "offline_package.release", "offline_package.release",
        "offline_package.pause", "offline_package.resume",
        "offline_package.rollback", "offline_package.rollback",
    ]  # fmt: skip


async def test_widening_keeps_those_in_and_never_narrows(client, db):
    admin = await login(client, "admin", device_no=90)
    package = await add_package(db, 1)
    path = f"{ADMIN}/{package['id']}/release"
    rms = [f"rm0{n}" for n in range(1, 9)]
    chosen = max(rms, key=lambda r: -bucket(APP, user_id(r)))  # the lowest bucket
    percent = bucket(APP, user_id(chosen)) / 100 + 0.01
    assert (await client.post(path, json={"percent": percent}, headers=bearer(admin))).is_success
    tokens = await login(client, chosen, device_no=3)
    assert await version_for(client, tokens) == 1

    widened = await client.post(
        path, json={"percent": 60, "user_ids": [str(user_id("bh.west"))]}, headers=bearer(admin)
    )
    assert widened.status_code == 200, widened.text
    assert widened.json()["percent"] == 60
    assert widened.json()["user_ids"] == [str(user_id("bh.west"))]
    assert await version_for(client, tokens) == 1  # still in
    in_at_60 = [r for r in rms if in_percent(APP, user_id(r), 60)]
    for rm in rms:
        got = await version_for(client, await login(client, rm, device_no=rm))
        assert got == (1 if rm in in_at_60 else None), rm

    narrowed = await client.post(path, json={"percent": 20}, headers=bearer(admin))
    assert (narrowed.status_code, narrowed.json()["code"]) == (409, "offline_release.narrowing")
    unknown = await client.post(
        path, json={"percent": 70, "org_unit_ids": [str(uuid.uuid4())]}, headers=bearer(admin)
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "offline_release.invalid")
    assert await db.fetchval("select percent from offline_releases") == 60


async def test_devices_report_installs_and_only_admins_release(client, db):
    rm = await login(client, "rm01", device_no=1)
    package = await add_package(db, 1)
    await add_release(db, package, percent=100)
    report = {"app_id": APP, "version": 1, "sha256": package["sha256"]}
    sent = await client.post("/api/v1/offline-packages/installs", json=report, headers=bearer(rm))
    assert sent.status_code == 200, sent.text
    assert sent.json()["device_id"] == "device-00000001"
    row = await db.fetchrow("select user_id, version, sha256 from offline_package_installs")
    assert (row["user_id"], row["version"], row["sha256"]) == (
        user_id("rm01"), 1, package["sha256"]
    )  # fmt: skip

    wrong = await client.post(
        "/api/v1/offline-packages/installs",
        json={**report, "sha256": "0" * 64},
        headers=bearer(rm),
    )
    assert wrong.status_code == 404
    bad = await client.post(
        "/api/v1/offline-packages/installs", json={**report, "version": 0}, headers=bearer(rm)
    )
    assert bad.status_code == 422

    refused = await client.post(
        f"{ADMIN}/{package['id']}/release", json={"percent": 100}, headers=bearer(rm)
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.forbidden")
    assert await db.fetchval("select count(*) from offline_releases") == 1  # add_release's
    assert (
        await client.get(LATEST, params={"app": "Bad App!"}, headers=bearer(rm))
    ).status_code == 422


async def test_a_paused_release_never_offers_its_devices_a_lower_version(client, db):
    """rm01's device on v2 would refuse v1 (not newer) at every check: it is answered its own v2,
    up to date, until something above it is released to it."""
    admin = await login(client, "admin", device_no=90)
    rm01 = await login(client, "rm01", device_no=1)
    v1, v2 = await add_package(db, 1), await add_package(db, 2)
    await add_release(db, v1, user_ids=[user_id("rm01")])
    await add_release(db, v2, percent=100)
    assert (await client.post(f"{ADMIN}/{v2['id']}/pause", headers=bearer(admin))).is_success

    on_v2 = await client.get(LATEST, params={"app": APP, "current": v2["sha256"]},
                             headers=bearer(rm01))  # fmt: skip
    body = on_v2.json()
    assert (body["available"], body["version"], body["up_to_date"]) == (True, 2, True)
    assert body["sha256"] == v2["sha256"]
    assert body["current_withdrawn"] is False  # paused, not rolled back
    assert body["diff_url"] is None
    # A device on v1 (or without any) is still answered v1; one on v2 gets v3 once released.
    assert await version_for(client, rm01, current=v1["sha256"]) == 1
    assert await version_for(client, rm01) == 1
    v3 = await add_package(db, 3)
    await add_release(db, v3, user_ids=[user_id("rm01")])
    assert await version_for(client, rm01, current=v2["sha256"]) == 3


async def test_an_install_is_accepted_only_for_a_package_released_to_the_caller(client, db):
    """Adoption counts what releases reached: marketing (head office) reporting an East-only
    package, or anyone reporting a package never released, is 404 and stores nothing."""
    east = await db.fetchval("select id from org_units where name like '东城支行%'")
    east_only, unreleased = await add_package(db, 1), await add_package(db, 2)
    await add_release(db, east_only, state="rolled_back", org_unit_ids=[east])
    reports = "/api/v1/offline-packages/installs"

    def report(package: dict[str, Any]) -> dict[str, Any]:
        return {"app_id": APP, "version": package["version"], "sha256": package["sha256"]}

    marketing = await login(client, "marketing", device_no=70)
    refused = await client.post(reports, json=report(east_only), headers=bearer(marketing))
    assert (refused.status_code, refused.json()["code"]) == (404, "offline_package.not_found")
    # It names what the report named (no id was sent).
    assert refused.json()["detail"] == (
        "No H5 package of that app id, version and SHA-256 was released to you"
    )
    rm01 = await login(client, "rm01", device_no=1)
    never = await client.post(reports, json=report(unreleased), headers=bearer(rm01))
    assert never.status_code == 404
    assert await db.fetchval("select count(*) from offline_package_installs") == 0
    # rm01 is in the East subtree: its (since rolled back) release reached them.
    accepted = await client.post(reports, json=report(east_only), headers=bearer(rm01))
    assert accepted.status_code == 200, accepted.text
    assert await db.fetchval("select count(*) from offline_package_installs") == 1

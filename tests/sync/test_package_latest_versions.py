"""`latest` answers only a package the device will install: never one needing a newer app than
the caller's `X-App-Version` (compared as numbers) nor one whose manifest expired; and a
rollback over the API says what it did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.helpers import bearer, login
from tests.sync.test_pkg_releases import ADMIN, APP, LATEST, add_package, add_release, user_id
from tests.sync.test_pkg_rollforward import release, upload

pytestmark = pytest.mark.usefixtures("demo_bank")


async def needs_app(db: Any, package: dict[str, Any], min_app_version: str) -> None:
    await db.execute(
        "update offline_packages set min_app_version = $2 where id = $1::uuid",
        package["id"],
        min_app_version,
    )


async def expire(db: Any, package: dict[str, Any]) -> None:
    """The package's manifest expired an hour ago (it was issued 31 days ago)."""
    now = datetime.now(UTC)
    await db.execute(
        "update offline_packages set issued_at = $2, expires_at = $3 where id = $1::uuid",
        package["id"],
        now - timedelta(days=31),
        now - timedelta(hours=1),
    )


async def answer(
    client: Any, tokens: Any, app_version: str | None = None, **params: str
) -> dict[str, Any]:
    headers = bearer(tokens) | ({"X-App-Version": app_version} if app_version else {})
    got = await client.get(LATEST, params={"app": APP, **params}, headers=headers)
    assert got.status_code == 200, got.text
    return dict(got.json())


async def version(client: Any, tokens: Any, app_version: str | None = None, **params: str) -> Any:
    body = await answer(client, tokens, app_version, **params)
    return body["version"] if body["available"] else None


async def test_latest_answers_the_highest_version_the_callers_app_can_run(client, db):
    rm01 = await login(client, "rm01", device_no=1)
    v1, v2, v3, v4 = [await add_package(db, n) for n in (1, 2, 3, 4)]
    for package, needs in ((v1, "1.0.0"), (v2, "1.9.0"), (v3, "1.10.0"), (v4, "2.0")):
        await needs_app(db, package, needs)
        await add_release(db, package, percent=100)

    assert await version(client, rm01, "1.9.5") == 2
    assert await version(client, rm01, "1.10.0") == 3  # 1.10 is above 1.9, not below
    assert await version(client, rm01, "1.10") == 3  # "1.10" is "1.10.0"
    assert await version(client, rm01, "1.11.2") == 3
    assert await version(client, rm01, "2") == 4  # "2" is "2.0"
    assert await version(client, rm01, "1.10.0-beta.1") == 2  # a pre-release is below 1.10.0
    assert await version(client, rm01, "v1.10.0+45") == 3  # build metadata is not looked at
    assert await version(client, rm01, "10.0.0") == 4
    assert await version(client, rm01, "0.9.9") is None  # a fresh install too old for any
    assert await version(client, rm01) == 4  # no X-App-Version: as before apps sent it

    # The device on the best version its app runs is up to date, not told to fetch v4 (which
    # its verifier would refuse as app_too_old at every check).
    on_v2 = await answer(client, rm01, "1.9.5", current=v2["sha256"])
    assert (on_v2["version"], on_v2["up_to_date"]) == (2, True)
    # Never a lower version than the device has: one already on v4 stays on it.
    on_v4 = await answer(client, rm01, "1.9.5", current=v4["sha256"])
    assert (on_v4["version"], on_v4["up_to_date"]) == (4, True)

    # Only within the caller's audience, as before: v3 for rm05 alone leaves rm01 on v2.
    await db.execute("update offline_releases set percent = 0, user_ids = $2 "
                     "where package_id = $1::uuid", v3["id"], [user_id("rm05")])  # fmt: skip
    assert await version(client, rm01, "1.10.0") == 2
    assert await version(client, await login(client, "rm05", device_no=5), "1.10.0") == 3

    bad = await client.get(LATEST, params={"app": APP},
                           headers=bearer(rm01) | {"X-App-Version": "1.9.x"})  # fmt: skip
    assert bad.status_code == 400, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "app.bad_version"


async def test_an_expired_package_is_not_answered(client, db):
    rm01 = await login(client, "rm01", device_no=1)
    v1, v2 = await add_package(db, 1), await add_package(db, 2)
    await add_release(db, v1, percent=100)
    await add_release(db, v2, percent=100)
    assert await version(client, rm01) == 2

    await expire(db, v2)
    assert await version(client, rm01) == 1  # the highest unexpired one
    assert await version(client, rm01, "3.0.0", current=v1["sha256"]) == 1
    await expire(db, v1)
    assert await version(client, rm01) is None


async def test_a_rollback_over_the_api_says_what_it_did(make_client, tmp_path, db):
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    v1, v2, v3 = [await upload(client, admin, f"v{n}") for n in (1, 2, 3)]
    for package in (v1, v2, v3):
        await release(client, admin, package, percent=100)

    # v3 is open above v2: rolling back v2 only withdraws it.
    only = await client.post(f"{ADMIN}/{v2['id']}/rollback", headers=admin)
    assert only.status_code == 200, only.text
    body = only.json()
    assert (body["state"], body["version"]) == ("rolled_back", 2)
    assert body["withdrawn_only"] is True
    assert (body["rolled_forward"], body["higher_open_version"]) == ([], 3)
    assert body["unreadable_versions"] == []

    # Nothing above v3: its devices move to v1's files, signed again as v4.
    forward = (await client.post(f"{ADMIN}/{v3['id']}/rollback", headers=admin)).json()
    assert (forward["state"], forward["withdrawn_only"]) == ("rolled_back", False)
    assert forward["rolled_forward"] == [{"version": 4, "files_of_version": 1}]
    assert forward["higher_open_version"] is None


async def test_a_rollback_says_which_files_could_not_be_read(client, db):
    admin = await login(client, "admin", device_no=90)
    v1, v2 = await add_package(db, 1), await add_package(db, 2)  # no files stored
    await add_release(db, v1, percent=100)
    await add_release(db, v2, percent=100)
    rolled = await client.post(f"{ADMIN}/{v2['id']}/rollback", headers=bearer(admin))
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert (body["withdrawn_only"], body["unreadable_versions"]) == (True, [1])
    assert body["higher_open_version"] is None

"""A rollback rolls devices forward: the withdrawn release's audience gets the previous files
signed again as the next version, which a device on the withdrawn version accepts (its verifier
refuses any lower version)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sync.packages.manifest import PackageRefused, parse_keys_document, verify_package
from tests.customers_data import headers_of
from tests.sync.test_pkg_routes import ADMIN_PACKAGES, form, h5_zip

pytestmark = pytest.mark.usefixtures("demo_bank")
APP = "h5.customer"
LATEST = "/api/v1/offline-packages/latest"


async def test_a_rollback_issues_the_previous_files_as_the_next_version(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm = await headers_of(client, "admin"), await headers_of(client, "rm01")
    good = {"index.html": b"<p>good</p>", "app.js": b"console.log('good')"}
    bad = {"index.html": b"<p>broken</p>", "app.js": b"throw new Error('bad')", "new.css": b"p{}"}
    v1 = (await client.post(ADMIN_PACKAGES, files=form(h5_zip(good)), headers=admin)).json()
    v2 = (await client.post(ADMIN_PACKAGES, files=form(h5_zip(bad)), headers=admin)).json()
    for package in (v1, v2):
        released = await client.post(f"{ADMIN_PACKAGES}/{package['id']}/release",
                                     json={"percent": 100}, headers=admin)  # fmt: skip
        assert released.status_code in (200, 201), released.text
    on_v2 = (await client.get(LATEST, params={"app": APP}, headers=rm)).json()
    assert on_v2["version"] == 2

    rolled = await client.post(f"{ADMIN_PACKAGES}/{v2['id']}/rollback", headers=admin)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["state"] == "rolled_back"

    answer = (await client.get(LATEST, params={"app": APP, "current": on_v2["sha256"]},
                               headers=rm)).json()  # fmt: skip
    assert answer["version"] == 3
    data = (await client.get(answer["url"], headers=rm)).content
    keys = parse_keys_document((await client.get("/api/v1/offline-packages/keys")).content)
    now = datetime.now(UTC)
    manifest = verify_package(data, keys, installed_version=2, now=now, app_version="2.3.0",
                              app_id=APP)  # fmt: skip
    # The device on the withdrawn v2 moves forward to v3, which holds exactly v1's files.
    assert sorted((f.path, f.size) for f in manifest.files) == sorted(
        (path, len(content)) for path, content in good.items()
    )
    v1_data = (await client.get(v1["url"], headers=rm)).content
    with pytest.raises(PackageRefused):  # v1 itself stays refused on that device: a replay
        verify_package(v1_data, keys, installed_version=2, now=now, app_version="2.3.0",
                       app_id=APP)  # fmt: skip
    actions = [r["action"] for r in await db.fetch(
        "select action from audit_events where action like 'offline_package.%' order by id"
    )]  # fmt: skip
    assert actions[-2:] == ["offline_package.rollback", "offline_package.roll_forward"]


async def upload(client: Any, admin: Any, tag: str) -> dict[str, Any]:
    """An uploaded package whose one file says which it is."""
    sent = await client.post(ADMIN_PACKAGES, files=form(h5_zip({"which.txt": tag.encode()})),
                             headers=admin)  # fmt: skip
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


async def release(client: Any, admin: Any, package: dict[str, Any], **body: Any) -> None:
    sent = await client.post(f"{ADMIN_PACKAGES}/{package['id']}/release",
                             json={"percent": 0, **body}, headers=admin)  # fmt: skip
    assert sent.status_code == 200, sent.text


async def answer(client: Any, who: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {"app": APP, **({"current": current["sha256"]} if current else {})}
    got = await client.get(LATEST, params=params, headers=who)
    assert got.status_code == 200, got.text
    return dict(got.json())


async def files_of(client: Any, who: Any, latest: dict[str, Any]) -> str:
    """The `which.txt` of the package answered, read as the device would after downloading it."""
    from sync.packages.diffs import read_package

    data = (await client.get(latest["url"], headers=who)).content
    return read_package(data).files["which.txt"].decode()


async def test_rolling_back_a_replaced_release_keeps_devices_on_the_newer_one(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    """v1, v2, v3 all at 100 %, rm01 on v3: rolling back v2 only withdraws it (v3 stays above),
    so nothing is issued and nobody is sent back to v1's files."""
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    v1, v2, v3 = [await upload(client, admin, f"v{n}") for n in (1, 2, 3)]
    for package in (v1, v2, v3):
        await release(client, admin, package, percent=100)
    assert (await answer(client, rm01))["version"] == 3

    rolled = await client.post(f"{ADMIN_PACKAGES}/{v2['id']}/rollback", headers=admin)
    assert rolled.status_code == 200, rolled.text
    assert await db.fetchval("select max(version) from offline_packages") == 3
    on_v3 = await answer(client, rm01, current=v3)
    assert (on_v3["version"], on_v3["up_to_date"], on_v3["current_withdrawn"]) == (3, True, False)
    on_v2 = await answer(client, rm01, current=v2)  # a device still on v2 moves up to v3
    assert (on_v2["version"], on_v2["current_withdrawn"]) == (3, True)
    assert not await db.fetchval(
        "select count(*) from audit_events where action = 'offline_package.roll_forward'"
    )


async def test_a_higher_ten_percent_release_is_never_pushed_back_to_older_files(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    """v1 and v2 at 100 %, v3 at 10 % (rm02 and rm03 are in, rm01 is out). Rolling back v2 only
    withdraws (v3 is above it); rolling back v3 gives its 10 % their v2 files again as v5, and
    nobody outside the 10 % is moved."""
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    v1, v2, v3 = [await upload(client, admin, f"v{n}") for n in (1, 2, 3)]
    await release(client, admin, v1, percent=100)
    await release(client, admin, v2, percent=100)
    await release(client, admin, v3, percent=10)
    assert [(await answer(client, rm))["version"] for rm in (rm01, rm02)] == [2, 3]

    assert (await client.post(f"{ADMIN_PACKAGES}/{v2['id']}/rollback", headers=admin)).is_success
    assert await db.fetchval("select max(version) from offline_packages") == 3
    kept = await answer(client, rm02, current=v3)
    assert (kept["version"], kept["up_to_date"]) == (3, True)
    stays = await answer(client, rm01, current=v2)  # never offered v1, which it would refuse
    assert (stays["version"], stays["up_to_date"], stays["current_withdrawn"]) == (2, True, True)

    # v2 is withdrawn now, so rolling back v3 rolls its 10 % forward to v1's files (as v4).
    assert (await client.post(f"{ADMIN_PACKAGES}/{v3['id']}/rollback", headers=admin)).is_success
    forward = await answer(client, rm02, current=v3)
    assert (forward["version"], forward["current_withdrawn"]) == (4, True)
    assert await files_of(client, rm02, forward) == "v1"
    assert (await answer(client, rm01, current=v2))["version"] == 2  # outside the 10 %: untouched


async def test_a_rollback_gives_each_device_the_files_it_had_before(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    """v1 to the East branch, v2 to 10 % (rm02, rm03), v3 to everyone. Rolling v3 back sends
    rm01 (East) to v1's files, rm02 to v2's, and leaves rm05 (West, in neither) withdrawn from: the
    old rollback gave everyone v2's files, a 100 % release of a 10 % one."""
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    rm01, rm02, rm05 = [await headers_of(client, rm) for rm in ("rm01", "rm02", "rm05")]
    east = str(await db.fetchval("select id from org_units where name like '东城支行%'"))
    v1, v2, v3 = [await upload(client, admin, f"v{n}") for n in (1, 2, 3)]
    await release(client, admin, v1, org_unit_ids=[east])
    await release(client, admin, v2, percent=10)
    await release(client, admin, v3, percent=100)

    assert (await client.post(f"{ADMIN_PACKAGES}/{v3['id']}/rollback", headers=admin)).is_success
    got = {rm: await answer(client, who, current=v3)
           for rm, who in (("rm01", rm01), ("rm02", rm02), ("rm05", rm05))}  # fmt: skip
    assert {rm: a["version"] for rm, a in got.items()} == {"rm01": 4, "rm02": 5, "rm05": None}
    assert await files_of(client, rm01, got["rm01"]) == "v1"
    assert await files_of(client, rm02, got["rm02"]) == "v2"
    # Nothing was released to rm05 but v3: nothing to roll forward to, and none to offer.
    assert (got["rm05"]["available"], got["rm05"]["current_withdrawn"]) == (False, True)
    # Widening v2 later reaches rm01 within the rolled-forward audience too, above v3.
    await release(client, admin, v2, percent=100)
    assert (await answer(client, rm01, current=v3))["version"] == 5

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

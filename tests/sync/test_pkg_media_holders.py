"""A brochure media pack is for an active RM only: a user who is no RM any more (another role
now) gets no pack, neither the newest one (`media/latest`) nor the file of the one they had (its
download URL), as a compliance officer expects once a brochure is withdrawn: the worker builds no
new pack for them, so their last one still lists it."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest

from sync.packages import jobs
from tests.customers_data import headers_of
from tests.sync.test_pkg_media import LATEST, NOW, add_brochure, store, worker  # noqa: F401
from tests.tasks_data import unit, user
from workbench.media.store import LocalBlobStore

pytestmark = pytest.mark.usefixtures("demo_bank")
BROCHURES = "/api/v1/brochures"
ADMIN_USERS = "/api/v1/admin/users"


def titles_in(pack: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        index = json.loads(zf.read("files/index.json"))
    return sorted(b["title"] for b in index["brochures"])


async def test_a_former_rm_gets_no_media_pack_once_a_brochure_is_withdrawn(
    db: Any,
    store: LocalBlobStore,  # noqa: F811
    worker: Any,  # noqa: F811
    make_client: Any,
) -> None:
    withdrawn = await add_brochure(db, store, "基金定投", pages=5, page_bytes=20_000)
    await add_brochure(db, store, "大额存单", pages=5, page_bytes=20_000)
    await jobs.build_media_packs(worker, now=NOW)
    client = await make_client(blob_dir=str(store.root))
    rm01, admin = await headers_of(client, "rm01"), await headers_of(client, "admin")
    compliance = await headers_of(client, "compliance")
    mine = await client.get(LATEST, headers=rm01)
    assert mine.status_code == 200, mine.text
    pack = await client.get(mine.json()["url"], headers=rm01)
    assert titles_in(pack.content) == ["基金定投", "大额存单"]
    # A pack with one more brochure, and its diff from the one rm01 has.
    await add_brochure(db, store, "新客理财", pages=1, page_bytes=20_000)
    await jobs.build_media_packs(worker, now=NOW + timedelta(minutes=1))
    newer = await client.get(LATEST, params={"current": mine.json()["sha256"]}, headers=rm01)
    diff_url = newer.json()["diff_url"]
    assert diff_url is not None
    assert (await client.get(diff_url, headers=rm01)).status_code == 200
    mine = newer

    # Compliance withdraws a brochure; rm01 becomes a branch head (and signs in again).
    pulled = await client.post(
        f"{BROCHURES}/{withdrawn}/unpublish", json={"reason": "收益表述需更新"}, headers=compliance
    )
    assert pulled.status_code == 200, pulled.text
    moved = await client.patch(
        f"{ADMIN_USERS}/{user('rm01')}",
        json={"role": "branch_head", "org_unit_id": str(unit("branch-east"))},
        headers=admin,
    )
    assert moved.status_code == 200, moved.text
    await jobs.build_media_packs(worker, now=NOW + timedelta(minutes=2))  # RMs only
    head = await headers_of(client, "rm01")
    assert (await client.get(f"{BROCHURES}/{withdrawn}", headers=head)).status_code == 404

    # Their last pack, which still lists the withdrawn brochure, is not theirs to have any more:
    # not as the latest pack (of either size, with or without the one they hold), not by its URL.
    diff = await client.get(diff_url, headers=head)
    assert diff.status_code == 404, diff.text  # nor a diff to it
    for params in ({}, {"size": "tablet"}, {"current": mine.json()["sha256"]}):
        latest = await client.get(LATEST, params=params, headers=head)
        assert latest.status_code == 404, (params, latest.text)
        assert latest.json()["code"] == "media_pack.not_found"
        assert "media pack" in latest.json()["detail"]  # not "No media_pack with that id"
    again = await client.get(mine.json()["url"], headers=head)
    assert again.status_code == 404, again.text
    assert again.json()["code"] == "offline_package.not_found"
    assert (await client.head(mine.json()["url"], headers=head)).status_code == 404

    # An RM still gets theirs, rebuilt without the withdrawn brochure.
    rm02 = await headers_of(client, "rm02")
    theirs = await client.get(LATEST, headers=rm02)
    assert theirs.status_code == 200, theirs.text
    rebuilt = await client.get(theirs.json()["url"], headers=rm02)
    assert rebuilt.status_code == 200
    assert titles_in(rebuilt.content) == ["大额存单", "新客理财"]
    # Made an RM again, rm01 gets the pack of what is live for them (after the worker's run).
    back = await client.patch(
        f"{ADMIN_USERS}/{user('rm01')}",
        json={"role": "rm", "org_unit_id": str(unit("team-east-1"))},
        headers=admin,
    )
    assert back.status_code == 200, back.text
    await jobs.build_media_packs(worker, now=NOW + timedelta(minutes=3))
    rm01 = await headers_of(client, "rm01")
    current = await client.get(LATEST, headers=rm01)
    assert current.status_code == 200, current.text
    assert current.json()["version"] > mine.json()["version"]
    data = await client.get(current.json()["url"], headers=rm01)
    assert titles_in(data.content) == ["大额存单", "新客理财"]

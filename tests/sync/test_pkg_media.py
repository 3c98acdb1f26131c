"""Brochure media packs: an RM's pack holds exactly the brochures live for them (an unpublished or
expired one is gone from the next pack, a newly published one appears, one whose renditions are
not built yet waits), it verifies as the app verifies it, two workers build it once, and only its
RM gets it. Brochures are written with SQL, as the compliance workflow leaves them."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.packages import jobs, media
from sync.packages.manifest import PackageRefused, PackageSigner, verify_package
from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from workbench.db import create_pool
from workbench.media.store import LocalBlobStore
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

LATEST = "/api/v1/offline-packages/media/latest"
PHONE = media.spec_name("phone")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
async def worker(settings: Settings, store: LocalBlobStore) -> Any:
    pool = await create_pool(settings.database_url, max_size=4)
    yield {"settings": settings, "pool": pool, "blobs": store, "media_pack_run_seconds": 600}
    await pool.close()


async def add_brochure(
    db: Any,
    store: LocalBlobStore,
    title: str,
    *,
    owner: str = "head-office",
    pages: int = 2,
    built: bool = True,
    live_until: datetime | None = None,
    page_bytes: int = 0,
) -> uuid.UUID:
    """A published brochure of `owner`'s unit with its page images, their phone WebP renditions
    stored and ready (`built`) or still pending."""
    await db.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳享90天',"
        " 'wealth', 2) on conflict do nothing"
    )
    brochure_id = uuid.uuid4()
    shas = [hashlib.sha256(f"{title}:{n}".encode()).digest() for n in range(1, pages + 1)]
    for sha in shas:
        await db.execute(
            "insert into brochure_images (sha256, blob_key, format, width, height, byte_size)"
            " values ($1, $2, 'jpeg', 1000, 1500, 1000)",
            sha, f"test/{sha.hex()}",
        )  # fmt: skip
        key = f"brochures/r/{sha.hex()}-{PHONE}"
        if built:
            image = b"RIFF" + sha + bytes(range(256)) * (page_bytes // 256)
            await store.put(key, image, content_type="image/webp")
        await db.execute(
            "insert into brochure_renditions (image_sha256, spec, status, blob_key)"
            " values ($1, $2, $3, $4)",
            sha, PHONE, "ready" if built else "pending", key if built else None,
        )  # fmt: skip
    content = hashlib.sha256(title.encode() + b"".join(shas)).digest()
    await db.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure_id, unit(owner), user("marketing"),
    )  # fmt: skip
    await db.execute(
        """
        insert into brochure_versions (brochure_id, version, title, product_code, pages,
                                       content_hash, status, approved_hash, created_by,
                                       published_at, live_until)
        values ($1, 1, $2, 'WM90', $3, $4, 'published', $4, $5, $6, $7)
        """,
        brochure_id, title, shas, content, user("marketing"), NOW - timedelta(hours=1),
        live_until,
    )  # fmt: skip
    return brochure_id


async def pack_of(db: Any, store: LocalBlobStore, login: str) -> tuple[Any, bytes]:
    row = await db.fetchrow(
        "select * from offline_packages where owner_id = $1 and app_id = 'media-phone'"
        " order by version desc limit 1",
        user(login),
    )
    data = b"".join([c async for c in store.read(row["blob_key"])])
    return row, data


def index_of(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        index: dict[str, Any] = json.loads(zf.read("files/index.json"))
        return index


def titles(data: bytes) -> list[str]:
    return sorted(b["title"] for b in index_of(data)["brochures"])


async def test_a_pack_holds_what_is_live_for_its_rm_and_follows_the_catalogue(
    db: Any, store: LocalBlobStore, worker: Any, settings: Settings
) -> None:
    keys = PackageSigner(settings.jwt_keys).public_keys()
    fund = await add_brochure(db, store, "基金定投", pages=3)
    deposit = await add_brochure(
        db, store, "大额存单", owner="branch-east", live_until=NOW + timedelta(days=2)
    )
    await add_brochure(db, store, "西城专享", owner="branch-west")  # not on rm01's path
    await add_brochure(db, store, "养老规划", built=False)  # renditions pending

    assert await jobs.build_media_packs(worker, now=NOW) >= 1
    first, data = await pack_of(db, store, "rm01")
    assert titles(data) == ["基金定投", "大额存单"]
    manifest = verify_package(data, keys, installed_version=None, now=NOW, app_id="media-phone")
    paths = [f.path for f in manifest.files]
    assert {f"{fund}/01.webp", f"{fund}/03.webp", "index.json"} <= set(paths)
    assert (manifest.kind, manifest.version) == ("media", first["version"])
    pages = {b["id"]: b["pages"] for b in index_of(data)["brochures"]}
    assert pages[str(deposit)] == [f"{deposit}/01.webp", f"{deposit}/02.webp"]
    _, west_data = await pack_of(db, store, "rm05")
    assert titles(west_data) == ["基金定投", "西城专享"]
    # rm02 (rm01's team) has the same catalogue: the same pack, recorded as theirs.
    teammate, _ = await pack_of(db, store, "rm02")
    assert (teammate["sha256"], teammate["version"]) == (first["sha256"], first["version"])
    assert teammate["id"] != first["id"]

    # Nothing changed: nothing is built again.
    assert await jobs.build_media_packs(worker, now=NOW) == 0

    # Unpublished, newly published, renditions now built, and (later) the deposit expired.
    await db.execute(
        "update brochure_versions set status = 'unpublished' where brochure_id = $1", fund
    )
    await add_brochure(db, store, "新客理财")
    pending = await db.fetch(
        "select image_sha256, blob_key from brochure_renditions where status = 'pending'"
    )
    for row in pending:
        key = f"brochures/r/{bytes(row['image_sha256']).hex()}-{PHONE}"
        await store.put(key, b"RIFF built", content_type="image/webp")
        await db.execute(
            "update brochure_renditions set status = 'ready', blob_key = $2"
            " where image_sha256 = $1",
            row["image_sha256"], key,
        )  # fmt: skip
    later = NOW + timedelta(days=3)
    assert await jobs.build_media_packs(worker, now=later) >= 1
    second, data = await pack_of(db, store, "rm01")
    assert titles(data) == ["养老规划", "新客理财"]
    assert second["version"] > first["version"]
    assert verify_package(data, keys, installed_version=first["version"], now=later)
    # The older pack replayed to a device that installed the new one is refused.
    old = b"".join([c async for c in store.read(first["blob_key"])])
    with pytest.raises(PackageRefused) as refused:
        verify_package(old, keys, installed_version=second["version"], now=NOW)
    assert refused.value.reason == "not_newer"


async def test_two_workers_build_a_pack_once(
    db: Any, store: LocalBlobStore, worker: Any, settings: Settings
) -> None:
    await add_brochure(db, store, "基金定投")
    other = {**worker, "pool": await create_pool(settings.database_url, max_size=4)}
    try:
        built = await asyncio.gather(
            jobs.build_media_packs(worker, now=NOW), jobs.build_media_packs(other, now=NOW)
        )
    finally:
        await other["pool"].close()
    rms = await db.fetchval("select count(*) from users where role = 'rm' and active")
    packs = await db.fetch(
        "select owner_id, count(*) from offline_packages where kind = 'media'"
        " group by owner_id, app_id"
    )
    assert sum(built) == len(packs) == 2 * rms  # a phone and a tablet pack per RM
    assert all(row["count"] == 1 for row in packs)
    # Every RM sees the same catalogue: one file per size, shared by all of them.
    files = await db.fetchval("select count(distinct blob_key) from offline_packages")
    assert files == 2


async def test_only_its_rm_gets_a_pack_and_a_diff_from_the_one_they_have(
    db: Any, store: LocalBlobStore, worker: Any, make_client: Any
) -> None:
    await add_brochure(db, store, "基金定投", pages=5, page_bytes=20_000)
    await jobs.build_media_packs(worker, now=NOW)
    client = await make_client(blob_dir=str(store.root))
    rm01, rm05, head = [await headers_of(client, who) for who in ("rm01", "rm05", "bh.east")]
    mine = (await client.get(LATEST, params={"size": "phone"}, headers=rm01)).json()
    row, data = await pack_of(db, store, "rm01")
    assert (mine["version"], mine["sha256"]) == (row["version"], row["sha256"])
    assert (mine["size"], mine["up_to_date"], mine["diff_url"]) == (len(data), False, None)
    download = await client.get(mine["url"], headers=rm01)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == mine["sha256"]
    assert (await client.get(mine["url"], headers=rm05)).status_code == 404
    assert (await client.get(LATEST, headers=head)).status_code == 404
    bad = await client.get(LATEST, params={"size": "watch"}, headers=rm01)
    assert bad.status_code == 422
    again = await client.get(LATEST, params={"current": mine["sha256"]}, headers=rm01)
    assert again.json()["up_to_date"] is True

    # A new brochure: the new pack, and a diff from the one rm01 has (far smaller).
    await add_brochure(db, store, "新客理财", pages=1, page_bytes=20_000)
    await jobs.build_media_packs(worker, now=NOW + timedelta(minutes=1))
    newer = (await client.get(LATEST, params={"current": mine["sha256"]}, headers=rm01)).json()
    assert newer["version"] > mine["version"]
    assert newer["diff_url"] is not None
    assert newer["diff_size"] < newer["size"] / 2


async def test_a_rendition_of_a_brochure_left_out_issues_no_new_pack(
    db: Any, store: LocalBlobStore, worker: Any
) -> None:
    # At startup every RM got version 1 and, 17 s later, version 2 of the same empty pack: a
    # rendition of a brochure still left out (its other pages pending) changed the fingerprint.
    await add_brochure(db, store, "基金定投")
    slow = await add_brochure(db, store, "养老规划", pages=3, built=False)
    assert await jobs.build_media_packs(worker, now=NOW) >= 1
    first, data = await pack_of(db, store, "rm01")
    assert titles(data) == ["基金定投"]

    pages = await db.fetch(
        "select r.image_sha256 from brochure_renditions r"
        " join brochure_versions v on r.image_sha256 = any(v.pages)"
        " where v.brochure_id = $1 order by array_position(v.pages, r.image_sha256)",
        slow,
    )

    async def ready(sha: bytes) -> None:
        key = f"brochures/r/{sha.hex()}-{PHONE}"
        await store.put(key, b"RIFF built", content_type="image/webp")
        await db.execute(
            "update brochure_renditions set status = 'ready', blob_key = $2"
            " where image_sha256 = $1",
            sha, key,
        )  # fmt: skip

    for row in pages[:-1]:  # its pages built one by one: the pack would hold the same
        await ready(row["image_sha256"])
        assert await jobs.build_media_packs(worker, now=NOW) == 0
        latest, _ = await pack_of(db, store, "rm01")
        assert latest["version"] == first["version"]

    await ready(pages[-1]["image_sha256"])  # its last page: now it enters the pack
    assert await jobs.build_media_packs(worker, now=NOW) >= 1
    second, data = await pack_of(db, store, "rm01")
    assert second["version"] > first["version"]
    assert titles(data) == ["养老规划", "基金定投"]

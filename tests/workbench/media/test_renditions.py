"""Uploads are stored once and recorded; the worker builds their renditions (right sizes, no
metadata), a broken image fails alone, and concurrent runs never build a row twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.worker import create_worker
from litestar import Request, post

from tests.workbench.media.conftest import decode, encode, photo
from workbench.db import Pool, create_pool
from workbench.http.auth import PUBLIC
from workbench.http.deps import Db
from workbench.media.images import ImageLimits
from workbench.media.jobs import BUILD_SLOTS, MAX_ATTEMPTS, BuildSlots, build_renditions
from workbench.media.renditions import SPEC_NAMES, SPECS
from workbench.media.service import renditions_of, store_source_image, wake_worker
from workbench.media.store import BlobInfo, BlobStore, LocalBlobStore
from workbench.worker import worker_settings

LIMITS = ImageLimits()
EXPECTED_SIZES = {"phone": (1080, 810), "tablet": (1600, 1200), "thumb": (320, 240)}


@pytest.fixture
async def pool(settings) -> AsyncIterator[Pool]:
    pool = await create_pool(settings.database_url, max_size=6)
    yield pool
    await pool.close()


async def upload(db, store: BlobStore, raw: bytes) -> bytes:
    async with db.transaction():
        image = await store_source_image(db, store, raw, limits=LIMITS, uploaded_by=None)
    return image.sha256


async def run_job(pool: Pool, store: BlobStore) -> int:
    return await build_renditions({"pool": pool, "blobs": store})


async def test_an_upload_gets_its_renditions_after_one_job_run(db, pool, store):
    sha = await upload(db, store, photo(1600, 1200))
    pending = (await renditions_of(db, [sha]))[sha]
    assert sorted(pending) == sorted(SPEC_NAMES)
    assert {r.status for r in pending.values()} == {"pending"}

    assert await run_job(pool, store) == len(SPECS)

    rows = (await renditions_of(db, [sha]))[sha]
    for spec in SPECS:
        row = rows[spec.name]
        assert row.status == "ready", row
        assert row.blob_key == f"brochures/r/{sha.hex()}-{spec.name}"
        assert (row.width, row.height) == EXPECTED_SIZES[spec.size]  # never upscaled
        data = b"".join([chunk async for chunk in store.read(row.blob_key)])
        assert row.byte_size == len(data)
        img = decode(data)
        assert img.format == spec.fmt.upper()
        assert img.size == EXPECTED_SIZES[spec.size]
        assert dict(img.getexif()) == {}
        assert "icc_profile" not in img.info
        info = await store.stat(row.blob_key)
        assert info is not None
        assert info.content_type == f"image/{spec.fmt}"
    assert await run_job(pool, store) == 0  # nothing left


async def test_renditions_carry_no_metadata_from_the_upload(db, pool, local_store):
    from tests.workbench.media.test_images import portrait_phone_photo

    sha = await upload(db, local_store, portrait_phone_photo())
    await run_job(pool, local_store)

    for row in (await renditions_of(db, [sha]))[sha].values():
        data = (local_store.root / row.blob_key).read_bytes()
        for needle in (b"Exif", b"PhoneCo", b"GPS", b"xmpmeta", b"home address", b"ICC_PROFILE"):
            assert needle not in data, (row.spec, needle)
        assert row.height > row.width  # the portrait stays portrait


async def test_a_transparent_png_keeps_alpha_in_webp_and_is_flattened_onto_white_in_jpeg(
    db, pool, local_store
):
    from PIL import Image

    img = Image.new("RGBA", (400, 200), (0, 0, 255, 255))
    img.paste((0, 0, 0, 0), (0, 0, 200, 200))
    sha = await upload(db, local_store, encode(img, "PNG"))
    await run_job(pool, local_store)

    rows = (await renditions_of(db, [sha]))[sha]
    webp = decode((local_store.root / rows["thumb-w320-q80.webp"].blob_key).read_bytes())
    jpeg = decode((local_store.root / rows["thumb-w320-q85.jpeg"].blob_key).read_bytes())
    assert webp.mode == "RGBA"
    assert webp.getpixel((20, 80))[3] == 0
    assert jpeg.mode == "RGB"
    assert min(jpeg.getpixel((20, 80))) > 240  # white where it was transparent


async def test_uploading_the_same_image_twice_stores_and_records_it_once(db, store):
    raw = photo(800, 600)
    first = await upload(db, store, raw)
    key = f"brochures/src/{first.hex()}.jpeg"
    before = await store.stat(key)

    assert await upload(db, store, raw) == first

    assert await store.stat(key) == before  # not written again
    assert await db.fetchval("select count(*) from brochure_images") == 1
    assert await db.fetchval("select count(*) from brochure_renditions") == len(SPECS)
    row = await db.fetchrow("select * from brochure_images")
    assert (row["blob_key"], row["format"], row["width"], row["height"]) == (key, "jpeg", 800, 600)
    assert row["byte_size"] == before.size


async def test_an_unreadable_source_fails_only_its_own_renditions(db, pool, local_store):
    good = await upload(db, local_store, photo(1000, 700, seed=1))
    broken = await upload(db, local_store, photo(1000, 700, seed=2))
    missing = await upload(db, local_store, photo(1000, 700, seed=3))
    await local_store.put(
        f"brochures/src/{broken.hex()}.jpeg", b"\xff\xd8 not a jpeg", content_type="image/jpeg"
    )
    await local_store.delete(f"brochures/src/{missing.hex()}.jpeg")

    assert await run_job(pool, local_store) == len(SPECS)

    rows = await renditions_of(db, [good, broken, missing])
    assert {r.status for r in rows[good].values()} == {"ready"}
    for sha in (broken, missing):
        for row in rows[sha].values():
            assert (row.status, row.attempts, row.blob_key) == ("pending", 1, None)
            assert row.error
    # Retried later (as time passes: the retry delay is over), and failed on the last attempt.
    for _ in range(MAX_ATTEMPTS - 1):
        await db.execute("update brochure_renditions set claimed_until = now() - interval '1s'")
        await run_job(pool, local_store)
    rows = await renditions_of(db, [good, broken, missing])
    assert {r.status for r in rows[good].values()} == {"ready"}
    assert {(r.status, r.attempts) for r in rows[broken].values()} == {("failed", MAX_ATTEMPTS)}
    assert {r.status for r in rows[missing].values()} == {"failed"}
    assert all("not a readable image" in r.error for r in rows[broken].values()), rows[broken]
    assert all("BlobNotFound" in r.error for r in rows[missing].values())


async def test_a_worker_that_died_mid_build_is_replaced_and_a_killer_image_gives_up(
    db, pool, local_store
):
    sha = await upload(db, local_store, photo(600, 400))
    # A worker claimed the rows and died: its lease has run out.
    await db.execute(
        "update brochure_renditions set attempts = 1, claimed_until = now() - interval '1s'"
    )
    assert await run_job(pool, local_store) == len(SPECS)
    assert {r.attempts for r in (await renditions_of(db, [sha]))[sha].values()} == {2}

    other = await upload(db, local_store, photo(600, 400, seed=5))
    await db.execute(
        "update brochure_renditions set attempts = $2, claimed_until = now() - interval '1s'"
        " where image_sha256 = $1",
        other,
        MAX_ATTEMPTS,
    )
    assert await run_job(pool, local_store) == 0
    rows = (await renditions_of(db, [other]))[other]
    assert {r.status for r in rows.values()} == {"failed"}
    assert all("worker stopped" in r.error for r in rows.values())


async def test_a_held_lease_is_not_taken(db, pool, local_store):
    sha = await upload(db, local_store, photo(600, 400))
    await db.execute(
        "update brochure_renditions set attempts = 1, claimed_until = now() + interval '1 minute'"
    )
    assert await run_job(pool, local_store) == 0
    assert {r.status for r in (await renditions_of(db, [sha]))[sha].values()} == {"pending"}


class CountingStore:
    """A blob store that counts what is put into it (the real local store underneath)."""

    def __init__(self, inner: LocalBlobStore) -> None:
        self.inner, self.puts = inner, Counter[str]()

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        self.puts[key] += 1
        await asyncio.sleep(0.01)  # let the other run interleave
        return await self.inner.put(key, data, content_type=content_type)

    async def stat(self, key: str) -> BlobInfo | None:
        return await self.inner.stat(key)

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.inner.read(key, start=start, end=end)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def close(self) -> None:
        await self.inner.close()


async def test_two_concurrent_job_runs_never_build_the_same_row_twice(db, pool, local_store):
    shas = [await upload(db, local_store, photo(700, 500, seed=s)) for s in range(5)]
    counting = CountingStore(local_store)

    # Two worker processes, each with its build slots.
    first, second = await asyncio.gather(
        *(build_renditions({"pool": pool, "blobs": counting, "media_build_slots": BuildSlots()})
          for _ in range(2))
    )  # fmt: skip

    assert first + second == 5 * len(SPECS)
    assert first > 0
    assert second > 0  # both really worked
    rendition_puts = {k: n for k, n in counting.puts.items() if k.startswith("brochures/r/")}
    assert len(rendition_puts) == 5 * len(SPECS)
    assert set(rendition_puts.values()) == {1}
    rows = await renditions_of(db, shas)
    assert {r.status for image in rows.values() for r in image.values()} == {"ready"}
    assert {r.attempts for image in rows.values() for r in image.values()} == {1}


async def test_a_new_spec_is_built_for_images_recorded_before_it(db, pool, local_store):
    sha = await upload(db, local_store, photo(600, 400))
    # As if the image had been uploaded when only an older phone spec existed.
    await db.execute("delete from brochure_renditions")
    await db.execute(
        "insert into brochure_renditions (image_sha256, spec, status, blob_key)"
        " values ($1, 'phone-w1000-q70.webp', 'ready', 'brochures/r/old')",
        sha,
    )

    assert await run_job(pool, local_store) == len(SPECS)

    rows = (await renditions_of(db, [sha]))[sha]
    assert {name for name, r in rows.items() if r.status == "ready"} == {
        *SPEC_NAMES,
        "phone-w1000-q70.webp",
    }


@post("/test/media-upload", opt={PUBLIC: True})
async def upload_page(request: Request[Any, Any, Any], db: Db) -> dict[str, str]:
    state = request.app.state
    image = await store_source_image(
        db,
        state.blobs,
        await request.body(),
        limits=state.settings.image_limits,
        uploaded_by=None,
        enqueue=wake_worker(state.redis, state.settings.redis_prefix),
    )
    return {"sha256": image.sha256.hex()}


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_an_upload_wakes_the_worker_which_builds_what_the_media_url_serves(
    settings, make_client, store_kind, db
):
    client = await make_client(**store_kind)
    client.app.register(upload_page)
    refused = await client.post("/test/media-upload", content=b"GIF89a not allowed")
    assert refused.status_code == 422
    assert refused.json()["code"] == "image.not_allowed"

    response = await client.post("/test/media-upload", content=photo(1200, 900))
    assert response.status_code == 201, response.text
    sha = bytes.fromhex(response.json()["sha256"])
    # The commit queued one run for the worker.
    queued = aioredis.Redis.from_url(settings.redis_url)
    try:
        jobs = await queued.zrange(f"{settings.redis_prefix}queue", 0, -1)
    finally:
        await queued.aclose()
    assert jobs == [f"{settings.redis_prefix}media:build-renditions".encode()]

    # A real worker (burst mode: runs what is queued, then stops) picks the upload's job up.
    cls = worker_settings(replace(settings, **store_kind))
    worker = create_worker(cls, burst=True, poll_delay=0.05, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert worker.jobs_failed == 0
    assert worker.jobs_complete >= 1

    rows = (await renditions_of(db, [sha]))[sha]
    assert {r.status for r in rows.values()} == {"ready"}
    phone = rows["phone-w1080-q80.webp"]
    served = await client.get(client.app.state.media_signer.url(phone.blob_key, 60))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert decode(served.content).size == (1080, 810)


class StallingStore(CountingStore):
    """A store whose writes hang until the run is cancelled (a worker stopping mid-build)."""

    def __init__(self, inner: LocalBlobStore) -> None:
        super().__init__(inner)
        self.writing = asyncio.Event()

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        if key.startswith("brochures/r/"):
            self.writing.set()
            await asyncio.sleep(3600)
        return await super().put(key, data, content_type=content_type)


async def test_a_worker_stopping_mid_build_gives_its_claims_back_at_once(db, pool, local_store):
    # SIGTERM during a build: the leased rows waited out their 5-minute lease (placeholders for
    # the RMs) before the next worker could take them; now they are given back, no attempt
    # counted, and the next run builds them at once.
    shas = [await upload(db, local_store, photo(700, 500, seed=s)) for s in range(2)]
    stalling = StallingStore(local_store)
    run = asyncio.create_task(run_job(pool, stalling))
    await asyncio.wait_for(stalling.writing.wait(), timeout=30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    rows = await renditions_of(db, shas)
    assert {r.status for image in rows.values() for r in image.values()} == {"pending"}
    assert {r.attempts for image in rows.values() for r in image.values()} == {0}
    assert await run_job(pool, local_store) == 2 * len(SPECS)


class GatedStore(CountingStore):
    """A store whose rendition writes wait until `opened`: a build in progress, held there."""

    def __init__(self, inner: LocalBlobStore) -> None:
        super().__init__(inner)
        self.writing, self.opened = asyncio.Event(), asyncio.Event()

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        if key.startswith("brochures/r/"):
            self.writing.set()
            await self.opened.wait()
        return await super().put(key, data, content_type=content_type)


async def test_overlapping_runs_of_one_worker_claim_only_the_images_it_is_building(
    db, pool, local_store
):
    # A brochure's pages uploaded, one worker: its runs overlap (the scheduled one every 5 s, a
    # run lasting up to a minute, the upload's queued one). Each overlapping run claimed an
    # image and then waited for the one build thread, so a kill -9 left all of them to their
    # 5-minute lease. Now only the image being built is leased; the other runs claim nothing.
    shas = [await upload(db, local_store, photo(700, 500, seed=s)) for s in range(4)]
    gated = GatedStore(local_store)
    worker: dict[str, Any] = {"pool": pool, "blobs": gated}  # one worker process's ctx
    # As arq runs a job: with a copy of the worker's ctx of its own.
    first = asyncio.create_task(build_renditions({**worker, "job_id": "cron:0"}))
    later: list[asyncio.Task[int]] = []
    try:
        await asyncio.wait_for(gated.writing.wait(), timeout=30)
        later = [
            asyncio.create_task(build_renditions({**worker, "job_id": f"cron:{n}"}))
            for n in (5, 10, 15)
        ]
        done, _ = await asyncio.wait(later, timeout=10)
        leased = await db.fetch(
            "select image_sha256, spec from brochure_renditions"
            " where status = 'pending' and claimed_until > now()"
        )
        assert len({bytes(r["image_sha256"]) for r in leased}) <= BUILD_SLOTS
        assert len(leased) <= BUILD_SLOTS * len(SPECS)
        assert done == set(later)  # they ended at once, holding nothing
        assert [t.result() for t in later] == [0, 0, 0]
    finally:
        gated.opened.set()
        built = await first
        await asyncio.gather(*later, return_exceptions=True)

    assert built == len(shas) * len(SPECS)  # the running one built every image, one at a time
    rows = await renditions_of(db, shas)
    assert {(r.status, r.attempts) for image in rows.values() for r in image.values()} == {
        ("ready", 1)
    }
    assert await run_job(pool, local_store) == 0

"""Storing an uploaded brochure image, and reading what renditions it has.

    image = await store_source_image(
        db, app.state.blobs, raw, limits=settings.image_limits, uploaded_by=caller.user_id,
        enqueue=wake_worker(app.state.redis, settings.redis_prefix),
    )

The source is stored once per content (its key is its SHA-256), recorded in `brochure_images`
with one `pending` row per rendition spec; the worker builds them (`workbench.media.jobs`).

A request that stores several images, any of which (or anything else in it) may still be refused,
stores them inside `holding_blobs()`: their blobs are written only when the block ends without
an exception, so a refused request leaves nothing in the blob store.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from mobile_contracts.v1.brochures import Rendition
from workbench.db import Connection, after_commit
from workbench.media import queries
from workbench.media.images import ImageLimits, SourceImage, ingest
from workbench.media.renditions import PAIRS, SPEC_NAMES
from workbench.media.store import BlobStore

log = logging.getLogger("workbench.media")
JOB_NAME = "build_renditions"
Enqueue = Callable[[], Awaitable[None]]
# The source blobs `store_source_image` holds back inside `holding_blobs`, by blob key.
_held: ContextVar[dict[str, tuple[BlobStore, SourceImage]] | None] = ContextVar(
    "held_source_blobs", default=None
)


@dataclass(frozen=True)
class RenditionRow:
    spec: str
    status: str  # pending, ready, failed
    blob_key: str | None  # set exactly when ready
    width: int | None
    height: int | None
    byte_size: int | None
    error: str | None
    attempts: int


def source_key(image: SourceImage) -> str:
    return f"brochures/src/{image.sha256.hex()}.{image.format}"


async def store_source_image(
    conn: Connection,
    store: BlobStore,
    raw: bytes,
    *,
    limits: ImageLimits,
    uploaded_by: uuid.UUID | None,
    enqueue: Enqueue | None = None,
) -> SourceImage:
    """Check and normalise `raw` (ImageRefused, 422, if it is not acceptable), store it unless
    the same image is stored already, and record it with a pending rendition per spec. Both
    inserts are idempotent. After the request's transaction commits, `enqueue` (if given) wakes
    a worker; without it the worker's every-few-seconds run finds the rows anyway.

    The blob is written before the transaction commits, so a committed row always has its blob:
    at once, or inside `holding_blobs` when its block ends (a rolled-back request may leave an
    unreferenced blob, which is harmless)."""
    image = await asyncio.to_thread(ingest, raw, limits=limits)
    key = await queries.image_blob_key(conn, image.sha256) or source_key(image)
    held = _held.get()
    if held is None:
        await _write_once(store, key, image)
    else:
        held.setdefault(key, (store, image))
    await queries.insert_image(
        conn,
        sha256=image.sha256,
        blob_key=key,
        fmt=image.format,
        width=image.width,
        height=image.height,
        byte_size=len(image.data),
        uploaded_by=uploaded_by,
    )
    await queries.insert_renditions(conn, image.sha256, SPEC_NAMES)
    if enqueue is not None:
        after_commit(conn, enqueue)
    return image


@asynccontextmanager
async def holding_blobs() -> AsyncIterator[None]:
    """Inside it, `store_source_image` checks and records each image but holds its blob back;
    the blobs are written when the block ends without an exception (every image, and all else
    the request is checked for, passed) and dropped when it raises: a refused request writes
    nothing to the blob store. Nested, the outermost block writes."""
    if _held.get() is not None:
        yield
        return
    held: dict[str, tuple[BlobStore, SourceImage]] = {}
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    for key, (store, image) in held.items():
        await _write_once(store, key, image)


async def _write_once(store: BlobStore, key: str, image: SourceImage) -> None:
    if await store.stat(key) is None:
        await store.put(key, image.data, content_type=image.content_type)


def wake_worker(redis: Any, redis_prefix: str) -> Enqueue:
    """An `enqueue` for `store_source_image`: queue one `build_renditions` run on the app's
    arq Redis (`app.state.redis`). Uploads of the same moment share one queued run (one job id);
    if Redis does not answer, the worker's scheduled run builds the renditions a little later."""

    async def enqueue() -> None:
        try:
            await redis.enqueue_job(JOB_NAME, _job_id=f"{redis_prefix}media:build-renditions")
        except (RedisError, OSError) as exc:
            log.warning("could not wake the rendition worker: %s", type(exc).__name__)

    return enqueue


async def renditions_of(
    conn: Connection, shas: Sequence[bytes]
) -> dict[bytes, dict[str, RenditionRow]]:
    """The rendition rows of these source images, by image and spec name (images without any
    are left out)."""
    found: dict[bytes, dict[str, RenditionRow]] = {}
    for r in await queries.renditions_of(conn, list(shas)):
        found.setdefault(bytes(r["image_sha256"]), {})[r["spec"]] = RenditionRow(
            spec=r["spec"],
            status=r["status"],
            blob_key=r["blob_key"],
            width=r["width"],
            height=r["height"],
            byte_size=r["byte_size"],
            error=r["error"],
            attempts=r["attempts"],
        )
    return found


async def shown_renditions(
    conn: Connection, shas: Sequence[bytes], sign: Callable[[str], str]
) -> dict[bytes, dict[str, Rendition]]:
    """What pages show of these images: per image, per size whose WebP and JPEG are both
    built, their signed URLs and dimensions (one query of the built rows; a hot path)."""
    by_image: dict[bytes, dict[str, tuple[str, int, int]]] = {}
    for r in await queries.ready_renditions_of(conn, list(shas)):
        by_image.setdefault(bytes(r["image_sha256"]), {})[r["spec"]] = (
            r["blob_key"], r["width"], r["height"],
        )  # fmt: skip
    shown: dict[bytes, dict[str, Rendition]] = {}
    for image, built in by_image.items():
        sizes = {}
        for size, (webp_name, jpeg_name) in PAIRS.items():
            webp, jpeg = built.get(webp_name), built.get(jpeg_name)
            if webp is not None and jpeg is not None:
                sizes[size] = Rendition(
                    width=webp[1], height=webp[2], webp=sign(webp[0]), jpeg=sign(jpeg[0])
                )
        shown[image] = sizes
    return shown

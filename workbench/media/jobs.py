"""The worker job that builds renditions: scheduled every few seconds, and queued by uploads.

A run claims pending renditions in small batches (FOR UPDATE SKIP LOCKED, with a lease in
`claimed_until`; each claim is an attempt), reads each source once, builds its renditions in a
thread, stores them and marks each row `ready`. A failure is recorded on the row and retried
later; on the third attempt it is `failed` with its error (the blob store not answering is no
attempt: the rows wait for the next run). A source that cannot be read or
decoded fails only its own renditions. A worker that dies mid-build leaves leased rows that
another run claims once the lease has run out; a row whose last attempt died so is failed.
Concurrent runs (several workers, or the scheduled and a queued run) never claim the same row,
and a run whose lease ran out cannot overwrite the newer claim's result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any

from workbench.media import queries
from workbench.media.renditions import BY_NAME, SPEC_NAMES, Built, RenditionSpec, build
from workbench.media.store import BlobStore, BlobStoreUnavailable

log = logging.getLogger("workbench.media.jobs")
MAX_ATTEMPTS = 3
LEASE_SECONDS = 300
RETRY_SECONDS = 20  # times the attempt number
BATCH = 6  # one image's renditions
RUN_SECONDS = 60  # a run stops claiming after this; the next one goes on
_SPECS_CHECKED = "media_specs_checked"
_BUILDER: list[ThreadPoolExecutor] = []


def _builder() -> ThreadPoolExecutor:
    """One thread builds renditions in a worker process, one image at a time: the image
    buffers then come from one malloc arena, which keeps the peak memory of a run lower and
    steadier than a new thread of the default pool for each image (measured in bench.media)."""
    if not _BUILDER:
        _BUILDER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="renditions"))
    return _BUILDER[0]


async def build_renditions(ctx: dict[str, Any]) -> int:
    """Build pending renditions until none is left or the run has used its time; returns how
    many became ready."""
    pool, store = ctx["pool"], ctx["blobs"]
    if not ctx.get(_SPECS_CHECKED):  # once per worker process: rows for a new or changed spec
        async with pool.acquire() as conn:
            if added := await queries.add_missing_renditions(conn, SPEC_NAMES):
                log.info("renditions queued for the current specs", extra={"count": added})
        ctx[_SPECS_CHECKED] = True
    ready, stop_at = 0, time.monotonic() + ctx.get("media_run_seconds", RUN_SECONDS)
    while time.monotonic() < stop_at:
        async with pool.acquire() as conn:
            if gave_up := await queries.give_up_abandoned(conn, max_attempts=MAX_ATTEMPTS):
                log.warning(
                    "renditions failed: a worker died building them", extra={"count": gave_up}
                )
            claimed = await queries.claim_renditions(
                conn,
                limit=BATCH,
                lease_seconds=LEASE_SECONDS,
                max_attempts=MAX_ATTEMPTS,
                specs=SPEC_NAMES,
            )
        if not claimed:
            break
        store_down = False
        images = [(sha, list(rows)) for sha, rows in
                  groupby(claimed, key=lambda r: bytes(r["image_sha256"]))]  # fmt: skip
        for n, (sha, rows) in enumerate(images):
            try:
                built, down = await _build_image(pool, store, sha, rows)
            except asyncio.CancelledError:  # the worker is stopping (SIGTERM, a deploy)
                await asyncio.shield(_give_back(pool, [r for _, left in images[n:] for r in left]))
                raise
            ready, store_down = ready + built, store_down or down
        if store_down:  # the next scheduled run tries again
            break
    return ready


async def _give_back(pool: Any, rows: list[Any]) -> None:
    """The claims of a run stopped with the worker, given back at once and not counted as
    attempts: the next worker builds them now, not when the lease runs out (5 minutes of
    placeholder pages for the RMs). A row already recorded (built) is not touched."""
    async with pool.acquire() as conn:
        for row in rows:
            await queries.release_claim(
                conn, sha256=bytes(row["image_sha256"]), spec=row["spec"],
                attempt=row["attempts"], retry_seconds=0, error="the worker stopped",
            )  # fmt: skip
    log.info("renditions given back: the worker is stopping", extra={"count": len(rows)})


async def _build_image(
    pool: Any, store: BlobStore, sha: bytes, rows: list[Any]
) -> tuple[int, bool]:
    """Build and record the claimed renditions of one image: (how many are ready, whether the
    store was unavailable)."""
    specs: list[RenditionSpec] = [BY_NAME[row["spec"]] for row in rows]  # claimed: current
    try:
        source = b"".join([chunk async for chunk in store.read(rows[0]["source_key"])])
        built = await asyncio.get_running_loop().run_in_executor(_builder(), build, source, specs)
    except Exception as exc:  # unreadable or undecodable source: fails its renditions only
        built = [exc] * len(specs)
    outcomes: dict[str, Built | Exception] = dict(zip((s.name for s in specs), built, strict=True))
    ready, store_down = 0, False
    for row in rows:
        outcome = outcomes[row["spec"]]
        if isinstance(outcome, Built):
            try:
                await store.put(
                    outcome.spec.blob_key(sha), outcome.data, content_type=outcome.spec.content_type
                )
            except Exception as exc:
                outcome = exc
        async with pool.acquire() as conn:
            if isinstance(outcome, BlobStoreUnavailable):  # not the image's fault: no attempt
                store_down = True
                await queries.release_claim(
                    conn,
                    sha256=sha,
                    spec=row["spec"],
                    attempt=row["attempts"],
                    retry_seconds=RETRY_SECONDS,
                )
            elif isinstance(outcome, Built):
                ready += await queries.mark_ready(
                    conn,
                    sha256=sha,
                    spec=row["spec"],
                    attempt=row["attempts"],
                    blob_key=outcome.spec.blob_key(sha),
                    width=outcome.width,
                    height=outcome.height,
                    byte_size=len(outcome.data),
                )
            else:
                status = await queries.mark_failed(
                    conn,
                    sha256=sha,
                    spec=row["spec"],
                    attempt=row["attempts"],
                    error=_describe(outcome),
                    max_attempts=MAX_ATTEMPTS,
                    retry_seconds=RETRY_SECONDS * row["attempts"],
                )
                context = {"image": sha.hex(), "spec": row["spec"], "attempt": row["attempts"]}
                log.warning(
                    "rendition not built",
                    extra={**context, "status": status, "error": _describe(outcome)},
                )
    if store_down:
        log.warning("renditions wait: the blob store is unavailable", extra={"image": sha.hex()})
    return ready, store_down


def _describe(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or str(exc)
    return f"{type(exc).__name__}: {detail}"[:500]

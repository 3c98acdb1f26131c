"""The worker job that builds renditions: scheduled every few seconds, and queued by uploads.

A run takes a build slot of its worker process (`BUILD_SLOTS`, the threads that build), then
claims the pending renditions of one image at a time (FOR UPDATE SKIP LOCKED, with a lease in
`claimed_until`; each claim is an attempt), reads the source once, builds its renditions in a
thread, stores them and marks each row `ready`; then the next image, until none is left or the
run has used its time. A run that finds every slot taken claims nothing and ends at once (the
run holding the slot claims once more before it ends): runs overlap (one starts every 5 seconds,
one may last a minute, and arq's `unique` only keeps the same scheduled run from starting twice),
and a run that claimed before waiting for the build thread would leave those images to their
lease if the worker died. So a worker holds leases only on the images it is building.
A failure is recorded on the row and retried later; on the third attempt it is `failed` with its
error (the blob store not answering is no attempt: the rows wait for the next run). A source
that cannot be read or decoded fails only its own renditions. A worker that dies mid-build
leaves leased rows that another run claims once the lease has run out; a row whose last attempt
died so is failed. Concurrent runs (several workers) never claim the same row, and a run whose
lease ran out cannot overwrite the newer claim's result.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from workbench.media import queries
from workbench.media.renditions import BY_NAME, SPEC_NAMES, Built, RenditionSpec, build
from workbench.media.store import BlobStore, BlobStoreUnavailable

log = logging.getLogger("workbench.media.jobs")
MAX_ATTEMPTS = 3
LEASE_SECONDS = 300
RETRY_SECONDS = 20  # times the attempt number
BATCH = 6  # rows claimed at most at once: one image's renditions
RUN_SECONDS = 60  # a run stops claiming after this; the next one goes on
BUILD_SLOTS = 1  # images a worker process builds at once (its build threads)
_SPECS_CHECKED = "media_specs_checked"
_SLOTS = "media_build_slots"  # a test's stand-in for another worker process's slots
_BUILDER: list[ThreadPoolExecutor] = []


@dataclass
class BuildSlots:
    """A worker process's build slots, shared by all its runs: held while claiming and
    building, so a run claims only what it builds next."""

    free: int = BUILD_SLOTS
    missed: bool = False  # a run found none free since the holder's last claim


# arq gives each run a copy of the worker's ctx: slots kept in it would be each run's own. One
# per event loop: a worker process runs one.
_PROCESS_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BuildSlots] = (
    weakref.WeakKeyDictionary()
)


def _slots(ctx: dict[str, Any]) -> BuildSlots:
    given: BuildSlots | None = ctx.get(_SLOTS)
    if given is not None:
        return given
    return _PROCESS_SLOTS.setdefault(asyncio.get_running_loop(), BuildSlots())


def _builder() -> ThreadPoolExecutor:
    """One thread builds renditions in a worker process, one image at a time: the image
    buffers then come from one malloc arena, which keeps the peak memory of a run lower and
    steadier than a new thread of the default pool for each image (measured in bench.media)."""
    if not _BUILDER:
        _BUILDER.append(
            ThreadPoolExecutor(max_workers=BUILD_SLOTS, thread_name_prefix="renditions")
        )
    return _BUILDER[0]


async def build_renditions(ctx: dict[str, Any]) -> int:
    """Build pending renditions, one image at a time, until none is left or the run has used
    its time; returns how many became ready. A run that finds the worker's build slots taken
    (an earlier run still going, the scheduled one beside a queued one) claims nothing: it asks
    the running one to look once more before it ends, and returns 0."""
    slots = _slots(ctx)
    if slots.free <= 0:
        slots.missed = True
        return 0
    slots.free -= 1
    try:
        return await _build_pending(ctx, slots)
    finally:
        slots.free += 1


async def _build_pending(ctx: dict[str, Any], slots: BuildSlots) -> int:
    pool, store = ctx["pool"], ctx["blobs"]
    # Rows for a new or changed spec. Once per ctx: in the worker that is every run (arq gives
    # each run a copy of the worker's ctx), a lookup of the images that lack one.
    if not ctx.get(_SPECS_CHECKED):
        async with pool.acquire() as conn:
            if added := await queries.add_missing_renditions(conn, SPEC_NAMES):
                log.info("renditions queued for the current specs", extra={"count": added})
        ctx[_SPECS_CHECKED] = True
    ready, stop_at = 0, time.monotonic() + ctx.get("media_run_seconds", RUN_SECONDS)
    while time.monotonic() < stop_at:
        slots.missed = False
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
            if slots.missed:  # a run (an upload's) came while this one claimed: look again
                continue
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

"""The worker's offline-package jobs: brochure media packs rebuilt when an RM's catalogue changes.

`build_media_packs` runs every 30 seconds (arq `unique`: each scheduled run once, not once per
worker; runs may still overlap, here or on another worker, which the locks below make safe). It
finds RMs whose live catalogue no longer matches the fingerprint of their last pack (or who have
none, or whose pack expires within a week), and builds their packs, each in its own transaction
under an advisory lock per RM and size: a second worker, or a run overlapping this one, passes a
held pack over, and rechecks the fingerprint once it holds the lock, so a pack is never built
twice for one catalogue. Idempotent: a run with nothing changed builds nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from arq import cron

from sync.packages import media
from sync.packages.manifest import PackageSigner
from workbench.media.store import BlobStoreUnavailable
from workbench.settings import Settings

log = logging.getLogger("sync.packages.jobs")
BATCH = 500  # stale RMs read at once (one query computes every RM's fingerprint)
RUN_SECONDS = 25  # a run stops starting builds after this; the next one goes on


async def build_media_packs(ctx: dict[str, Any], *, now: datetime | None = None) -> int:
    """Build the media packs that are out of date; returns how many were built."""
    settings: Settings = ctx["settings"]
    pool, store = ctx["pool"], ctx["blobs"]
    signer = PackageSigner(settings.jwt_keys)
    stop_at = time.monotonic() + ctx.get("media_pack_run_seconds", RUN_SECONDS)
    built = 0
    for size in media.SIZES:
        passed: set[Any] = set()  # failed or held by another worker in this run
        while time.monotonic() < stop_at:
            moment = now or datetime.now(UTC)
            async with pool.acquire() as conn:
                owners = await media.stale_owners(
                    conn, size=size, now=moment, limit=BATCH + len(passed)
                )
            todo = [(o, print_) for o, print_ in owners if o not in passed]
            if not todo:
                break
            for owner_id, fingerprint in todo:
                if time.monotonic() >= stop_at:
                    break
                try:
                    async with pool.acquire() as conn, conn.transaction():
                        pack = await media.build_pack(
                            conn, store=store, signer=signer, owner_id=owner_id, size=size,
                            now=moment, fingerprint=fingerprint,
                        )  # fmt: skip
                except BlobStoreUnavailable:
                    log.warning("media packs wait: the blob store is unavailable")
                    return built
                except Exception:
                    log.exception("media pack not built", extra={"owner": str(owner_id)})
                    pack = None
                if pack is None:
                    passed.add(owner_id)
                else:
                    built += 1
    return built


FUNCTIONS: list[Any] = [build_media_packs]
CRON: list[Any] = [
    cron(
        build_media_packs,
        second={0, 30},
        unique=True,
        run_at_startup=True,
    )
]

"""Per-RM brochure media packs (API routes): the RM's newest pack of a size."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from mobile_contracts.v1 import media_packs as wire
from mobile_contracts.v1.patterns import whole
from sync.packages import diffs, media
from workbench.errors import NotFound, ServiceUnavailable
from workbench.http.deps import CurrentCaller
from workbench.http.openapi import ERRORS

log = logging.getLogger("sync.packages.media_routes")
Sha256Query = Annotated[
    str | None,
    QueryParameter(
        pattern=whole("[0-9a-f]{64}", says="64 lowercase hexadecimal digits (a SHA-256)")
    ),
]


def download_path(package_id: Any) -> str:
    """The package download route (the owner check is there: anyone else gets 404)."""
    return f"/api/v1/offline-packages/{package_id}/download"


class MediaPackController(Controller):
    """An RM's signed pack of the brochure renditions live for them."""

    path = "/api/v1/offline-packages/media"
    tags = ["offline packages"]

    @get(
        "/latest",
        operation_id="getLatestMediaPack",
        opt={
            ERRORS: {
                404: "I have no media pack of that size yet (`media_pack.not_found`)",
                422: "A malformed `size` or `current`",
            }
        },
    )
    async def latest(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        size: Annotated[wire.PackSize, QueryParameter()] = wire.PackSize.PHONE,
        current: Sha256Query = None,
    ) -> wire.MediaPackLatest:
        """My newest brochure media pack of one size (phone or tablet).

        `size`: phone (the default) or tablet. Only my own pack: the worker builds one for each
        RM from the brochures live for them and rebuilds it when that changes; other roles have
        none (404). `current` is the SHA-256 of the pack the app has: a diff from it is offered
        when one applies and is meaningfully smaller. Verify what you download before using
        it."""
        state = request.app.state
        # No request transaction: offering a diff may build it (reads both packages).
        async with state.pool.acquire() as conn:
            row = await media.latest_pack(conn, caller.user_id, size=size.value)
            if row is None:
                raise NotFound(
                    "media_pack",
                    f"You have no {size.value} media pack: only RMs have one, once "
                    "the worker has built it from the brochures live for them",
                )
            answer = wire.MediaPackLatest(
                app_id=row["app_id"],
                version=row["version"],
                url=download_path(row["id"]),
                sha256=row["sha256"],
                size=row["size"],
                signature=row["signature"],
                key_id=row["key_id"],
                up_to_date=current == row["sha256"],
            )
            if current and current != row["sha256"]:
                try:
                    diff = await diffs.offer(
                        conn, state.blobs, target_package_id=row["id"], installed_sha256=current
                    )
                except ServiceUnavailable as exc:  # the full pack still downloads
                    log.warning("no media pack diff offered: %s", type(exc).__name__)
                    diff = None
                if diff is not None:
                    answer.diff_url = diff.url
                    answer.diff_sha256 = diff.sha256
                    answer.diff_size = diff.size
        return answer


ROUTES: list[Any] = [MediaPackController]

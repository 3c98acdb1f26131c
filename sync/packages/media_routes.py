"""Per-RM brochure media packs (API routes): the RM's newest pack of a size."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import QueryParameter

from mobile_contracts.v1 import media_packs as wire
from sync.packages import media
from workbench.errors import NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS


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
        opt={ERRORS: {404: "I have no media pack of that size yet (`media_pack.not_found`)"}},
    )
    async def latest(
        self,
        db: Db,
        caller: CurrentCaller,
        size: Annotated[wire.PackSize, QueryParameter()] = wire.PackSize.PHONE,
        current: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> wire.MediaPackLatest:
        """My newest brochure media pack (`size` phone or tablet); `current`: the version I have.

        Only my own pack: a pack is built for each RM by the worker from the brochures live for
        them, and rebuilt when that changes; other roles have none (404)."""
        row = await media.latest_pack(db, caller.user_id, size=size.value)
        if row is None:
            raise NotFound("media_pack")
        return wire.MediaPackLatest(
            app_id=row["app_id"],
            version=row["version"],
            url=download_path(row["id"]),
            sha256=row["sha256"],
            size=row["size"],
            signature=row["signature"],
            key_id=row["key_id"],
            up_to_date=current is not None and current >= row["version"],
        )


ROUTES: list[Any] = [MediaPackController]

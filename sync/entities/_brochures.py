"""Entities: brochures (schema 3), held by those who present them (`PRESENTERS`): the live
brochures of the user's path with their pages' files, read by key and in key order, and the
edges of their live windows (when one goes live or leaves)."""

from __future__ import annotations

import uuid
from datetime import datetime

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from sync import queries
from sync.entities._common import Page, Partition, Rows, _by_key, _uuids
from workbench.db import Connection

PRESENTERS = frozenset({Role.RM, Role.BRANCH_HEAD})
BROCHURE_SIZES = ("phone", "tablet", "thumb")


def _presents(part: Partition) -> bool:
    """RMs and branch heads present brochures: the catalogue is theirs."""
    return part.caller.role in PRESENTERS


def _page_files(brochure_id: uuid.UUID, number: int, size: str) -> wire.SyncPageFiles:
    path = f"/api/v1/brochures/{brochure_id}/pages/{number}/{size}"
    return wire.SyncPageFiles(webp=f"{path}.webp", jpeg=f"{path}.jpeg")


def _brochure(r: queries.Record) -> wire.SyncBrochure:
    brochure_id = r["brochure_id"]
    pages = [
        wire.SyncBrochurePage(
            number=number, image=image, width=width, height=height,
            **{size: _page_files(brochure_id, number, size) for size in BROCHURE_SIZES},
        )
        for number, (image, width, height) in enumerate(r["pages"], start=1)
    ]  # fmt: skip
    return wire.SyncBrochure(
        id=brochure_id,
        version=r["version"],
        title=r["title"],
        product_code=r["product_code"],
        product_name=r["product_name"],
        category=r["category"],
        risk_level=ProductRisk(f"R{r['risk_level']}"),
        talk_track=r["talk_track"],
        tags=list(r["tags"]),
        pages=pages,
        live_from=r["live_from"],
        live_until=r["live_until"],
        published_at=r["published_at"],
    )


def _brochures(rows: list[queries.Record]) -> Rows:
    return [(str(r["key"]), _brochure(r) if r["brochure_id"] is not None else None) for r in rows]


async def _brochures_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    """Live now: the row; a brochure of the user's reach that is not live now (or no longer
    exists): a delete; a brochure of a unit off the user's path: nothing."""
    rows = await queries.brochures(conn, part.caller.org_unit_id, part.at, ids=_uuids(keys))
    return _brochures(rows)


async def _brochures_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.brochures(
        conn, part.caller.org_unit_id, part.at, after=uuid.UUID(after[0]) if after else None,
        limit=limit,
    )  # fmt: skip
    return _by_key(_brochures(rows), limit)


async def brochure_edges(
    conn: Connection, part: Partition, *, after: tuple[datetime, uuid.UUID], limit: int
) -> list[tuple[datetime, str]]:
    """Window edges (time, brochure id) of brochures the user may see, after `after`, up to
    the pull's clock."""
    rows = await queries.brochure_edges(
        conn, part.caller.org_unit_id, after=after, until=part.at, limit=limit
    )
    return [(r["at"], str(r["brochure_id"])) for r in rows]

"""Entities: the user's notifications, read by key and in key order."""

from __future__ import annotations

import uuid

import msgspec

from mobile_contracts.v1.notifications import Notification
from sync import queries
from sync.entities._common import Page, Partition, Rows, _by_key, _uuids
from workbench.db import Connection


def _notifications(rows: list[queries.Record]) -> Rows:
    return [(str(r["id"]), msgspec.convert(dict(r), Notification)) for r in rows]


async def _notifications_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _notifications(await queries.notifications(conn, part.user_id, ids=_uuids(keys)))


async def _notifications_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = uuid.UUID(after[0]) if after else None
    rows = await queries.notifications(conn, part.user_id, after=start, limit=limit)
    return _by_key(_notifications(rows), limit)

"""Monthly partitions of `share_hits` (share_hits_YYYYMM, UTC months): made ahead, dropped past
retention. The consumer also makes sure the month of every batch exists before storing it."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime

import asyncpg

from workbench.db import Connection
from workbench.tracking import queries

AHEAD_MONTHS = 3
_NAME = re.compile(r"^share_hits_(\d{4})(\d{2})$")


def month_of(moment: datetime) -> date:
    """The first day of the UTC month of `moment`."""
    at = moment.astimezone(UTC)
    return date(at.year, at.month, 1)


def months_spanned(first: datetime, last: datetime) -> list[date]:
    """The UTC months from `first`'s to `last`'s."""
    month, end, found = month_of(first), month_of(last), []
    while month <= end:
        found.append(month)
        month = add_months(month, 1)
    return found


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"share_hits_{month:%Y%m}"


async def ensure_month(conn: Connection, month: date) -> None:
    """Create the partition of this month unless it exists (another worker may race us)."""
    # Another worker may make it at the same moment.
    with contextlib.suppress(asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
        await queries.create_partition(conn, partition_name(month), month, add_months(month, 1))


async def maintain(conn: Connection, *, retention_months: int, now: datetime) -> tuple[int, int]:
    """Create this month's and the next AHEAD_MONTHS months' partitions; drop the partitions
    whose month ended more than `retention_months` months before this one. (created, dropped)"""
    this_month = month_of(now)
    existing = set(await queries.hit_partitions(conn))
    created = 0
    for i in range(AHEAD_MONTHS + 1):
        month = add_months(this_month, i)
        if partition_name(month) not in existing:
            await ensure_month(conn, month)
            created += 1
    oldest_kept = add_months(this_month, -retention_months)
    dropped = 0
    for name in sorted(existing):
        match = _NAME.match(name)
        if match and date(int(match[1]), int(match[2]), 1) < oldest_kept:
            await queries.drop_partition(conn, name)
            dropped += 1
    return created, dropped

"""A user's notification preferences: quiet hours in their time zone and muted categories."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import time

import msgspec

from mobile_contracts.v1 import push as wire
from mobile_contracts.v1.problems import FieldError
from push import queries
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.notifications import categories


class InvalidPreferences(DomainError):
    status, code, title = 422, "push.invalid_preferences", "These preferences are not valid"


async def current(
    conn: Connection, *, caller: Caller, bank_timezone: str
) -> wire.NotificationPreferences:
    rows = await queries.preferences(conn, [caller.user_id])
    row = rows[0] if rows else None
    quiet = None
    if row is not None and row["quiet_start"] is not None:
        quiet = wire.QuietWindow(
            start=row["quiet_start"].strftime("%H:%M"), end=row["quiet_end"].strftime("%H:%M")
        )
    return wire.NotificationPreferences(
        quiet_hours=quiet,
        muted_categories=sorted(row["muted_categories"]) if row else [],
        time_zone=(row["time_zone"] if row else None) or bank_timezone,
        categories=[
            wire.NotificationCategory(name=c.name, label=c.label, mutable=c.mutable)
            for c in categories.listed_for(caller.role)
        ],
    )


async def update(
    conn: Connection,
    *,
    caller: Caller,
    change: wire.NotificationPreferencesUpdate,
    bank_timezone: str,
) -> wire.NotificationPreferences:
    """Change what was given; everything else stays. Critical categories cannot be muted."""
    errors = _problems(change)
    if errors:
        raise InvalidPreferences(errors=errors)
    rows = await queries.preferences(conn, [caller.user_id])
    row = rows[0] if rows else None
    start: time | None = row["quiet_start"] if row else None
    end: time | None = row["quiet_end"] if row else None
    time_zone: str | None = row["time_zone"] if row else None
    muted: list[str] = list(row["muted_categories"]) if row else []
    if change.quiet_hours is not msgspec.UNSET:
        window = change.quiet_hours
        start, end = (_clock(window.start), _clock(window.end)) if window else (None, None)
    if change.time_zone is not msgspec.UNSET:
        time_zone = change.time_zone
    if change.muted_categories is not msgspec.UNSET:
        muted = sorted(set(change.muted_categories))
    await queries.save_preferences(
        conn, caller.user_id, quiet_start=start, quiet_end=end, time_zone=time_zone, muted=muted
    )
    return await current(conn, caller=caller, bank_timezone=bank_timezone)


def _problems(change: wire.NotificationPreferencesUpdate) -> list[FieldError]:
    errors = []
    window = change.quiet_hours
    if isinstance(window, wire.QuietWindow) and window.start == window.end:
        errors.append(
            FieldError(path="$.quiet_hours.end", message="quiet hours must end at another time")
        )
    if isinstance(change.time_zone, str) and change.time_zone not in _time_zones():
        errors.append(FieldError(path="$.time_zone", message="not a known time zone"))
    if not isinstance(change.muted_categories, msgspec.UnsetType):
        for i, name in enumerate(change.muted_categories):
            if name not in categories.ALL:
                errors.append(
                    FieldError(path=f"$.muted_categories[{i}]", message="unknown category")
                )
            elif name not in categories.MUTABLE:
                errors.append(
                    FieldError(path=f"$.muted_categories[{i}]", message="cannot be muted")
                )
    return errors


@functools.cache
def _time_zones() -> frozenset[str]:
    """IANA zone names (not the system's `localtime`, region folders or `Factory`)."""
    return frozenset(zoneinfo.available_timezones() - {"Factory", "localtime"})


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))

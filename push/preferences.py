"""A user's notification preferences: quiet hours in their time zone and muted categories."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, time

import msgspec

from mobile_contracts.v1 import push as wire
from mobile_contracts.v1.problems import FieldError
from push import policies, queries
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
    """Change what was given; everything else stays, even when another change is made at the
    same time. Critical categories cannot be muted. Notifications already held for quiet hours
    are re-timed by the new preferences in the same transaction."""
    errors = _problems(change)
    if errors:
        raise InvalidPreferences(errors=errors)
    quiet: tuple[time, time] | queries.Keep | None = queries.KEEP
    if change.quiet_hours is not msgspec.UNSET:
        window = change.quiet_hours
        quiet = (_clock(window.start), _clock(window.end)) if window else None
    row = await queries.change_preferences(
        conn,
        caller.user_id,
        quiet=quiet,
        time_zone=queries.KEEP if change.time_zone is msgspec.UNSET else change.time_zone,
        muted=(
            queries.KEEP
            if change.muted_categories is msgspec.UNSET
            else sorted(set(change.muted_categories))
        ),
    )
    await _retime_held(conn, row, bank_timezone=bank_timezone)
    return await current(conn, caller=caller, bank_timezone=bank_timezone)


async def _retime_held(conn: Connection, row: queries.Record, *, bank_timezone: str) -> None:
    """Notifications held for quiet hours follow the preferences just saved (under the row's
    lock, so the last change to commit decides): released now if the window no longer covers
    now, moved to its end if it does; a muted one is released for the next round to skip."""
    until = None
    if row["quiet_start"] is not None:
        tz = zoneinfo.ZoneInfo(row["time_zone"] or bank_timezone)
        window = policies.QuietHours(row["quiet_start"], row["quiet_end"], tz)
        until = policies.quiet_until(datetime.now(UTC), window)
    muted = [c for c in row["muted_categories"] if c in categories.MUTABLE]
    await queries.retime_held(conn, row["user_id"], until=until, release=muted)


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

"""What happens to a due notification: dropped, deferred to the end of quiet hours, or sent to
some devices and folded for others. Pure functions of the notification, the user's preferences,
their devices and the clock, so that the rules are tested exhaustively without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workbench.notifications import categories


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window [start, end) in a time zone; overnight when start > end."""

    start: time
    end: time
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class Preferences:
    quiet: QuietHours | None = None
    muted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed notification, as far as the policies care."""

    category: str
    critical: bool
    silent: bool
    expires_at: datetime | None
    subject_open: bool | None  # None: not about a task (or the task is not known)
    device_id: str | None  # only this device (a summary)
    read: bool = False  # the user already read it in the app (or on the web)


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    sent_last_hour: int  # alerts the user got on this device in the last hour
    finished: bool = False  # an earlier attempt already settled it (sent, dead, failed, folded)


@dataclass(frozen=True, slots=True)
class Drop:
    status: str  # expired, withdrawn, skipped
    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime


@dataclass(frozen=True, slots=True)
class Deliver:
    send: tuple[str, ...] = ()
    fold: tuple[str, ...] = field(default=())
    # Every device was already settled by earlier attempts: nothing left to do.
    settled: bool = False


Decision = Drop | Defer | Deliver


def quiet_until(now: datetime, quiet: QuietHours) -> datetime | None:
    """If `now` is inside the quiet window (by the wall clock of its time zone), the first later
    instant that is outside it; otherwise None.

    The wall clock leaves the window only where it reaches `end` or where it jumps (a DST
    change). So the answer is the earliest of those instants that is outside the window: every
    reading of `end` around today (both readings in a repeated fall-back hour; the instant after
    the gap when `end` does not exist that day) and the offset change itself, if one falls within
    the next day."""
    if not inside(now, quiet):
        return None
    tz = quiet.tz
    today = now.astimezone(tz).date()
    candidates = {
        datetime.combine(today + timedelta(days=d), quiet.end, tzinfo=tz)
        .replace(fold=fold)
        .astimezone(UTC)
        for d in (-1, 0, 1, 2)
        for fold in (0, 1)
    }
    if (change := _offset_change(now, now + timedelta(hours=26), tz)) is not None:
        candidates.add(change)
    for candidate in sorted(c for c in candidates if c > now):
        if not inside(candidate, quiet):
            return candidate
    return now + timedelta(minutes=1)  # not reached: a window is shorter than a day


def inside(instant: datetime, quiet: QuietHours) -> bool:
    """Whether the wall clock of the window's time zone shows a time in [start, end)."""
    wall = instant.astimezone(quiet.tz).time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= wall < quiet.end
    return wall >= quiet.start or wall < quiet.end


def _offset_change(after: datetime, before: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant in (after, before] whose UTC offset differs from `after`'s, to the
    second; None if the offset is the same at both ends (one change at most in a day)."""
    first = after.astimezone(tz).utcoffset()
    if before.astimezone(tz).utcoffset() == first:
        return None
    low, high = after, before
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == first:
            low = middle
        else:
            high = middle
    whole = high.replace(microsecond=0)  # offsets change on a whole second
    return whole if whole.astimezone(tz).utcoffset() != first else whole + timedelta(seconds=1)


def decide(
    due: Due,
    *,
    preferences: Preferences,
    devices: list[Device],
    now: datetime,
    device_cap: int,
) -> Decision:
    """The fate of one due notification. Order matters: an expired or obsolete notification is
    dropped even in quiet hours; one the user has already read is skipped (whenever they read
    it: while it was held back, retried or waiting for its time); a muted one is skipped; quiet
    hours hold back everything but critical and silent ones; then each device gets it unless
    the user is at their hourly cap on the device (summaries, critical and silent pushes are
    never folded)."""
    if due.expires_at is not None and now >= due.expires_at:
        return Drop("expired", "expired")
    if due.subject_open is False:
        return Drop("withdrawn", "subject_closed")
    if due.read:
        return Drop("skipped", "read")
    kind = categories.get(due.category)
    if kind.mutable and due.category in preferences.muted:
        return Drop("skipped", "muted")
    if not due.critical and not due.silent and preferences.quiet is not None:
        until = quiet_until(now, preferences.quiet)
        if until is not None:
            return Defer(until)
    targets = [d for d in devices if due.device_id is None or d.device_id == due.device_id]
    if not targets:
        return Drop("skipped", "no_device")
    open_targets = [d for d in targets if not d.finished]
    if not open_targets:
        return Deliver(settled=True)
    foldable = not (due.critical or due.silent or due.category == categories.PUSH_SUMMARY)
    send = tuple(
        d.device_id for d in open_targets if not (foldable and d.sent_last_hour >= device_cap)
    )
    fold = tuple(d.device_id for d in open_targets if d.device_id not in send)
    return Deliver(send=send, fold=fold)


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before the next attempt: exponential from 5 s, at most 15 minutes, never sooner
    than the provider asked (Retry-After)."""
    backoff = min(5.0 * 2 ** max(attempt - 1, 0), 900.0)
    return float(max(backoff, retry_after or 0.0))

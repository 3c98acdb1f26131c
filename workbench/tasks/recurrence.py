"""Recurring task templates: RFC 5545 RRULEs evaluated as wall-clock times in the bank's zone.

Pure functions, no I/O. Occurrences are the rule applied to the anchor's local wall-clock time in
``tz`` (to the second), converted to UTC; a period runs from one occurrence to the next, and
COUNT=n gives n periods, counting the first (the occurrence after the nth only ends the nth
period: COUNT=1 is a single period). A nonexistent local time (spring forward) moves forward by
the gap (02:30 -> 03:30 daylight time); an ambiguous one (fall back) is its first instant
(daylight time); occurrences landing on the same or an earlier UTC instant (a zone skipping a
day) are merged.
BYMONTHDAY=31 (or an anchor on the 31st) skips shorter months as RFC 5545 says; BYMONTHDAY=-1 is
the last day of each month; Feb 29 occurs in leap years only. UNTIL is inclusive: YYYYMMDD
(through that local day), YYYYMMDDTHHMMSS (local) or ...Z (UTC); like COUNT it bounds the
periods' starts, so a period starting by UNTIL belongs to the series and the rule's next
occurrence after UNTIL only ends it (FREQ=DAILY;UNTIL=20261206: its last period is Dec 6).
A series ends at the latest 100 years (HORIZON) after its anchor, which bounds the work for
rules that never match their anchor: a period must end within it.

A dispatched series is anchored by `calendar_period`: the rule's periods lie on a calendar grid
that depends on the rule alone, never on the day it was dispatched. A rule without a day part
(no BYDAY or BYMONTHDAY) takes the day from the grid, so plain FREQ=DAILY / WEEKLY / MONTHLY /
YEARLY run midnight to midnight, Monday (or WKST) to Monday, the 1st to the 1st, Jan 1 to Jan 1;
INTERVAL counts from 2000 (INTERVAL=3 months: calendar quarters; 2 weeks: even weeks since
Monday 2000-01-03).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice, pairwise, takewhile
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from workbench.errors import DomainError

DEFAULT_TZ = "Asia/Shanghai"
HORIZON_YEARS = 100
HORIZON = timedelta(days=36525)  # HORIZON_YEARS
_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_KEYS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "COUNT", "UNTIL", "WKST")
_WEEKDAY = "MO|TU|WE|TH|FR|SA|SU"
_BYDAY = re.compile(rf"([+-]?[1-9]\d?)?({_WEEKDAY})")
_POSITIVE = re.compile(r"\+?[1-9]\d{0,3}")
_SIGNED = re.compile(r"[+-]?[1-9]\d{0,2}")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")
_RANGES = {"BYMONTHDAY": (-31, 31), "BYMONTH": (1, 12), "BYSETPOS": (-366, 366)}
_WEEKDAYS = _WEEKDAY.split("|")
_GRID_EPOCH = date(2000, 1, 3)  # a Monday: the calendar grid counts its intervals from here


_Series = tuple[rrule | rruleset, ZoneInfo, int | None, datetime | None, datetime | None]


class BadRecurrence(DomainError):
    status, code, title = 422, "template.bad_recurrence", "Invalid recurrence rule"


@dataclass(frozen=True)
class Period:  # aware UTC; a task of this period is due at ``end``
    start: datetime
    end: datetime


def _items(parts: dict[str, str], key: str) -> list[str]:
    return parts[key].split(",") if key in parts else []


def _parse_until(value: str) -> tuple[datetime, bool]:
    """UNTIL as (inclusive bound, is_utc); a date means through the end of that local day."""
    match = _UNTIL.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        moment = datetime.strptime(match[1] + (match[2] or "235959"), "%Y%m%d%H%M%S")
    except ValueError:
        raise BadRecurrence("UNTIL must look like 20261231, 20261231T090000 or ...Z") from None
    return (moment.replace(tzinfo=UTC), True) if match[3] else (moment, False)


def _check_values(freq: str, parts: dict[str, str]) -> None:
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not _POSITIVE.fullmatch(parts[key]):
            raise BadRecurrence(f"{key} must be a whole number from 1 to 9999")
    for key, (low, high) in _RANGES.items():
        for value in _items(parts, key):
            if not _SIGNED.fullmatch(value) or not low <= int(value) <= high:
                raise BadRecurrence(f"{key} values must be non-zero numbers from {low} to {high}")
    for value in _items(parts, "BYDAY"):
        match = _BYDAY.fullmatch(value)
        if match is None:
            raise BadRecurrence(f"BYDAY value {value!r} is not a weekday such as MO or -1FR")
        limit = {"MONTHLY": 5, "YEARLY": 53}.get(freq, 0)
        if match[1] and abs(int(match[1])) > limit:
            raise BadRecurrence(f"BYDAY {value!r}: numbered weekdays need MONTHLY (to 5)/YEARLY")
    if "WKST" in parts and not re.fullmatch(_WEEKDAY, parts["WKST"]):
        raise BadRecurrence("WKST must be a weekday such as MO")
    if freq == "WEEKLY" and "BYMONTHDAY" in parts:
        raise BadRecurrence("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    if "BYSETPOS" in parts:
        if freq == "DAILY" or not {"BYDAY", "BYMONTHDAY", "BYMONTH"} & parts.keys():
            raise BadRecurrence("BYSETPOS needs FREQ=WEEKLY/MONTHLY/YEARLY and another BY part")
        per_week = len(_items(parts, "BYDAY")) or 1
        if freq == "WEEKLY" and any(abs(int(v)) > per_week for v in _items(parts, "BYSETPOS")):
            raise BadRecurrence("BYSETPOS picks more days than the week has")
    if "COUNT" in parts and "UNTIL" in parts:
        raise BadRecurrence("COUNT and UNTIL cannot both be given")
    if "UNTIL" in parts:
        _parse_until(parts["UNTIL"])


def _canonical(value: str) -> str:
    if _SIGNED.fullmatch(value) or _POSITIVE.fullmatch(value):
        return str(int(value))
    match = _BYDAY.fullmatch(value)
    return f"{int(match[1]) if match[1] else ''}{match[2]}" if match else value


@lru_cache(maxsize=1024)
def parse_rule(rrule_text: str) -> str:
    """Validate an RRULE (``RRULE:`` prefix optional); return it uppercase, unprefixed."""
    text = rrule_text.strip().upper()
    if "DTSTART" in text:
        raise BadRecurrence("DTSTART is not allowed in the rule; the template's anchor starts it")
    text = text.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, _, value = (s.strip() for s in part.partition("="))
        if key not in _KEYS or not value or key in parts:
            raise BadRecurrence(f"{part!r}: unknown or repeated part; allowed: {'/'.join(_KEYS)}")
        parts[key] = ",".join(_canonical(v.strip()) for v in value.split(","))
    freq = parts.pop("FREQ", "")
    if freq in ("SECONDLY", "MINUTELY", "HOURLY"):
        raise BadRecurrence(f"FREQ={freq} is too frequent for tasks; use DAILY at the most")
    if freq not in _FREQS:
        raise BadRecurrence("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    _check_values(freq, parts)
    normalized = ";".join(f"{k}={v}" for k, v in {"FREQ": freq, **parts}.items())
    # Refuse rules matching no date (FEB 30...); 2000-2028 holds every kind of year. DAILY and
    # WEEKLY have plain-weekday filters only, so their day filter is checked as YEARLY.
    short = freq in ("DAILY", "WEEKLY")
    drop = {"INTERVAL", "COUNT", "UNTIL"} | ({"BYSETPOS", "WKST"} if short else set())
    probe = {"FREQ": "YEARLY" if short else freq, **parts}
    probe_text = ";".join(f"{k}={v}" for k, v in probe.items() if k not in drop)
    try:
        first = rrulestr(probe_text + ";UNTIL=20281231T235959", dtstart=datetime(2000, 1, 1))
        matches = first.after(datetime(2000, 1, 1), inc=True) is not None
    except (ValueError, TypeError) as exc:
        raise BadRecurrence(f"Not a valid RRULE: {exc}") from None
    if not matches:
        raise BadRecurrence("The rule never matches any date")
    return normalized


@lru_cache(maxsize=512)
def _series(rule: str, anchor: datetime, tz: str) -> _Series:
    """(the rule's occurrences from the anchor to the horizon, as local wall-clock times; the
    zone; COUNT; UNTIL as a local bound; UNTIL as a UTC bound)."""
    parts = dict(p.split("=", 1) for p in parse_rule(rule).split(";"))
    count, until = parts.pop("COUNT", None), parts.pop("UNTIL", None)
    if anchor.utcoffset() is None:
        raise ValueError("anchor must be timezone-aware")
    zone = ZoneInfo(tz)
    start = anchor.astimezone(zone).replace(tzinfo=None, microsecond=0)
    local_cut = utc_cut = None
    if until is not None:
        bound, is_utc = _parse_until(until)
        if is_utc:
            utc_cut = bound
        else:
            local_cut = bound
    # UNTIL is applied in `_occurrences`, not here: the first occurrence after it still ends
    # the last period.
    core = ";".join(f"{k}={v}" for k, v in parts.items())
    series = rrulestr(f"{core};UNTIL={start + HORIZON:%Y%m%dT%H%M%S}", dtstart=start, cache=True)
    return series, zone, int(count) if count else None, local_cut, utc_cut


def _occurrences(rule: str, anchor: datetime, tz: str) -> Iterator[datetime]:
    """The instants periods start and end at: every occurrence that starts a period (the first
    COUNT, or those by UNTIL) and the one after them, which only ends the last period."""
    series, zone, count, local_cut, utc_cut = _series(rule, anchor, tz)
    last: datetime | None = None
    for number, local in enumerate(series, 1):
        # fold=0: a gap time takes the offset before the gap (moved forward), an ambiguous one
        moment = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        closing = (
            (count is not None and number > count)
            or (local_cut is not None and local > local_cut)
            or (utc_cut is not None and moment > utc_cut)
        )
        if last is None or moment > last:
            last = moment
            yield moment
        if closing:
            return


def _periods(rule: str, anchor: datetime, tz: str) -> Iterator[Period]:
    return (Period(a, b) for a, b in pairwise(_occurrences(rule, anchor, tz)))


def period_at(rule: str, *, anchor: datetime, at: datetime, tz: str) -> Period | None:
    """The period containing ``at`` (start <= at < end), or None outside the series."""
    for period in _periods(rule, anchor, tz):
        if at < period.end:
            return period if period.start <= at else None
    return None


def next_period(rule: str, *, anchor: datetime, after: Period, tz: str) -> Period | None:
    """The period starting where ``after`` ends, or None when the series has ended."""
    return next((p for p in _periods(rule, anchor, tz) if p.start >= after.end), None)


def periods_started(
    rule: str, *, anchor: datetime, since: datetime, until: datetime, tz: str, limit: int = 100
) -> list[Period]:
    """Periods whose start is in (since, until], oldest first, at most ``limit`` of them."""
    started = takewhile(lambda p: p.start <= until, _periods(rule, anchor, tz))
    return list(islice((p for p in started if p.start > since), max(limit, 0)))


# ---- the calendar grid a dispatched series starts on ---------------------------------------------


def _grid_index(freq: str, day: date, week_start: int) -> int:
    """Which day / week / month / year since the grid's epoch `day` falls in."""
    if freq == "DAILY":
        return (day - _GRID_EPOCH).days
    if freq == "WEEKLY":
        return (day - _GRID_EPOCH - timedelta(days=week_start)).days // 7
    if freq == "MONTHLY":
        return (day.year - _GRID_EPOCH.year) * 12 + day.month - 1
    return day.year - _GRID_EPOCH.year


def _grid_day(freq: str, index: int, week_start: int) -> date:
    """The first day of the grid's `index`th day / week (from WKST) / month / year."""
    if freq == "DAILY":
        return _GRID_EPOCH + timedelta(days=index)
    if freq == "WEEKLY":
        return _GRID_EPOCH + timedelta(days=week_start + 7 * index)
    if freq == "MONTHLY":
        return date(_GRID_EPOCH.year + index // 12, index % 12 + 1, 1)
    return date(_GRID_EPOCH.year + index, 1, 1)


def calendar_period(rule: str, *, at: datetime, tz: str) -> Period | None:
    """The period of the rule's calendar grid containing ``at``, else the first one to come;
    None when the rule has no period left (UNTIL passed). Anchor a series at its ``start``.

    The grid does not depend on ``at``: the rule is applied from local midnight at the start of
    an INTERVAL-aligned day, week (from WKST, Monday by default), month or year, so a day, weekday
    or month the rule does not give is the first of its frequency (RFC 5545 takes them from
    DTSTART: a series started on the 31st would skip every shorter month). The grid is probed
    from ever earlier starts until the period containing ``at`` is found (a rule such as Feb 29
    yearly has periods of years). COUNT is left out here: it counts from the series' anchor.
    """
    parts = dict(p.split("=", 1) for p in parse_rule(rule).split(";"))
    parts.pop("COUNT", None)
    grid = ";".join(f"{k}={v}" for k, v in parts.items())
    freq, step = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    week_start = _WEEKDAYS.index(parts.get("WKST", "MO"))
    zone = ZoneInfo(tz)

    def start_of(index: int) -> datetime:
        return datetime.combine(_grid_day(freq, index, week_start), time(), tzinfo=zone)

    aligned = _grid_index(freq, at.astimezone(zone).date(), week_start) // step * step
    lowest, back = min(aligned, 0), 0
    while True:
        index = max(aligned - back * step, lowest)
        current = period_at(grid, anchor=start_of(index), at=at, tz=tz)
        if current is not None:
            return current
        if index == lowest:
            break
        back = back * 2 or 1
    upcoming = periods_started(
        grid, anchor=start_of(aligned), since=at, until=at + HORIZON, tz=tz, limit=1
    )
    return upcoming[0] if upcoming else None


def why_no_period(rule: str, *, at: datetime, tz: str) -> str:
    """Why `calendar_period` finds no period of the rule at or after ``at``, in words for
    whoever wrote it: its UNTIL has passed, or its periods are too long to end within the
    horizon of a series (an INTERVAL of 9999 weeks, 101 years)."""
    parts = dict(p.split("=", 1) for p in parse_rule(rule).split(";"))
    until = parts.pop("UNTIL", None)
    unbounded = ";".join(f"{k}={v}" for k, v in parts.items())
    if until is not None and calendar_period(unbounded, at=at, tz=tz) is not None:
        return f"its UNTIL ({until}) has passed, so a dispatch would make none"
    return (
        f"its period after this one would start beyond the {HORIZON_YEARS}-year horizon of a "
        "series, so none can end: use a smaller INTERVAL"
    )

"""When a work order is due: N calendar hours, or N business hours of the bank's calendar.

Business hours are 09:00-12:00 and 13:00-18:00 bank time on working days. Working days follow
the Chinese calendar of the State Council (the `chinese-calendar` package): public holidays are
off, make-up working days (调休, often a Saturday or Sunday) are on. For a year the package does
not know yet, Monday to Friday are working days (logged once per year and process: update the
package when the State Council publishes the next year's arrangement).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("workbench.workorders.sla")

BANK_TZ = "Asia/Shanghai"  # the bank's calendar and business hours are kept in its own time
BANK_ZONE = ZoneInfo(BANK_TZ)
BUSINESS_WINDOWS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
_years_without_data: set[int] = set()  # only to log once; nothing another process needs


def is_working_day(day: date) -> bool:
    """A working day of the bank: per the Chinese calendar, or Mon-Fri for unknown years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _years_without_data:
            _years_without_data.add(day.year)
            log.warning(
                "no Chinese holiday data for this year: Monday to Friday count as working days",
                extra={"year": day.year},
            )
        return day.weekday() < 5


def due_at(start: datetime, *, hours: int, kind: str, tz: str = BANK_TZ) -> datetime:
    """The due time (UTC) of a work order made at `start` with an SLA of `hours` of `kind`
    ('hours': calendar hours; 'business_hours': the bank's working hours)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if kind == "hours":
        return (start + timedelta(hours=hours)).astimezone(UTC)
    if kind != "business_hours":
        raise ValueError(f"unknown SLA kind {kind!r}")
    return add_business_time(start, timedelta(hours=hours), tz=tz)


def add_business_time(start: datetime, amount: timedelta, *, tz: str = BANK_TZ) -> datetime:
    """`start` plus `amount` of business time (UTC): time outside business hours does not count;
    a start outside them counts from the next business window's opening."""
    zone = ZoneInfo(tz)
    cursor = start.astimezone(zone)
    remaining = amount
    day = cursor.date()
    while True:
        if is_working_day(day):
            for opens, closes in BUSINESS_WINDOWS:
                window_start = datetime.combine(day, opens, tzinfo=zone)
                window_end = datetime.combine(day, closes, tzinfo=zone)
                begin = max(window_start, cursor)
                if begin >= window_end:
                    continue
                available = window_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
                cursor = window_end
        day += timedelta(days=1)

"""When a work order is due: N calendar hours, or N business hours of the bank's calendar.

Business hours are 09:00-12:00 and 13:00-18:00 bank time on working days. Working days are the
bank's calendar (`WorkCalendar`): first the dates the bank enters (WORKBENCH_HOLIDAYS closed,
WORKBENCH_MAKEUP_WORKDAYS open, any year), then the Chinese calendar of the State Council (the
`chinese-calendar` package: public holidays off, make-up working days, 调休, on). For a year the
package does not know yet, Monday to Friday less the statutory holidays fixed by date (1 January,
1-2 May, 1-3 October): the lunar ones (Spring Festival, Dragon Boat, Mid-Autumn), Qingming and
the make-up days are known only once the State Council publishes the year's arrangement, and the
bank enters them until the package has them. The worker warns at start while the current or the
next year is such a year with no holiday entered (`warn_unknown_years`).

The functions take the calendar as an argument; each process builds its calendar from the
settings once at start (`use_calendar`), and callers pass `bank_calendar()`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("workbench.workorders.sla")

BANK_TZ = "Asia/Shanghai"  # the bank's calendar and business hours are kept in its own time
BANK_ZONE = ZoneInfo(BANK_TZ)
BUSINESS_WINDOWS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
# (month, day) of the statutory holidays fixed by date (全国年节及纪念日放假办法, as of 2025):
# New Year's Day, Labour Day (two days since 2025), National Day.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


def package_knows(year: int) -> bool:
    """Whether the `chinese-calendar` package has the State Council's arrangement of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """The bank's working days: its own entries over the package's Chinese calendar."""

    holidays: frozenset[date] = frozenset()  # closed, whatever the package says
    makeup_workdays: frozenset[date] = frozenset()  # open, whatever the package says

    def is_working_day(self, day: date) -> bool:
        """A working day of the bank: its entries, else the Chinese calendar, else (a year the
        package does not know) Monday to Friday less the holidays fixed by date."""
        if day in self.holidays:
            return False
        if day in self.makeup_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS

    def unknown_years(self, years: Iterable[int]) -> list[int]:
        """Those of `years` counted Mon-Fri only: the package does not know them and the bank
        has entered no holiday in them beyond those fixed by date (entering 1 January alone
        says nothing of the Spring Festival)."""
        entered = {
            day.year for day in self.holidays if (day.month, day.day) not in FIXED_DATE_HOLIDAYS
        }
        return [y for y in years if y not in entered and not package_knows(y)]


PACKAGE_CALENDAR = WorkCalendar()  # the package's calendar, with no entry of the bank's
_process_calendar = PACKAGE_CALENDAR


def use_calendar(calendar: WorkCalendar) -> None:
    """Make `calendar` (built from the settings at start) this process's calendar."""
    global _process_calendar
    _process_calendar = calendar


def bank_calendar() -> WorkCalendar:
    """This process's calendar (`use_calendar`; the package's alone until then)."""
    return _process_calendar


def warn_unknown_years(calendar: WorkCalendar, *, today: date) -> list[int]:
    """Log one warning when the year of `today` (bank time) or the next is counted Mon-Fri
    only; those years."""
    years = calendar.unknown_years((today.year, today.year + 1))
    if years:
        named = " and ".join(str(y) for y in years)
        log.warning(
            f"work-order SLAs for {named} count Mon-Fri only: set WORKBENCH_HOLIDAYS (and"
            " WORKBENCH_MAKEUP_WORKDAYS) to the State Council's holiday arrangement, or update"
            " the chinese-calendar package",
            extra={"years": years},
        )
    return years


def due_at(
    start: datetime, *, hours: int, kind: str, calendar: WorkCalendar, tz: str = BANK_TZ
) -> datetime:
    """The due time (UTC) of a work order made at `start` with an SLA of `hours` of `kind`
    ('hours': calendar hours; 'business_hours': the working hours of `calendar`)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if kind == "hours":
        return (start + timedelta(hours=hours)).astimezone(UTC)
    if kind != "business_hours":
        raise ValueError(f"unknown SLA kind {kind!r}")
    return add_business_time(start, timedelta(hours=hours), calendar=calendar, tz=tz)


def add_business_time(
    start: datetime, amount: timedelta, *, calendar: WorkCalendar, tz: str = BANK_TZ
) -> datetime:
    """`start` plus `amount` of business time (UTC): time outside business hours does not count;
    a start outside them counts from the next business window's opening."""
    zone = ZoneInfo(tz)
    cursor = start.astimezone(zone)
    remaining = amount
    day = cursor.date()
    while True:
        if calendar.is_working_day(day):
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

"""Due times in business hours of the bank's calendar (Asia/Shanghai, Chinese holidays)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from workbench.workorders import sla

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def due(start: datetime, hours: int, kind: str = "business_hours") -> datetime:
    at = sla.due_at(start, hours=hours, kind=kind, calendar=sla.PACKAGE_CALENDAR)
    return at.astimezone(SHANGHAI)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Friday 16:00 + 4: two hours on Friday, two on Monday morning.
        (local(2026, 6, 5, 16), 4, local(2026, 6, 8, 11)),
        # The lunch break does not count.
        (local(2026, 6, 8, 11), 2, local(2026, 6, 8, 14)),
        # Before opening and at the weekend: counted from the next opening.
        (local(2026, 6, 8, 7, 30), 1, local(2026, 6, 8, 10)),
        (local(2026, 6, 6, 10), 1, local(2026, 6, 8, 10)),
        # An evening start; a whole day of 8 hours ends at the next day's closing.
        (local(2026, 6, 8, 20), 8, local(2026, 6, 9, 18)),
        # National Day 2025 (1-8 October off): from 30 September to Thursday the 9th.
        (local(2025, 9, 30, 17), 2, local(2025, 10, 9, 10)),
        # Saturday 11 October 2025 is a make-up working day.
        (local(2025, 10, 10, 17), 2, local(2025, 10, 11, 10)),
        # Sunday 28 September 2025 too (National Day's other make-up day).
        (local(2025, 9, 27, 17), 2, local(2025, 9, 28, 11)),
    ],
)
def test_business_hours(start: datetime, hours: int, expected: datetime) -> None:
    assert due(start, hours) == expected


def test_calendar_hours_ignore_the_calendar() -> None:
    assert due(local(2025, 9, 30, 17), 24, "hours") == local(2025, 10, 1, 17)
    at = sla.due_at(local(2025, 9, 30, 17), hours=1, kind="hours", calendar=sla.PACKAGE_CALENDAR)
    assert at.tzinfo is UTC


def test_a_year_without_holiday_data_counts_monday_to_friday() -> None:
    assert due(local(2041, 5, 3, 17), 2) == local(2041, 5, 6, 10)  # Fri -> Mon
    assert due(local(2041, 5, 10, 17), 2) == local(2041, 5, 13, 10)

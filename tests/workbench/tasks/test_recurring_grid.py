"""The calendar grid a dispatched series runs on (`recurrence.calendar_period`): a rule without
a day part has one period per calendar day, week (from WKST, Monday by default), month or year in
the bank's time zone, INTERVAL counts them from 2000, and which moment of a period a series is
dispatched in never changes its periods. (The same through the API: test_recurring_schedule.)"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.tasks.recurrence import Period, calendar_period


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_every_day_falls_in_its_calendar_day_week_month_and_year(tz: str) -> None:
    zone = ZoneInfo(tz)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone)

    day = date(2026, 12, 1)
    while day < date(2029, 1, 1):
        monday = day - timedelta(days=day.weekday())
        month = day.replace(day=1)
        expected = {
            "FREQ=DAILY": (day, day + timedelta(days=1)),
            "FREQ=WEEKLY": (monday, monday + timedelta(days=7)),
            "FREQ=MONTHLY": (month, _first_of_next_month(month)),
            "FREQ=YEARLY": (date(day.year, 1, 1), date(day.year + 1, 1, 1)),
        }
        for hour in (0, 23):
            moment = datetime.combine(day, time(hour, 59), tzinfo=zone)
            for rule, (start, end) in expected.items():
                got = calendar_period(rule, at=moment, tz=tz)
                assert got == Period(midnight(start), midnight(end)), (rule, moment)
        day += timedelta(days=1)


PLAIN_RULES = st.builds(
    lambda freq, interval, wkst: f"FREQ={freq};INTERVAL={interval}{wkst}",
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    st.integers(1, 4),
    st.sampled_from(["", ";WKST=MO", ";WKST=SU", ";WKST=WE"]),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rule=PLAIN_RULES,
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/Berlin"]),
    moment=st.datetimes(datetime(2026, 1, 1), datetime(2030, 12, 31)),
    fraction=st.floats(0, 0.999),  # (a timedelta times 0.99999... rounds up to its end)
)
def test_a_moment_of_a_period_dispatches_into_that_same_period(
    rule: str, tz: str, moment: datetime, fraction: float
) -> None:
    """Whichever moment of a period a series is dispatched in, it gets the same period: the
    grid is the rule's, not the dispatch day's; and the next period starts where it ends."""
    zone = ZoneInfo(tz)
    at_ = moment.replace(tzinfo=zone)
    period = calendar_period(rule, at=at_, tz=tz)
    assert period is not None
    assert period.start <= at_ < period.end
    assert period.start.astimezone(zone).time() == time()
    other = period.start + (period.end - period.start) * fraction
    assert calendar_period(rule, at=other, tz=tz) == period
    following = calendar_period(rule, at=period.end, tz=tz)
    assert following is not None
    assert following.start == period.end


@pytest.mark.parametrize(
    ("rule", "when", "start", "end"),
    [
        ("FREQ=MONTHLY;INTERVAL=3", (2026, 12, 5, 7), (2026, 10, 1), (2027, 1, 1)),  # a quarter
        ("FREQ=MONTHLY;INTERVAL=6", (2026, 12, 5, 7), (2026, 7, 1), (2027, 1, 1)),  # a half-year
        ("FREQ=WEEKLY;INTERVAL=2", (2026, 12, 5, 7), (2026, 11, 30), (2026, 12, 14)),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", (2026, 12, 5, 7), (2024, 2, 29), (2028, 2, 29)),
        ("FREQ=MONTHLY;BYMONTH=3,9", (2026, 12, 5, 7), (2026, 9, 1), (2027, 3, 1)),
        ("FREQ=MONTHLY;COUNT=2", (2026, 12, 5, 7), (2026, 12, 1), (2027, 1, 1)),
    ],
)
def test_grid_periods(
    rule: str, when: tuple[int, ...], start: tuple[int, ...], end: tuple[int, ...]
) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    got = calendar_period(rule, at=datetime(*when, tzinfo=zone), tz="Asia/Shanghai")
    assert got == Period(datetime(*start, tzinfo=zone), datetime(*end, tzinfo=zone))


def test_a_rule_past_its_until_has_no_period() -> None:
    at = datetime(2026, 12, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert calendar_period("FREQ=DAILY;UNTIL=20200101", at=at, tz="Asia/Shanghai") is None

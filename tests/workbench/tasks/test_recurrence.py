"""Recurring task templates: periods of an RRULE as wall-clock times in the bank's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.tasks.recurrence import (
    BadRecurrence,
    Period,
    next_period,
    parse_rule,
    period_at,
    periods_started,
)

SHANGHAI, NEW_YORK, BERLIN = "Asia/Shanghai", "America/New_York", "Europe/Berlin"


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(
    rule: str, anchor: datetime, since: datetime, until: datetime, tz: str
) -> list[datetime]:
    periods = periods_started(rule, anchor=anchor, since=since, until=until, tz=tz, limit=1000)
    return [p.start for p in periods]


def all_periods(rule: str, anchor: datetime, tz: str) -> list[Period]:
    return periods_started(
        rule, anchor=anchor, since=anchor - timedelta(days=1), until=utc(2100, 1, 1), tz=tz
    )


# --- the rule text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("RRULE:freq=weekly;byday=mo,fr", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("  rrule:INTERVAL=2;FREQ=MONTHLY;BYMONTHDAY=-1 ", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=-1"),
        ("FREQ=MONTHLY;BYDAY=+1MO,-1FR;BYSETPOS=1", "FREQ=MONTHLY;BYDAY=1MO,-1FR;BYSETPOS=1"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
        ("FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=5"),
        ("FREQ=DAILY;UNTIL=20261231T010000Z", "FREQ=DAILY;UNTIL=20261231T010000Z"),
    ],
)
def test_valid_rules_are_normalized(text: str, normalized: str) -> None:
    assert parse_rule(text) == normalized
    assert parse_rule(normalized) == normalized


@pytest.mark.parametrize(
    ("text", "detail_mentions"),
    [
        ("FREQ=HOURLY", "too frequent"),
        ("FREQ=MINUTELY;INTERVAL=30", "too frequent"),
        ("FREQ=SECONDLY", "too frequent"),
        ("every monday please", "unknown"),
        ("", "FREQ must be"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("BYDAY=MO", "FREQ must be"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "DTSTART"),
        ("FREQ=DAILY;DTSTART=20260101T090000", "DTSTART"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;UNTIL=20261301", "UNTIL"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "COUNT and UNTIL"),
        ("FREQ=DAILY;FREQ=WEEKLY", "repeated"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never matches"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "never matches"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_detail(text: str, detail_mentions: str) -> None:
    with pytest.raises(BadRecurrence) as caught:
        parse_rule(text)
    assert caught.value.status == 422
    assert caught.value.code == "template.bad_recurrence"
    assert detail_mentions in (caught.value.detail or "")


def test_period_functions_refuse_an_invalid_rule() -> None:
    anchor = local(SHANGHAI, 2026, 1, 5, 9)
    with pytest.raises(BadRecurrence):
        period_at("FREQ=HOURLY", anchor=anchor, at=anchor, tz=SHANGHAI)


def test_a_naive_anchor_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_at("FREQ=DAILY", anchor=datetime(2026, 1, 5, 9), at=utc(2026, 2, 1), tz=SHANGHAI)


# --- calendar edges ------------------------------------------------------------------------------


def test_weekly_monday_0900_shanghai_across_the_year_end() -> None:
    rule, anchor = "FREQ=WEEKLY;BYDAY=MO", local(SHANGHAI, 2025, 12, 1, 9)
    period = period_at(rule, anchor=anchor, at=local(SHANGHAI, 2025, 12, 31, 18), tz=SHANGHAI)
    # Monday 09:00 in Shanghai is Monday 01:00 UTC.
    assert period == Period(utc(2025, 12, 29, 1), utc(2026, 1, 5, 1))
    assert period.start.astimezone(ZoneInfo(SHANGHAI)) == local(SHANGHAI, 2025, 12, 29, 9)
    assert next_period(rule, anchor=anchor, after=period, tz=SHANGHAI) == Period(
        utc(2026, 1, 5, 1), utc(2026, 1, 12, 1)
    )
    # The boundary belongs to the period it starts.
    at_boundary = period_at(rule, anchor=anchor, at=utc(2026, 1, 5, 1), tz=SHANGHAI)
    assert at_boundary is not None
    assert at_boundary.start == utc(2026, 1, 5, 1)
    assert period_at(rule, anchor=anchor, at=utc(2026, 1, 5, 0, 59), tz=SHANGHAI) == period


def test_before_the_first_occurrence_there_is_no_period() -> None:
    rule, anchor = "FREQ=WEEKLY;BYDAY=MO", local(SHANGHAI, 2025, 12, 3, 9)  # a Wednesday
    assert period_at(rule, anchor=anchor, at=local(SHANGHAI, 2025, 12, 5, 9), tz=SHANGHAI) is None
    first = period_at(rule, anchor=anchor, at=local(SHANGHAI, 2025, 12, 8, 9), tz=SHANGHAI)
    assert first == Period(utc(2025, 12, 8, 1), utc(2025, 12, 15, 1))


@pytest.mark.parametrize(("year", "feb_last"), [(2028, 29), (2027, 28)])
def test_monthly_on_the_31st_skips_february_and_minus_one_is_the_last_day(
    year: int, feb_last: int
) -> None:
    anchor = local(SHANGHAI, year, 1, 1, 9)
    mid_feb = local(SHANGHAI, year, 2, 15, 12)
    on_31st = period_at("FREQ=MONTHLY;BYMONTHDAY=31", anchor=anchor, at=mid_feb, tz=SHANGHAI)
    assert on_31st == Period(local(SHANGHAI, year, 1, 31, 9), local(SHANGHAI, year, 3, 31, 9))

    rule = "FREQ=MONTHLY;BYMONTHDAY=-1"
    last_day = period_at(rule, anchor=anchor, at=mid_feb, tz=SHANGHAI)
    assert last_day == Period(
        local(SHANGHAI, year, 1, 31, 9), local(SHANGHAI, year, 2, feb_last, 9)
    )
    following = next_period(rule, anchor=anchor, after=last_day, tz=SHANGHAI)
    assert following == Period(
        local(SHANGHAI, year, 2, feb_last, 9), local(SHANGHAI, year, 3, 31, 9)
    )
    ends = [
        p.end.astimezone(ZoneInfo(SHANGHAI)).day
        for p in periods_started(
            rule, anchor=anchor, since=anchor, until=local(SHANGHAI, year, 12, 1), tz=SHANGHAI
        )
    ]
    assert ends == [feb_last, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_monthly_series_anchored_on_the_31st_skips_shorter_months() -> None:
    anchor = local(SHANGHAI, 2026, 1, 31, 9)
    periods = all_periods("FREQ=MONTHLY;COUNT=3", anchor, SHANGHAI)
    assert [p.start.astimezone(ZoneInfo(SHANGHAI)).month for p in periods] == [1, 3, 5]


def test_yearly_on_feb_29_occurs_in_leap_years_only() -> None:
    for rule, anchor in [
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", local(SHANGHAI, 2024, 1, 10, 9)),
        ("FREQ=YEARLY", local(SHANGHAI, 2024, 2, 29, 9)),
    ]:
        period = period_at(rule, anchor=anchor, at=local(SHANGHAI, 2026, 6, 1), tz=SHANGHAI)
        assert period == Period(local(SHANGHAI, 2024, 2, 29, 9), local(SHANGHAI, 2028, 2, 29, 9))
        after = next_period(rule, anchor=anchor, after=period, tz=SHANGHAI)
        assert after == Period(local(SHANGHAI, 2028, 2, 29, 9), local(SHANGHAI, 2032, 2, 29, 9))


def test_daily_0700_shanghai_across_the_month_end_is_2300_utc_the_day_before() -> None:
    rule, anchor = "FREQ=DAILY", local(SHANGHAI, 2025, 11, 1, 7)
    period = period_at(rule, anchor=anchor, at=local(SHANGHAI, 2025, 11, 30, 20), tz=SHANGHAI)
    # Nov 30 07:00 local -> Nov 29 23:00 UTC; Dec 1 07:00 local -> Nov 30 23:00 UTC.
    assert period == Period(utc(2025, 11, 29, 23), utc(2025, 11, 30, 23))
    following = next_period(rule, anchor=anchor, after=period, tz=SHANGHAI)
    assert following == Period(utc(2025, 11, 30, 23), utc(2025, 12, 1, 23))
    assert following.start.astimezone(ZoneInfo(SHANGHAI)).date().isoformat() == "2025-12-01"
    # Dec 1 06:30 local (Nov 30 22:30 UTC) still belongs to the local day Nov 30.
    assert period_at(rule, anchor=anchor, at=utc(2025, 11, 30, 22, 30), tz=SHANGHAI) == period


# --- daylight saving time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "first_day", "last_day", "utc_hours"),
    [
        # New York springs forward on Sun 2026-03-08 and falls back on Sun 2026-11-01.
        (NEW_YORK, (2026, 3, 5), (2026, 3, 10), [14, 14, 13, 13, 13]),
        (NEW_YORK, (2026, 10, 29), (2026, 11, 3), [13, 13, 14, 14, 14]),
        # Berlin: Sun 2026-03-29 and Sun 2026-10-25.
        (BERLIN, (2026, 3, 26), (2026, 3, 31), [8, 8, 7, 7, 7]),
        (BERLIN, (2026, 10, 22), (2026, 10, 27), [7, 7, 8, 8, 8]),
    ],
)
def test_daily_0900_keeps_the_wall_clock_across_dst_without_gaps_or_duplicates(
    tz: str, first_day: tuple[int, int, int], last_day: tuple[int, int, int], utc_hours: list[int]
) -> None:
    rule, anchor = "FREQ=DAILY", local(tz, 2026, 1, 1, 9)
    since, until = local(tz, *first_day, 9), local(tz, *last_day, 9)
    periods = periods_started(rule, anchor=anchor, since=since, until=until, tz=tz)
    zone = ZoneInfo(tz)
    assert [p.start.hour for p in periods] == utc_hours
    assert all(p.start.astimezone(zone).hour == 9 for p in periods)
    local_days = [p.start.astimezone(zone).day for p in periods]
    assert len(set(local_days)) == len(local_days) == 5
    assert all(a.end == b.start for a, b in pairwise(periods))
    # One day of the window is 23 or 25 hours long, the others 24.
    lengths = sorted((p.end - p.start) / timedelta(hours=1) for p in periods)
    assert lengths in ([23, 24, 24, 24, 24], [24, 24, 24, 24, 25])


def test_a_nonexistent_local_time_is_moved_forward_by_the_gap() -> None:
    rule, anchor = "FREQ=DAILY", local(NEW_YORK, 2026, 3, 1, 2, 30)
    got = starts(rule, anchor, local(NEW_YORK, 2026, 3, 7), local(NEW_YORK, 2026, 3, 10), NEW_YORK)
    # 02:30 on 2026-03-08 does not exist in New York: it becomes 03:30 EDT (07:30 UTC).
    assert got == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]
    assert got[1].astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M %Z") == "03:30 EDT"


def test_an_ambiguous_local_time_is_its_first_instant() -> None:
    rule, anchor = "FREQ=DAILY", local(NEW_YORK, 2026, 10, 1, 1, 30)
    got = starts(
        rule, anchor, local(NEW_YORK, 2026, 10, 31), local(NEW_YORK, 2026, 11, 3), NEW_YORK
    )
    # 01:30 on 2026-11-01 happens twice in New York; the series uses the first (EDT, 05:30 UTC).
    assert got == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    second_0130 = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    period = period_at(rule, anchor=anchor, at=second_0130, tz=NEW_YORK)
    assert period == Period(utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30))


def test_a_skipped_local_day_gives_no_duplicate_or_empty_period() -> None:
    # Samoa moved across the date line: 2011-12-30 did not exist in Pacific/Apia.
    tz = "Pacific/Apia"
    periods = all_periods("FREQ=DAILY;COUNT=5", local(tz, 2011, 12, 27, 9), tz)
    local_days = [p.start.astimezone(ZoneInfo(tz)).day for p in periods]
    assert local_days == [27, 28, 29, 31]
    assert all(p.end > p.start for p in periods)
    assert all(a.end == b.start for a, b in pairwise(periods))


# --- end of a series -----------------------------------------------------------------------------


def test_count_ends_the_series() -> None:
    rule, anchor = "FREQ=DAILY;COUNT=3", local(SHANGHAI, 2026, 1, 1, 9)
    # COUNT=3 is three periods, counting the first; the fourth occurrence only ends the third.
    periods = all_periods(rule, anchor, SHANGHAI)
    assert periods == [
        Period(local(SHANGHAI, 2026, 1, 1, 9), local(SHANGHAI, 2026, 1, 2, 9)),
        Period(local(SHANGHAI, 2026, 1, 2, 9), local(SHANGHAI, 2026, 1, 3, 9)),
        Period(local(SHANGHAI, 2026, 1, 3, 9), local(SHANGHAI, 2026, 1, 4, 9)),
    ]
    assert next_period(rule, anchor=anchor, after=periods[0], tz=SHANGHAI) == periods[1]
    assert next_period(rule, anchor=anchor, after=periods[2], tz=SHANGHAI) is None
    assert period_at(rule, anchor=anchor, at=local(SHANGHAI, 2026, 1, 4, 9), tz=SHANGHAI) is None
    assert period_at(rule, anchor=anchor, at=local(SHANGHAI, 2027, 1, 1), tz=SHANGHAI) is None


@pytest.mark.parametrize(
    ("until", "last_start"),
    [
        # The period starting on or before UNTIL is the last; the next Monday only ends it.
        ("20260112", (2026, 1, 12)),  # through the local day of Monday Jan 12
        ("20260112T090000", (2026, 1, 12)),  # local wall clock, inclusive
        ("20260112T010000Z", (2026, 1, 12)),  # UTC, inclusive: Jan 12 09:00 local
        ("20260112T005959Z", (2026, 1, 5)),  # a second before: Jan 12 starts no period
        ("20260111", (2026, 1, 5)),
    ],
)
def test_until_ends_the_series(until: str, last_start: tuple[int, int, int]) -> None:
    rule, anchor = f"FREQ=WEEKLY;BYDAY=MO;UNTIL={until}", local(SHANGHAI, 2025, 12, 1, 9)
    periods = all_periods(rule, anchor, SHANGHAI)
    assert periods[-1].start == local(SHANGHAI, *last_start, 9)
    assert next_period(rule, anchor=anchor, after=periods[-1], tz=SHANGHAI) is None
    after_end = periods[-1].end + timedelta(hours=1)
    assert period_at(rule, anchor=anchor, at=after_end, tz=SHANGHAI) is None


def test_a_rule_that_never_matches_its_anchor_has_no_periods() -> None:
    # Valid in general (Feb 1..28), but a series anchored on the 30th never has a Feb 30th.
    rule, anchor = "FREQ=MONTHLY;BYMONTH=2", local(SHANGHAI, 2026, 1, 30, 9)
    assert period_at(rule, anchor=anchor, at=local(SHANGHAI, 2027, 3, 1), tz=SHANGHAI) is None
    assert all_periods(rule, anchor, SHANGHAI) == []


# --- what a scheduler run creates ----------------------------------------------------------------


def test_periods_started_returns_exactly_the_periods_started_in_the_window() -> None:
    rule, anchor = "FREQ=WEEKLY;BYDAY=MO,TH", local(SHANGHAI, 2026, 1, 1, 9)
    since, until = local(SHANGHAI, 2026, 1, 5, 9), local(SHANGHAI, 2026, 1, 15, 9)
    got = starts(rule, anchor, since, until, SHANGHAI)
    # (since, until]: the Monday at `since` was created by the previous run; Thu 15th is included.
    assert got == [local(SHANGHAI, 2026, 1, d, 9) for d in (8, 12, 15)]
    limited = periods_started(rule, anchor=anchor, since=since, until=until, tz=SHANGHAI, limit=2)
    assert [p.start for p in limited] == got[:2]
    assert periods_started(rule, anchor=anchor, since=until, until=since, tz=SHANGHAI) == []


def test_scheduler_runs_over_overlapping_windows_create_each_period_once() -> None:
    rule, anchor = "FREQ=DAILY;INTERVAL=2", local(NEW_YORK, 2026, 2, 1, 9)
    whole = periods_started(
        rule, anchor=anchor, since=utc(2026, 2, 20), until=utc(2026, 4, 1), tz=NEW_YORK
    )
    windows = [(utc(2026, 2, 20), utc(2026, 3, 5)), (utc(2026, 3, 1), utc(2026, 3, 9, 13))]
    windows += [(utc(2026, 3, 9), utc(2026, 3, 20)), (utc(2026, 3, 20), utc(2026, 4, 1))]
    windows += [(utc(2026, 2, 25), utc(2026, 3, 25))]
    created: dict[datetime, Period] = {}
    for since, until in windows:
        for period in periods_started(rule, anchor=anchor, since=since, until=until, tz=NEW_YORK):
            # A period seen again is the same period (same end), so de-duplicating by start is safe.
            assert created.setdefault(period.start, period) == period
    assert sorted(created.values(), key=lambda p: p.start) == whole
    assert len(whole) == 20
    assert (
        periods_started(
            rule, anchor=anchor, since=utc(2026, 2, 20), until=utc(2026, 4, 1), tz=NEW_YORK
        )
        == whole
    )


# --- properties ----------------------------------------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
weekly_rules = st.builds(
    lambda days, interval: f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={','.join(days)}",
    st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
    st.integers(1, 3),
)
monthly_rules = st.builds(
    lambda by, interval: f"FREQ=MONTHLY;INTERVAL={interval};{by}",
    st.one_of(
        st.integers(1, 31).map(lambda d: f"BYMONTHDAY={d}"),
        st.integers(-3, -1).map(lambda d: f"BYMONTHDAY={d}"),
        st.builds(
            lambda n, d: f"BYDAY={n}{d}", st.sampled_from([1, 2, -1]), st.sampled_from(WEEKDAYS)
        ),
    ),
    st.integers(1, 3),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rule=st.one_of(weekly_rules, monthly_rules),
    tz=st.sampled_from([SHANGHAI, NEW_YORK, BERLIN]),
    anchor_day=st.datetimes(datetime(2024, 1, 1), datetime(2026, 12, 31)),
    hour=st.integers(4, 23),  # away from the 01:00-03:00 DST transitions: the wall clock exists
    offset=st.timedeltas(timedelta(0), timedelta(days=3 * 365)),
)
def test_the_period_at_an_instant_contains_it_and_is_followed_seamlessly(
    rule: str, tz: str, anchor_day: datetime, hour: int, offset: timedelta
) -> None:
    zone = ZoneInfo(tz)
    anchor = anchor_day.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=zone)
    at = (anchor + offset).astimezone(UTC)
    period = period_at(rule, anchor=anchor, at=at, tz=tz)
    since = anchor - timedelta(days=1)
    started = periods_started(rule, anchor=anchor, since=since, until=at, tz=tz, limit=5000)
    if period is None:  # only before the first occurrence (these series never end)
        assert started == []
        return
    assert period.start <= at < period.end
    assert started[-1] == period
    for moment in (period.start, period.end):
        assert moment.tzinfo is not None
        assert moment.utcoffset() == timedelta(0)
        assert moment.astimezone(zone).time() == anchor.time()
    following = next_period(rule, anchor=anchor, after=period, tz=tz)
    assert following is not None
    assert following.start == period.end
    assert following.end > following.start

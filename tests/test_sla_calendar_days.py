"""The bank's calendar of work-order SLAs: its own holidays and make-up working days
(WORKBENCH_HOLIDAYS, WORKBENCH_MAKEUP_WORKDAYS) over the chinese-calendar package, the holidays
fixed by date for a year the package does not know, and the warning while a year is unknown."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from workbench.settings import Settings, SettingsError
from workbench.workorders import sla

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = base64.b64encode(bytes(range(32))).decode()
MINIMAL = {
    "DATABASE_URL": "postgresql://wb:pw@db.internal:5432/workbench",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "WORKBENCH_JWT_KEYS": f"k1:{KEY}",
    "WORKBENCH_DATA_KEYS": f"d1:{KEY}",
    "WORKBENCH_BLIND_INDEX_KEY": KEY,
}
SPRING_FESTIVAL_2027 = "2027-02-06..2027-02-14"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def calendar_of(**env: str) -> sla.WorkCalendar:
    """The calendar of settings read from MINIMAL plus `env`."""
    return Settings.from_env(MINIMAL | env).work_calendar


def due(start: datetime, hours: int, calendar: sla.WorkCalendar) -> datetime:
    at = sla.due_at(start, hours=hours, kind="business_hours", calendar=calendar)
    return at.astimezone(SHANGHAI)


def test_new_years_day_2027_is_off_without_any_setting() -> None:
    # The package knows 2026 at most; 1 January is a holiday by date whatever the year. Thursday
    # 17:00 + 8: one hour on the 31st, Friday the 1st off, the weekend, seven hours on Monday.
    assert not sla.package_knows(2027)
    assert due(local(2026, 12, 31, 17), 8, calendar_of()) == local(2027, 1, 4, 17)
    assert due(local(2026, 12, 31, 17), 8, sla.PACKAGE_CALENDAR) == local(2027, 1, 4, 17)


def test_other_fixed_date_holidays_of_an_unknown_year() -> None:
    calendar = calendar_of()
    # National Day 2027: Friday 1 October off; Thursday 17:00 + 2 ends on Monday the 4th.
    assert due(local(2027, 9, 30, 17), 2, calendar) == local(2027, 10, 4, 10)
    # Labour Day 2028 (two days since 2025): Monday 1 and Tuesday 2 May off.
    assert due(local(2028, 4, 28, 17), 2, calendar) == local(2028, 5, 3, 10)
    # Any other weekday counts, lunar holidays included until the bank enters them.
    assert due(local(2027, 2, 5, 17), 2, calendar) == local(2027, 2, 8, 10)


def test_a_spring_festival_week_entered_by_the_bank_is_skipped() -> None:
    calendar = calendar_of(WORKBENCH_HOLIDAYS=f"2027-01-01, {SPRING_FESTIVAL_2027},2027-04-05")
    # Friday 5 February 17:00 + 2: an hour that evening, then nothing until Monday the 15th.
    assert due(local(2027, 2, 5, 17), 2, calendar) == local(2027, 2, 15, 10)
    # A single date too: Qingming, Monday 5 April.
    assert due(local(2027, 4, 2, 17), 2, calendar) == local(2027, 4, 6, 10)


def test_a_make_up_saturday_counts() -> None:
    calendar = calendar_of(
        WORKBENCH_HOLIDAYS=SPRING_FESTIVAL_2027, WORKBENCH_MAKEUP_WORKDAYS="2027-02-20"
    )
    # Friday 19 February 17:00 + 2: the second hour on Saturday the 20th, not on Monday.
    assert due(local(2027, 2, 19, 17), 2, calendar) == local(2027, 2, 20, 10)
    assert due(local(2027, 2, 19, 17), 2, calendar_of()) == local(2027, 2, 22, 10)


def test_the_banks_entries_win_over_the_package_in_a_year_it_knows() -> None:
    assert sla.package_knows(2026)
    # Monday 7 December 2026, a working day for the package, closed by the bank.
    closed = calendar_of(WORKBENCH_HOLIDAYS="2026-12-07")
    assert due(local(2026, 12, 4, 17), 2, sla.PACKAGE_CALENDAR) == local(2026, 12, 7, 10)
    assert due(local(2026, 12, 4, 17), 2, closed) == local(2026, 12, 8, 10)
    # Saturday 10 October 2026, a make-up working day for the package, closed by the bank.
    assert due(local(2026, 10, 9, 17), 2, sla.PACKAGE_CALENDAR) == local(2026, 10, 10, 10)
    closed = calendar_of(WORKBENCH_HOLIDAYS="2026-10-10")
    assert due(local(2026, 10, 9, 17), 2, closed) == local(2026, 10, 12, 10)
    # Saturday 3 October 2026, National Day for the package, worked by the bank.
    worked = calendar_of(WORKBENCH_MAKEUP_WORKDAYS="2026-10-03")
    assert due(local(2026, 9, 30, 17), 2, worked) == local(2026, 10, 3, 10)


def test_the_settings_read_dates_and_ranges() -> None:
    settings = Settings.from_env(
        MINIMAL
        | {
            "WORKBENCH_HOLIDAYS": " 2027-02-13..2027-02-15 ,2027-01-01,,2027-02-14",
            "WORKBENCH_MAKEUP_WORKDAYS": "2027-02-20,2027-02-07",
        }
    )
    assert settings.holidays == (
        date(2027, 1, 1), date(2027, 2, 13), date(2027, 2, 14), date(2027, 2, 15),
    )  # fmt: skip
    assert settings.makeup_workdays == (date(2027, 2, 7), date(2027, 2, 20))
    assert Settings.from_env(MINIMAL).holidays == ()


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("WORKBENCH_HOLIDAYS", "2027-02-30", "'2027-02-30' is not a date (2027-01-01)"),
        ("WORKBENCH_HOLIDAYS", "2027-1-1", "'2027-1-1' is not a date"),
        ("WORKBENCH_HOLIDAYS", "01/01/2027", "'01/01/2027' is not a date"),
        ("WORKBENCH_HOLIDAYS", "春节", "'春节' is not a date"),
        ("WORKBENCH_HOLIDAYS", "2027-02-06..", "'2027-02-06..' is not a date"),
        ("WORKBENCH_HOLIDAYS", "2027-02-06-2027-02-14", "is not a date"),
        ("WORKBENCH_HOLIDAYS", "2027-02-14..2027-02-06", "ends before it begins"),
        ("WORKBENCH_HOLIDAYS", "2027-02-06..2027-12-14", "is longer than 31 days"),
        ("WORKBENCH_MAKEUP_WORKDAYS", "2027-02-19", "2027-02-19 is a Friday"),
        ("WORKBENCH_MAKEUP_WORKDAYS", "2027-02-20..2027-02-21", "not a range"),
        ("WORKBENCH_MAKEUP_WORKDAYS", "2027-13-01", "is not a date"),
    ],
)
def test_bad_dates_are_refused_naming_the_variable(variable: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(MINIMAL | {variable: value})
    [problem] = caught.value.problems
    assert problem.startswith(f"{variable}: ")
    assert reason in problem
    assert problem in str(caught.value)


def test_every_bad_entry_is_named_at_once() -> None:
    # A calendar is typed in one go: the first bad entry alone sent the operator round again.
    bad = {"WORKBENCH_HOLIDAYS": "2027-01-01..2027-03-01,2027-13-01,2027-02-30,2027-05-01"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(MINIMAL | bad)
    [problem] = caught.value.problems
    for named in ("'2027-01-01..2027-03-01' is longer", "'2027-13-01'", "'2027-02-30'"):
        assert named in problem
    assert "2027-05-01" not in problem


def test_a_day_both_closed_and_open_is_refused() -> None:
    both = {"WORKBENCH_HOLIDAYS": SPRING_FESTIVAL_2027, "WORKBENCH_MAKEUP_WORKDAYS": "2027-02-07"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(MINIMAL | both)
    assert caught.value.problems == [
        "WORKBENCH_MAKEUP_WORKDAYS: 2027-02-07 also in WORKBENCH_HOLIDAYS: a day is either"
        " closed or open"
    ]
    # Settings made in code are checked the same way.
    settings = Settings.from_env(MINIMAL | {"WORKBENCH_HOLIDAYS": SPRING_FESTIVAL_2027})
    with pytest.raises(SettingsError):
        replace(settings, makeup_workdays=(date(2027, 2, 7),)).validate()


def warnings_at(
    caplog: pytest.LogCaptureFixture, calendar: sla.WorkCalendar, today: date
) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="workbench.workorders.sla"):
        sla.warn_unknown_years(calendar, today=today)
    return [r.getMessage() for r in caplog.records if r.name == "workbench.workorders.sla"]


def test_a_warning_while_this_or_next_year_is_counted_mon_fri_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    [warning] = warnings_at(caplog, calendar_of(), date(2026, 12, 5))
    assert warning.startswith("work-order SLAs for 2027 count Mon-Fri only: set WORKBENCH_HOLIDAYS")
    # Make-up days alone are not the year's holidays.
    assert warnings_at(
        caplog, calendar_of(WORKBENCH_MAKEUP_WORKDAYS="2027-02-20"), date(2026, 12, 5)
    )
    # Both years unknown: still one warning, naming both.
    [warning] = warnings_at(caplog, calendar_of(), date(2027, 3, 1))
    assert warning.startswith("work-order SLAs for 2027 and 2028 count Mon-Fri only")
    # A year the bank has entered holidays for is not named.
    entered = calendar_of(WORKBENCH_HOLIDAYS=SPRING_FESTIVAL_2027)
    [warning] = warnings_at(caplog, entered, date(2027, 3, 1))
    assert warning.startswith("work-order SLAs for 2028 count Mon-Fri only")


def test_no_warning_when_both_years_are_known_or_entered(caplog: pytest.LogCaptureFixture) -> None:
    assert warnings_at(caplog, calendar_of(), date(2025, 6, 1)) == []
    entered = calendar_of(WORKBENCH_HOLIDAYS=f"2027-01-01,{SPRING_FESTIVAL_2027}")
    assert warnings_at(caplog, entered, date(2026, 12, 5)) == []


def test_entering_only_a_fixed_date_holiday_still_warns(caplog: pytest.LogCaptureFixture) -> None:
    # 1 January is off in any year already: entering it says nothing of the Spring Festival.
    only_new_year = calendar_of(WORKBENCH_HOLIDAYS="2027-01-01")
    assert warnings_at(caplog, only_new_year, date(2026, 12, 5)) != []

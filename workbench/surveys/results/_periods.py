"""The period a survey's results cover: whole days of the bank (the invitations sent on those
days and their answers), or for a staff survey its whole life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workbench.errors import DomainError
from workbench.periods import period_bound

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
YEARS = (2000, 2999)


class BadPeriod(DomainError):
    status, code, title = 422, "survey.bad_period", "The period is not usable"


@dataclass(frozen=True, slots=True)
class Period:
    """Whole bank days [first_day, end_day), and the same as instants [start, end)."""

    first_day: date
    end_day: date
    start: datetime
    end: datetime


def period(from_: str | None, to: str | None, *, tz: str, now: datetime) -> Period:
    """The days of `?from=&to=` (see `workbench.periods`): a time inside a day takes the whole
    day. Without `to`, up to today; without `from`, the 30 days up to `to`."""
    zone = ZoneInfo(tz)
    try:
        end = period_bound(to or now.astimezone(zone).date().isoformat(), name="to", tz=tz,
                           end=True)  # fmt: skip
        start = (
            period_bound(from_, name="from", tz=tz)
            if from_
            else end - timedelta(days=DEFAULT_PERIOD_DAYS)
        )
    except OverflowError:
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}") from None
    if not (YEARS[0] <= start.year and (end - timedelta(microseconds=1)).year <= YEARS[1]):
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}")
    if end <= start:
        raise BadPeriod("`to` must be after `from`")
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise BadPeriod(f"a period spans at most {MAX_PERIOD_DAYS} days")
    end_day = last + timedelta(days=1)
    return Period(
        first_day=first,
        end_day=end_day,
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(end_day, time(), tzinfo=zone),
    )


def whole_life(survey: Any, asked: Period, *, now: datetime) -> Period:
    """A survey's whole life as a period of the bank's days (the time zone of `asked`): from
    its first publication or invitation, whichever came first, to today or its last
    invitation's day, whichever is later. A staff survey's results cover it whatever period was
    asked: two periods differing by a few responses would give those few away."""
    zone = asked.start.tzinfo
    assert isinstance(zone, ZoneInfo)
    today = now.astimezone(zone).date()
    first = survey["first_day"] or today
    end_day = max(today, survey["last_day"] or today) + timedelta(days=1)
    return Period(
        first_day=first,
        end_day=end_day,
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(end_day, time(), tzinfo=zone),
    )

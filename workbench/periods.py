"""Periods in query parameters (`?from=&to=`), as people write them: a day, or an exact time.

A day is read in the bank's time zone: `from=2026-12-01` starts at that day's midnight and
`to=2026-12-31` ends at the next midnight, so both days are inside the period. An RFC 3339 time
(`2026-12-01T08:00:00Z`) is taken as it is; one without an offset is UTC, as every time without
one is in this API (due times, `due_after`/`due_before`, events' `occurred_at`). Team progress,
`/funnels`, survey results and what reads them (the dashboard, its exports, the monthly
report) all take their periods from here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar.exceptions import ValidationException

# The pattern of a period bound (`2026-12-01` or `2026-12-01T08:00:00+08:00`), defined with the
# contract's shapes and said in words there; the routes taking `?from=&to=` import it from here.
from mobile_contracts.v1.common import DAY_OR_TIME as DAY_OR_TIME
from mobile_contracts.v1.patterns import described

YEARS = (2000, 2999)
"""The years a business time lies in (a period, an event, a due time): far from the ends of what
Python and PostgreSQL hold, so no time-zone shift pushes one out of them."""


def within_years(moment: datetime) -> bool:
    """Whether a time with its offset lies in YEARS (in UTC; a time that has no UTC, 9999-12-31
    west of it or 0001-01-01 east of it, does not)."""
    try:
        year = moment.astimezone(UTC).year if moment.tzinfo else moment.year
    except OverflowError:
        return False
    return YEARS[0] <= year <= YEARS[1]


# A value that reads as a bound but is none (2026-13-45): said as the pattern says it.
_DAY_OR_TIME_SAID = described(DAY_OR_TIME)


def period_bound(text: str, *, name: str, tz: str, end: bool = False) -> datetime:
    """The instant a `from` (or, with `end`, a `to`) query parameter stands for: a day's
    midnight in the bank's zone `tz` (with `end`, the next one), a time as written, UTC if it
    has no offset."""
    zone = ZoneInfo(tz)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValidationException(
            extra=[{"key": name, "source": "query", "message": f"must be {_DAY_OR_TIME_SAID}"}]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def within_years_as_given(moment: datetime) -> bool:
    """Whether a period bound lies in YEARS on the calendar it was written in: a plain day in
    the bank's time zone (`2000-01-01` is in 2000, though its midnight in Shanghai is still
    1999 in UTC), a time in its own offset (UTC without one). As `/funnels` and the survey
    results judge a period; YEARS are far enough from the calendar's ends for any offset."""
    return YEARS[0] <= moment.year <= YEARS[1]


def bounded_period(from_: str, to: str, *, tz: str) -> tuple[datetime, datetime]:
    """`?from=&to=` as instants, each within YEARS as written (`within_years_as_given`), or 422
    naming the parameter (a day next to the calendar's ends has no next midnight; one far off
    only fails in the database)."""
    bounds = []
    for name, text, end in (("from", from_, False), ("to", to, True)):
        try:
            bound = period_bound(text, name=name, tz=tz, end=end)
            # `to` ends before its bound: the period's last moment is what lies in YEARS.
            last: datetime | None = bound - timedelta(microseconds=1) if end else bound
        except OverflowError:
            last = None
        if last is None or not within_years_as_given(last):
            message = f"a date within the years {YEARS[0]} to {YEARS[1]}"
            raise ValidationException(extra=[{"key": name, "source": "query", "message": message}])
        bounds.append(bound)
    return bounds[0], bounds[1]

"""Periods in query parameters (`?from=&to=`), as people write them: a day, or an exact time.

A day is read in the bank's time zone: `from=2026-12-01` starts at that day's midnight and
`to=2026-12-31` ends at the next midnight, so both days are inside the period. An RFC 3339 time
(`2026-12-01T08:00:00Z`) is taken as it is; one without an offset is in the bank's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar.exceptions import ValidationException

DAY_OR_TIME = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
"""The pattern of a period bound: `2026-12-01` or `2026-12-01T08:00:00+08:00`."""


def period_bound(text: str, *, name: str, tz: str, end: bool = False) -> datetime:
    """The instant a `from` (or, with `end`, a `to`) query parameter stands for."""
    zone = ZoneInfo(tz)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValidationException(
            extra=[{"key": name, "source": "query", "message": "not a date or an RFC 3339 time"}]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)

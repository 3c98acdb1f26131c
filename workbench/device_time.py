"""Times a phone says something happened at (a mutation's `occurred_at`, a photo's `taken_at`).

Work done offline is recorded at the time the RM did it, not when the phone was next online. A
phone's clock may be wrong and a time may be backdated, so a device's time is believed only when
it is in the past, not older than the offline limit (WORKBENCH_SYNC_OFFLINE_MAX_DAYS) and not
before what it is about existed (a task's photo before the task was issued); otherwise the
server's time stands in for it, and what the RM sent is taken all the same: an RM's work is
never refused for a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec


def read(value: Any) -> datetime | None:
    """A device's time as the app sent it (RFC 3339 text with its offset, read as every time in
    the API: `t` and `z` in either case); anything else (no offset, not a time, a year out of
    reach) is None."""
    if not isinstance(value, str):
        return None
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        return None
    if moment.tzinfo is None or not 2000 <= moment.year <= 2999:
        return None
    return moment


def believed(
    moment: datetime | None, *, max_days: int, not_before: datetime | None = None
) -> datetime | None:
    """`moment` if the server's clock finds it plausible: in the past, not more than `max_days`
    ago and, given `not_before` (when what it is about came to be), not before that; else None
    (the caller records the server's time)."""
    if moment is None:
        return None
    now = datetime.now(UTC)
    earliest = now - timedelta(days=max_days)
    if not_before is not None:
        earliest = max(earliest, not_before)
    if not earliest <= moment <= now:
        return None
    return moment

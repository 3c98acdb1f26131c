"""Fixtures of the task tests that run the worker's jobs at a chosen time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from workbench.db import create_pool
from workbench.tasks import dispatching, jobs

Clock = Callable[[datetime], None]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Set the time the dispatch and the worker job see (the real time until set)."""
    now: list[datetime | None] = [None]

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            if now[0] is None:
                return datetime.now(tz)
            return now[0].astimezone(tz) if tz is not None else now[0].replace(tzinfo=None)

    for module in (dispatching, jobs):
        monkeypatch.setattr(module, "datetime", Frozen)

    def set_to(moment: datetime) -> None:
        now[0] = moment.astimezone(UTC)

    return set_to


@pytest.fixture
async def job_ctx(settings: Any) -> AsyncIterator[dict[str, Any]]:
    """What the worker gives its jobs: a pool and the settings."""
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        yield {"pool": pool, "settings": settings}
    finally:
        await pool.close()

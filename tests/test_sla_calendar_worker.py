"""The worker takes the bank's calendar from its settings: work orders it opens skip the bank's
holidays, and it warns at start while this or next year is counted Mon-Fri only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from arq.connections import create_pool
from arq.worker import create_worker

from tests.workbench.workorders.wo_setup import Bench, bench
from workbench.worker import worker_settings
from workbench.workorders import jobs, sla

__all__ = ["bench"]

pytestmark = [
    # arq's own shutdown calls a redis-py method deprecated in redis 5.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]


@pytest.fixture(autouse=True)
def _package_calendar_again() -> Iterator[None]:
    """The worker's start makes its settings' calendar the process's: not past this test."""
    yield
    sla.use_calendar(sla.PACKAGE_CALENDAR)


async def test_the_worker_counts_the_banks_holidays_and_warns_of_unknown_years(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    today = datetime.now(sla.BANK_ZONE).date()
    closed = tuple(today + timedelta(days=n) for n in range(21))  # three weeks closed from today
    settings = replace(bench.settings, holidays=closed)
    rule_id = await bench.rule(sla_hours=2, sla_kind="business_hours")
    await bench.store(answers={"score": 1})
    cls: Any = worker_settings(settings)
    redis = await create_pool(cls.redis_settings, default_queue_name=cls.queue_name)
    try:
        assert await redis.enqueue_job(jobs.APPLY_JOB, str(rule_id)) is not None
        worker = create_worker(cls, burst=True, poll_delay=0.05, handle_signals=False)
        with caplog.at_level(logging.WARNING, logger="workbench.workorders.sla"):
            try:
                await worker.main()
            finally:
                await worker.close()
    finally:
        await redis.aclose()

    # Two business hours from today: not before the bank opens again (the package alone would
    # have it due within days).
    [work_order] = await bench.work_orders()
    due = work_order["due_at"].astimezone(sla.BANK_ZONE)
    assert due.date() > closed[-1]
    assert due.date() <= closed[-1] + timedelta(days=12)

    entered = {day.year for day in closed}
    unknown = [
        year
        for year in (today.year, today.year + 1)
        if year not in entered and not sla.package_knows(year)
    ]
    warned = [r.getMessage() for r in caplog.records if r.name == "workbench.workorders.sla"]
    if not unknown:  # a newer package: nothing to warn of
        assert warned == []
    else:
        named = " and ".join(str(year) for year in unknown)
        [warning] = warned
        assert warning.startswith(
            f"work-order SLAs for {named} count Mon-Fri only: set WORKBENCH_HOLIDAYS"
        )

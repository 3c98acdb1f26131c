"""A report of the month in progress counts up to today: its period ends today and its weekly
trend has no weeks still to come; a week or an RM with nothing assigned has no rate ("—"),
not 0.0 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.tasks_data import unit
from tests.workbench.dashboard.dash_data import TZ, connect
from workbench.reports import builder
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_month_in_progress_ends_today_and_empty_weeks_have_no_rate(
    settings: Any,
) -> None:
    # The 4th of a month (so weeks of it are still to come), noon in the bank's zone.
    today = datetime.now(ZoneInfo(TZ)).date().replace(day=4)
    now = datetime.combine(today, datetime.min.time(), ZoneInfo(TZ)) + timedelta(hours=12)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        async with conn.transaction(isolation="repeatable_read"):
            data = await builder.gather(
                conn, vault, unit_id=unit("branch-east"), month=today.replace(day=1), tz=TZ,
                now=now.astimezone(UTC),
            )  # fmt: skip
    finally:
        await conn.close()
    assert data.view.first_day == today.replace(day=1)
    assert data.view.end_day == today + timedelta(days=1)
    assert data.weeks
    assert all(w.week_start <= today for w in data.weeks)

    html = builder.render_html(data, bank_name="演示银行", tz=TZ)
    assert f"统计期间 {today.replace(day=1)} 至 {today}" in html
    assert not [w for w in data.weeks if w.assigned]  # nothing dispatched in the demo bank yet
    assert "0.0%" not in html
    assert html.count("—") >= len(data.weeks)

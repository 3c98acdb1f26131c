"""A week the period cuts (November 2026: Monday 26 October holds only Sunday 1 November, Monday
30 November only itself) is marked wherever the weeks are listed, as the weekly chart marks it
(`10/26*`): in the dashboard's 每周数字 table (`2026-10-26*`, with the chart's words under it),
and in the weekly_trend export's CSV and Excel files by a last column 部分周 (是/否), the
columns before it as they were. QA found `2026-10-26,2,2,1.0` in the CSV, which is 1 November
alone."""

from __future__ import annotations

import html as markup
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.workbench.dashboard.dash_data import TZ, arrange, dispatch_tasks, tasks_of
from tests.workbench.exports.test_exports import excel_day, read_csv, read_xlsx

pytestmark = pytest.mark.usefixtures("demo_bank")

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
WHOLE_WEEKS = {"from": "2026-11-02", "to": "2026-11-29"}
HEADER = ["周（周一）", "分配任务", "已完成", "完成率", "部分周"]
NOTE = "带 * 的周只有一部分在所选时间内"


def _at(day: str, hour: int) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), ZoneInfo(TZ)).replace(
        hour=hour
    )


async def _november(console: Any, db: Any) -> None:
    """East Team 1's tasks around November: two done on Sunday 1st (and one on Saturday 31
    October, the same week, outside the period), one on the 10th, four on the 18th (two done),
    one done on Monday 30th (and one on 1 December, outside)."""
    await dispatch_tasks(console, await headers_of(console, "admin"), "team-east-1", 5)
    t = await tasks_of(db, "rm01")
    u = await tasks_of(db, "rm02")
    plan = [
        (t[0], "2026-11-01", 10, "done"), (u[0], "2026-11-01", 15, "done"),
        (t[1], "2026-10-31", 10, None), (t[2], "2026-11-10", 10, None),
        (u[1], "2026-11-18", 9, "done"), (u[2], "2026-11-18", 10, "done"),
        (u[3], "2026-11-18", 11, None), (u[4], "2026-11-18", 12, None),
        (t[3], "2026-11-30", 9, "done"), (t[4], "2026-12-01", 9, None),
    ]  # fmt: skip
    for task_id, day, hour, status in plan:
        await arrange(db, task_id, created_at=_at(day, hour), status=status)


def _week_cells(html: str) -> tuple[list[str], str]:
    """The first cell of each row of the weekly trend's table, and that section's HTML."""
    start = html.index('id="weeks-title"')
    section = html[start : html.index("</section>", start)]
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    cells = re.findall(r"<tr><td[^>]*>(.*?)</td>", body, re.S)
    return [markup.unescape(c).strip() for c in cells], section


async def test_the_weeks_table_and_the_export_mark_a_week_the_period_cuts(
    make_console: Any,  # noqa: F811
    db: Any,
) -> None:
    console = await make_console()
    await _november(console, db)
    await signed_in(console, "bh.east")

    page = await console.get("/console/dashboard", params=NOVEMBER)
    assert page.status_code == 200, page.text
    weeks, section = _week_cells(page.text)
    assert weeks == ["2026-10-26*", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23",
                     "2026-11-30*"]  # fmt: skip
    table_part = section[section.index("<details") :]
    assert NOTE in table_part  # the chart's words, also where the table is (charts or not)

    csv_rows = read_csv((await console.get(
        "/console/exports/new", params={"table": "weekly_trend", "format": "csv", **NOVEMBER}
    )).content)  # fmt: skip
    assert csv_rows == [
        HEADER,
        ["2026-10-26", "2", "2", "1.0", "是"],  # 1 November alone (not 31 October)
        ["2026-11-02", "0", "0", "", "否"],
        ["2026-11-09", "1", "0", "0.0", "否"],
        ["2026-11-16", "4", "2", "0.5", "否"],
        ["2026-11-23", "0", "0", "", "否"],
        ["2026-11-30", "1", "1", "1.0", "是"],  # 30 November alone (not 1 December)
    ]

    xlsx = await console.get(
        "/console/exports/new", params={"table": "weekly_trend", "format": "xlsx", **NOVEMBER}
    )
    assert xlsx.status_code == 200, xlsx.text
    sheet = next(iter(read_xlsx(xlsx.content).values()))
    assert sheet[0] == HEADER
    assert [(row[0], row[-1]) for row in sheet[1:]] == [
        (excel_day(date(2026, 10, 26)), "是"), (excel_day(date(2026, 11, 2)), "否"),
        (excel_day(date(2026, 11, 9)), "否"), (excel_day(date(2026, 11, 16)), "否"),
        (excel_day(date(2026, 11, 23)), "否"), (excel_day(date(2026, 11, 30)), "是"),
    ]  # fmt: skip
    assert sheet[1][:4] == [excel_day(date(2026, 10, 26)), 2.0, 2.0, 1.0]

    # Whole weeks only: nothing marked, no note, every week 否.
    page = await console.get("/console/dashboard", params=WHOLE_WEEKS)
    assert page.status_code == 200, page.text
    weeks, section = _week_cells(page.text)
    assert weeks == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert NOTE not in section[section.index("<details") :]
    csv_rows = read_csv((await console.get(
        "/console/exports/new", params={"table": "weekly_trend", "format": "csv", **WHOLE_WEEKS}
    )).content)  # fmt: skip
    assert [row[-1] for row in csv_rows] == ["部分周", "否", "否", "否", "否"]

"""The dashboard's links to the funnel page (按宣传册查看) and to the work orders (查看全部工单)
keep the unit looked at and its period, as far as those pages have them: they went to plain
/console/funnels (the caller's whole scope, 30 days) and /console/work-orders (every unit). The
funnel page has the last 7, 30 or 90 days; the work-order list, the unit (open work orders are
of now, not of a period)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import signed_in
from tests.tasks_data import unit
from tests.workbench.funnels.conftest import add_brochure, add_share

pytestmark = pytest.mark.usefixtures("demo_bank")

TEAM = str(unit("team-east-2"))


@pytest.fixture(autouse=True)
async def shares(db: Any, demo_bank: Any) -> None:
    """A share of East Team 2's rm03 every few days of the last 100: each period has some (the
    funnel's link is under its chart)."""
    await db.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    brochure = await add_brochure(db, "稳健理财")
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    for ago in range(0, 100, 3):
        await add_share(db, rm="rm03", brochure=brochure, created_at=now - timedelta(days=ago))


def _link(page: str, name: str) -> tuple[str, str]:
    """(href, text) of the page's link marked `data-link="<name>"`."""
    found = re.search(rf'<a href="([^"]+)" data-link="{name}">([^<]+)</a>', page)
    assert found, f"no {name} link"
    return html_lib.unescape(found.group(1)), found.group(2)


def _today() -> Any:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.mark.parametrize(
    ("days", "period", "label"),
    [
        (30, "30d", ""),  # the dashboard's default: the funnel page's own 30 days
        (7, "7d", ""),
        (90, "90d", ""),
        (14, "30d", "（最近 30 天）"),  # not one of the funnel page's: the shortest holding it
    ],
)
async def test_the_funnel_and_work_order_links_keep_the_unit_and_period(
    make_console: Any, days: int, period: str, label: str
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    today = _today()
    first = today - timedelta(days=days - 1)
    page = await console.get(
        "/console/dashboard",
        params={"unit": TEAM, "from": first.isoformat(), "to": today.isoformat()},
    )
    assert page.status_code == 200, page.text

    href, text = _link(page.text, "funnels")
    assert href == f"/console/funnels?group_by=brochure&period={period}&unit={TEAM}"
    assert text == f"按宣传册查看{label}"
    funnels = await console.get(href)
    assert funnels.status_code == 200, funnels.text
    assert "东城二组 East Team 2" in funnels.text  # the unit's funnel, not the whole branch
    chip = re.search(r'aria-label="时间范围">(.*?)</nav>', funnels.text, re.S)
    assert chip is not None
    current = re.findall(r'aria-current="true">([^<]+)<', chip.group(1))
    assert current == [f"最近 {int(period[:-1])} 天"]

    href, text = _link(page.text, "work-orders")
    assert href == f"/console/work-orders?unit={TEAM}"
    orders = await console.get(href)
    assert orders.status_code == 200, orders.text
    assert re.search(rf'<option value="{TEAM}" selected>', orders.text)


async def test_last_month_links_the_funnel_over_days_that_hold_it_and_says_so(
    make_console: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    today = _today()
    last = today.replace(day=1) - timedelta(days=1)
    page = await console.get(
        "/console/dashboard",
        params={"from": last.replace(day=1).isoformat(), "to": last.isoformat()},
    )
    assert page.status_code == 200, page.text
    href, text = _link(page.text, "funnels")
    # Last month lies within the last 90 days (never more than 61 days back): those are shown,
    # and the link says so.
    assert href == f"/console/funnels?group_by=brochure&period=90d&unit={unit('branch-east')}"
    assert text == "按宣传册查看（最近 90 天）"

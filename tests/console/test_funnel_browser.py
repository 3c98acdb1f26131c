"""Marketing's share-and-conversion pages in a real browser: the funnel by brochure with its bars,
the other groupings, the CSV export; and the admin's page of filtered (bot) hits. Screenshots at
desktop and tablet sizes go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.workbench.funnels.conftest import add_brochure, add_share, add_visitor

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def month_of_shares(db, demo_bank):
    """Two brochures shared by three RMs over the last days, opened, read and clicked."""
    for code in ("WM90", "TECH01"):
        await db.execute(
            "insert into products (code, name, category, risk_level) values ($1, $2, 'fund', 2)",
            code,
            f"Product {code}",
        )
    now = datetime.now(UTC)
    steady = await add_brochure(db, "稳享90天")
    tech = await add_brochure(db, "科技先锋", product="TECH01")
    for n in range(12):
        share = await add_share(
            db,
            rm=("rm01", "rm02", "rm05")[n % 3],
            brochure=steady if n % 3 else tech,
            product="WM90" if n % 3 else "TECH01",
            created_at=now - timedelta(days=n % 6, hours=1),
        )
        if n % 4 != 3:
            await add_visitor(
                db, share, f"v{n}", dwell_ms=4000 + 3000 * n, clicked=n % 3 == 0, at=now
            )
    # A link preview's hit, labelled and kept for the admin.
    await db.execute(
        """insert into share_hits (received_at, event_id, share_id, visitor_id, type, user_agent,
                                   verdict, reason)
           select now(), gen_random_uuid(), id, 'preview', 'open',
                  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'bot',
                  'link preview: Slackbot'
             from shares limit 1"""
    )


@pytest.mark.usefixtures("month_of_shares")
async def test_marketing_reads_the_funnel_and_exports_it(page, sign_in, shot):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await (
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="分享与转化").click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("分享与转化")
    await expect(page.locator('[data-step="shared"]')).to_have_text("12")
    await expect(page.locator('[data-step="opened"]')).to_have_text("9")
    await shot(page, "funnels")

    await page.get_by_role("navigation", name="分组").get_by_role("link", name="宣传册").click()
    rows = page.locator("table.funnel-groups tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first.locator(".label")).to_have_text("稳享90天")
    await shot(page, "funnels-by-brochure", sizes=("desktop", "tablet-portrait"))

    async with page.expect_download() as download:
        await page.get_by_role("link", name="导出 CSV").click()
    saved = await (await download.value).path()
    lines = Path(saved).read_text(encoding="utf-8-sig").splitlines()  # noqa: ASYNC240
    # Excel shows the page's own column names, in Chinese.
    assert lines[0] == "编号,宣传册,分享,打开,停留 ≥ 10 秒,点击,转化,访客,转化笔数"
    assert any(",稳享90天,8," in line for line in lines[1:])
    await page.wait_for_load_state("networkidle")


@pytest.mark.usefixtures("month_of_shares")
async def test_the_admin_sees_what_was_filtered_and_why(page, sign_in, shot):
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.wait_for_load_state("networkidle")  # the home page's icon, before leaving it
    await page.goto("/console/tracking/filtered")
    await expect(page.get_by_text("链接预览：Slackbot")).to_be_visible()
    await shot(page, "tracking-filtered", sizes=("desktop", "tablet-portrait"))
    await page.wait_for_load_state("networkidle")

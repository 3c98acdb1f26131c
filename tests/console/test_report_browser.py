"""The monthly report page in a real browser: the East Branch head opens 月度报告 from the
navigation, sees their branch's report (never the West Branch's) and downloads its PDF.
Screenshots at tablet portrait and phone sizes go to tests/artifacts/console/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS
from tests.console.test_report_pages import PDF, ready_report
from tests.serving import serving
from workbench.reports.builder import previous_month
from workbench.reports.service import bank_today
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def console_server(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """The app with a blob store of its own (the reports' files)."""
    async with serving(replace(settings, blob_dir=str(tmp_path))) as base:
        yield base


async def test_the_branch_head_downloads_last_months_report(
    page: Any, sign_in: Any, shot: Any, db: Any, tmp_path: Path, settings: Settings
) -> None:
    from playwright.async_api import expect

    today = bank_today(settings.bank_timezone, datetime.now(UTC))
    month = previous_month(today)
    await ready_report(db, tmp_path, "branch-east", month)
    await ready_report(db, tmp_path, "branch-west", month)
    await sign_in(page, "bh.east")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="月度报告").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("月度报告")
    rows = page.locator("tr.report-row")
    await expect(rows).to_have_count(6)  # last month and the five before, one branch
    await expect(rows.first).to_contain_text("东城支行")
    await expect(rows.first).to_contain_text("已生成")
    await expect(page.locator("main")).not_to_contain_text("西城支行")
    await shot(page, "reports", sizes=("desktop", "tablet-portrait"))
    await page.set_viewport_size({"width": 390, "height": 844})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "reports-phone.png"), full_page=True)

    async with page.expect_download() as download:
        await rows.first.get_by_role("link", name="下载 PDF").click()
    saved = await (await download.value).path()
    assert Path(saved).read_bytes() == PDF  # noqa: ASYNC240

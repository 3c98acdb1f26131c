"""The pages of a large export in a real browser: the confirmation page a dashboard link opens
(what will be exported, 开始导出), the page that offers the unit's tables, and an expired
export's page; each fits a 768 px upright tablet. Screenshots go to tests/artifacts/console/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, browser, page, sideways, sign_in  # noqa: F401
from tests.serving import serving
from tests.workbench.exports.test_exports import Rows, pool, rows, unit, worker
from workbench.db import Pool
from workbench.exports import jobs, service

__all__ = ["pool", "rows"]

pytestmark = pytest.mark.usefixtures("demo_bank")
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
async def console_server(settings: Any, blob_dir: Path) -> AsyncIterator[str]:
    async with serving(replace(settings, blob_store="local", blob_dir=str(blob_dir))) as base:
        yield base


async def _at(page: Any, name: str) -> None:  # noqa: F811
    """Full-page shots at 1280 px and on an upright tablet, with nothing sticking out sideways."""
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=str(ARTIFACTS / f"{name}-1280.png"), full_page=True)
    await page.set_viewport_size(TABLETS["tablet-upright"])
    assert await sideways(page) == [], name
    await page.screenshot(path=str(ARTIFACTS / f"{name}-tablet-upright.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def test_a_branch_head_confirms_a_large_export_and_sees_it_expire(
    page: Any,  # noqa: F811 (the fixtures imported above)
    sign_in: Any,  # noqa: F811
    rows: Rows,
    db: Any,
    settings: Any,
    pool: Pool,
    blob_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.async_api import expect

    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    rows.size = 23_456
    await sign_in(page, "bh.east")
    await page.set_viewport_size(DESKTOP)
    await page.goto(
        f"/console/exports/new?table=test_rows&format=xlsx&unit={unit('team-east-1')}"
        f"&from=2026-11-01&to=2026-11-30"
    )
    await expect(page.locator('[data-fact="rows"]')).to_have_text("约 23,456 行")
    await expect(page.locator('[data-fact="unit"]')).to_have_text("东城一组 East Team 1")
    await _at(page, "exports-confirm")
    assert await db.fetchval("select count(*) from exports") == 0

    rows.size = 120
    await page.get_by_role("button", name="开始导出").click()
    await page.wait_for_url(re.compile(r".*/console/exports/[0-9a-f-]{36}$"))
    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    await expect(page.get_by_role("link", name="下载文件")).to_be_visible()

    await db.execute("update exports set expires_at = now() - interval '1 minute'")
    await page.reload()
    await expect(page.locator('[data-field="state_label"]')).to_have_text("已过期")
    await expect(page.get_by_role("link", name="下载文件")).to_have_count(0)
    await expect(page.get_by_role("link", name="重新导出")).to_be_visible()
    await _at(page, "exports-expired")

    await page.goto("/console/exports/new")
    await expect(page.get_by_label("表格")).to_be_visible()
    await _at(page, "exports-choose")

"""A large export in a real browser: the branch head asks for it, watches its progress page update
itself (exports.js) while the worker builds it, and downloads the file; screenshots of the page
and of "my exports" at desktop, tablet and phone sizes go to tests/artifacts/console/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, browser, page, shot, sign_in  # noqa: F401
from tests.serving import serving
from tests.workbench.exports.test_exports import HEADER, Rows, read_xlsx, worker
from workbench.db import Pool, create_pool
from workbench.exports import jobs, service, tables
from workbench.exports.tables import Column, Table

pytestmark = pytest.mark.usefixtures("demo_bank")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
async def console_server(settings: Any, blob_dir: Path) -> AsyncIterator[str]:
    async with serving(replace(settings, blob_store="local", blob_dir=str(blob_dir))) as base:
        yield base


@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rows]:
    made = Rows()
    made.size = 120
    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    columns = tuple(Column(f"c{n}", label) for n, label in enumerate(HEADER))
    tables.table("rm_progress")
    tables.register(Table("test_rows", "客户明细", columns, made.count, made.rows))
    yield made
    tables.TABLES.pop("test_rows", None)


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


async def test_a_branch_head_follows_a_large_export_and_downloads_it(
    page: Any,  # noqa: F811 (the fixtures imported above)
    sign_in: Any,  # noqa: F811
    shot: Any,  # noqa: F811
    rows: Rows,
    settings: Any,
    pool: Pool,
    blob_dir: Path,
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "bh.east")
    await page.goto(
        "/console/exports/new?table=test_rows&format=xlsx&from=2026-11-01&to=2026-11-30"
    )
    # The link asks first: what will be exported, and nothing queued until 开始导出.
    await expect(page.locator('[data-fact="table"]')).to_have_text("客户明细")
    await expect(page.locator('[data-fact="rows"]')).to_have_text("约 120 行")
    await page.get_by_role("button", name="开始导出").click()
    await page.wait_for_url(re.compile(r".*/console/exports/[0-9a-f-]{36}$"))
    await expect(page.locator('[data-field="state_label"]')).to_have_text("排队中")
    await expect(page.locator('[data-field="rows_total"]')).to_have_text("120")
    await shot(page, "exports-progress-queued", sizes=("tablet-portrait",))

    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    # The page's script sees it done and shows the download, without anyone reloading.
    download_link = page.get_by_role("link", name="下载文件")
    await expect(download_link).to_be_visible()
    await expect(page.locator('[data-field="state_label"]')).to_have_text("已完成")
    await shot(page, "exports-progress-done")
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(ARTIFACTS / "exports-progress-done-phone.png"), full_page=True)

    async with page.expect_download() as waiting:
        await download_link.click()
    download = await waiting.value
    assert download.suggested_filename == "客户明细-东城支行 East Branch-20261101-20261130.xlsx"
    body = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheets = read_xlsx(body)
    assert len(sheets["客户明细"]) == 1 + 120

    await page.goto("/console/exports")
    await expect(page.get_by_role("link", name="下载")).to_have_count(1)
    await page.screenshot(path=str(ARTIFACTS / "exports-list-phone.png"), full_page=True)
    await page.set_viewport_size({"width": 1024, "height": 768})
    await page.screenshot(path=str(ARTIFACTS / "exports-list-tablet.png"), full_page=True)

"""An export past its `expires_at` is expired at once, before the hourly `expire_exports` has
run: its file answers 404 exactly as once deleted, and its page, its status and 我的导出 say
已过期 with no download (only the same export asked for again); the job still deletes it and
its file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import make_console, signed_in
from tests.workbench.exports.test_exports import Rows, pool, rows, start, worker
from workbench.db import Pool
from workbench.exports import jobs, service

__all__ = ["make_console", "pool", "rows"]

pytestmark = pytest.mark.usefixtures("demo_bank")

LIST = "/console/exports"
QUERY = "table=test_rows&format=csv&from=2026-11-01&to=2026-11-30"


def _page_of(html: str) -> str:
    """A page without what differs between any two requests (its id, the CSRF token)."""
    return re.sub(r'请求编号 \S+|name="_csrf_token" value="[^"]*"|content="[^"]*"', "", html)


def _parts(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("part-*") if ".meta" not in p.parts]


async def test_an_expired_export_is_offered_and_served_no_more_before_the_job_deletes_it(
    make_console: Any,
    rows: Rows,
    db: Any,
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "DIRECT_LIMIT", 5)
    rows.size = 20
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    await signed_in(console, "bh.east")
    page = (await start(console, QUERY)).headers["location"]
    ctx = worker(pool, settings, blob_dir)
    assert await jobs.build_exports(ctx) == 1
    assert (await console.get(f"{page}/file")).status_code == 200
    assert f'href="{page}/file"' in (await console.get(LIST)).text

    # A minute past its expiry; the hourly job has not run yet.
    await db.execute("update exports set expires_at = now() - interval '1 minute'")
    expired_file = await console.get(f"{page}/file")
    assert expired_file.status_code == 404
    assert "页面不存在" in expired_file.text
    assert expired_file.headers["content-type"].startswith("text/html")  # a page, not the file

    status = await console.get(f"{page}/status")
    assert status.status_code == 200
    assert status.json() | {"rows_done": 0, "rows_total": 0} == {
        "state": "expired", "state_label": "已过期", "rows_done": 0, "rows_total": 0,
        "percent": 100, "file_url": None,
        "reason": "文件已超过 7 天的保留期限，不能再下载；如仍需要，请重新导出。",
    }  # fmt: skip

    shown = await console.get(page)
    assert shown.status_code == 200
    assert 'data-field="state_label" data-state="expired">已过期<' in shown.text
    assert f"{page}/file" not in shown.text  # no download, not even hidden
    assert "下载文件" not in shown.text
    again = re.escape("/console/exports/new?table=test_rows&amp;format=csv&amp;unit=")
    assert re.search(rf'href="{again}[^"]+2026-11-30"><span>重新导出', shown.text), shown.text

    listed = await console.get(LIST)
    [row] = [r for r in re.findall(r"<tr>(.*?)</tr>", listed.text, re.S) if "<td" in r]
    assert "已过期" in row
    assert "已完成" not in row
    assert f"{page}/file" not in row
    assert ">下载<" not in row
    assert "重新导出" in row
    assert "保留期限" in row

    # The job deletes it and its file; the file then answers just as it did.
    assert _parts(blob_dir)
    assert await jobs.expire_exports(ctx) == 1
    assert not _parts(blob_dir)
    deleted_file = await console.get(f"{page}/file")
    assert deleted_file.status_code == expired_file.status_code
    assert _page_of(deleted_file.text) == _page_of(expired_file.text)

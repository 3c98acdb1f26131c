"""A link, a reload, a prefetch or a HEAD of /console/exports/new never starts a worker export:
a large one is a confirmation page (what will be exported, about how many rows, 开始导出), and
only its form (a POST with the page's CSRF and one-time tokens) queues it; the same form sent
twice queues it once, and the same export asked for again joins the one queued."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import ORIGIN, make_console, post_form, signed_in
from tests.workbench.exports.test_exports import (
    _HIDDEN,
    _START_FORM,
    HEADER,
    NEW,
    Rows,
    read_csv,
    rows,
    start,
    unit,
)
from workbench.console import once
from workbench.exports import service

__all__ = ["make_console", "rows"]

pytestmark = pytest.mark.usefixtures("demo_bank")

QUERY = f"table=test_rows&format=xlsx&from=2026-11-01&to=2026-11-30&unit={unit('team-east-1')}"


async def _exports(db: Any) -> int:
    return int(await db.fetchval("select count(*) from exports"))


def _fields(html: str) -> dict[str, str]:
    form = _START_FORM.search(html)
    assert form is not None, html
    return dict(_HIDDEN.findall(form.group(1)))


async def test_a_large_export_asks_first_and_its_form_queues_it_once(
    make_console: Any,
    rows: Rows,
    db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    rows.size = 120
    console = await make_console()
    await signed_in(console, "bh.east")

    # The dashboard's link, a reload, a HEAD: a page saying what would be exported; nothing queued.
    for _ in range(2):
        page = await console.get(f"{NEW}?{QUERY}")
        assert page.status_code == 200, page.text
    assert (await console.head(f"{NEW}?{QUERY}")).status_code == 200
    assert await _exports(db) == 0
    html = page.text
    assert '<dd data-fact="table">测试表/明细</dd>' in html
    assert '<dd data-fact="format">Excel</dd>' in html
    assert '<dd data-fact="unit">东城一组 East Team 1</dd>' in html
    assert '<dd data-fact="period">2026-11-01 至 2026-11-30</dd>' in html
    assert '<dd class="num" data-fact="rows">约 120 行</dd>' in html
    assert "开始导出" in html
    fields = _fields(html)
    assert {k: fields[k] for k in ("table", "format", "unit", "from", "to")} == {
        "table": "test_rows", "format": "xlsx", "unit": str(unit("team-east-1")),
        "from": "2026-11-01", "to": "2026-11-30",
    }  # fmt: skip
    assert fields["once"]
    assert fields["_csrf_token"]

    # Without its one-time token (a hand-made request) nothing is queued.
    bare = {k: v for k, v in fields.items() if k != "once"}
    refused = await console.post(NEW, data=bare, headers={"Origin": ORIGIN})
    assert refused.status_code == 400
    assert await _exports(db) == 0

    # 开始导出: queued once, and its progress page.
    started = await console.post(NEW, data=fields, headers={"Origin": ORIGIN})
    assert started.status_code == 303, started.text
    progress = started.headers["location"]
    assert re.fullmatch(r"/console/exports/[0-9a-f-]{36}", progress)
    assert await _exports(db) == 1
    assert "排队中" in (await console.get(progress)).text

    # The same form sent again (a double click, a reload of the POST): nothing more, a page
    # linking to the export it started.
    again = await console.post(NEW, data=fields, headers={"Origin": ORIGIN})
    assert again.status_code == 409
    assert "已经提交过" in again.text
    assert f'href="{progress}"' in again.text
    # The same export asked for again from a fresh page joins the one queued.
    joined = await start(console, QUERY)
    assert joined.headers["location"] == progress
    assert await _exports(db) == 1


async def test_a_small_export_still_downloads_from_the_link_and_from_the_form(
    make_console: Any,
    rows: Rows,
    db: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    got = await console.get(f"{NEW}?{QUERY.replace('xlsx', 'csv')}")
    assert got.status_code == 200
    assert read_csv(got.content)[0] == HEADER
    # Sent from a confirmation page drawn while it was large: the file at once, as often as asked.
    fields = {
        "table": "test_rows", "format": "csv", "unit": str(unit("team-east-1")),
        "from": "2026-11-01", "to": "2026-11-30", "once": once.new_token(),
    }  # fmt: skip
    token = re.search(r'name="_csrf_token" value="([^"]+)"', (await console.get(NEW)).text)
    assert token is not None
    for _ in range(2):
        sent = await post_form(console, NEW, fields, token=token.group(1))
        assert sent.status_code == 200, sent.text
        assert "attachment" in sent.headers["content-disposition"]
        assert len(read_csv(sent.content)) == 1 + rows.size
    assert await _exports(db) == 0


async def test_without_a_table_the_page_offers_the_units_tables_to_export(
    make_console: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get(NEW)
    assert page.status_code == 200, page.text
    assert "导出数据" in page.text
    assert '<option value="rm_progress">客户经理任务完成</option>' in page.text
    assert '<option value="rm_tasks"' not in page.text  # one RM's tables come from their page
    fields = _fields(page.text)
    assert fields["unit"] == str(unit("branch-east"))
    chosen = {**fields, "table": "rm_progress", "format": "csv", "from": "2026-11-01",
              "to": "2026-11-30"}  # fmt: skip
    got = await console.post(NEW, data=chosen, headers={"Origin": ORIGIN})
    assert got.status_code == 200, got.text
    assert read_csv(got.content)[0][:3] == ["排名", "客户经理编号", "客户经理"]

"""The audit trail in a real browser: compliance opens 审计日志 from the navigation, reads the
events (their own sign-in first), narrows them with the filter form, downloads the CSV (which
the trail then lists as 导出审计日志). Screenshots go to tests/artifacts/console/audit-*.png."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.browser import settled, sideways

pytestmark = pytest.mark.usefixtures("demo_bank")

BROCHURE = uuid.UUID("0195f0a0-0000-7000-8000-00000000b001")


async def arrange(db: Any) -> None:
    """A morning of events: a brochure approved, an export, a failed sign-in, a 360° view."""
    now = datetime.now(UTC).replace(microsecond=0)
    people = {r["login"]: r["id"] for r in await db.fetch("select id, login from users")}
    rows = [
        (now - timedelta(hours=3), "compliance", "brochure.approved", f"brochure:{BROCHURE}",
         "10.1.2.3", {"version": 2, "content_hash": "9f2c41d0"}),
        (now - timedelta(hours=2), "bh.east", "export.downloaded", "export_table:tasks",
         "10.20.1.15", {"table": "tasks", "format": "xlsx", "rows": 412, "direct": True,
                        "filters": {"from": "2026-11-01", "to": "2026-11-30"}}),
        (now - timedelta(hours=1), None, "login_failed", "device:web-8f1c2a", "192.0.2.7",
         {"reason": "wrong_password"}),
        (now - timedelta(minutes=30), "rm01", "customer_viewed",
         "customer:0195f0a0-0000-7000-8000-00000000c001", "10.20.3.4", {}),
    ]  # fmt: skip
    for at, who, action, subject, ip, detail in rows:
        await db.execute(
            """insert into audit_events (occurred_at, actor_id, action, subject, client_ip, detail)
               values ($1, $2, $3, $4, $5::inet, $6::jsonb)""",
            at, people.get(who), action, subject, ip, json.dumps(detail),
        )  # fmt: skip


async def test_compliance_reads_filters_and_exports_the_audit_trail(
    page: Any, sign_in: Any, shot: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await arrange(db)
    await sign_in(page, "compliance")
    nav = page.get_by_role("navigation", name="主导航")
    await nav.get_by_role("link", name="审计日志").click()
    await settled(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")
    rows = page.locator("table.audit-table tbody tr")
    await expect(rows).to_have_count(5)  # the four above and compliance's own sign-in
    await expect(rows.first).to_contain_text("登录")
    await expect(rows.first).to_contain_text("compliance")
    await expect(rows.nth(2)).to_contain_text("系统")
    await expect(rows.nth(2)).to_contain_text("登录失败")
    await expect(rows.nth(4)).to_contain_text("批准宣传册")
    await expect(rows.nth(4).get_by_role("link", name=str(BROCHURE))).to_have_attribute(
        "href", f"/console/brochures/{BROCHURE}"
    )
    assert await sideways(page) == []
    await shot(page, "audit-trail")

    form = page.get_by_role("search", name="筛选审计记录")
    await form.get_by_label("操作类型").select_option("export.downloaded")
    await form.get_by_role("button", name="筛选").click()
    await settled(page)
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("下载导出文件")
    await expect(rows.first).to_contain_text("412")
    await expect(page.get_by_role("link", name="清除条件")).to_be_visible()
    await shot(page, "audit-trail-filtered", sizes=("desktop",))

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="导出 CSV").click()
    download = await waiting.value
    path = await download.path()
    with open(path, "rb") as file:  # noqa: ASYNC230 - a small local file
        body = file.read()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2
    assert "下载导出文件" in lines[1]

    await page.get_by_role("link", name="清除条件").click()
    await settled(page)
    await expect(rows.first).to_contain_text("导出审计日志")
    await expect(rows.first).to_contain_text("export.downloaded")  # the filter it was made with

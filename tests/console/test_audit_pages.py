"""The audit trail in the console (/console/audit, 审计日志): compliance and admins see the whole
bank's events newest first (time in the bank's zone, actor or 系统, the action in words, the
object linked where the reader may open it, the address, the detail), filter them with a GET
form, page through them, and download them as CSV (BOM, formula-safe), which is itself audited.
Other roles get the 404 page, as for any section not theirs."""

from __future__ import annotations

import csv
import html as html_text
import io
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.console.brochure_data import text_of
from tests.console.conftest import signed_in
from tests.console.test_pages import console_page, nav_links
from workbench.audit import console as audit_console

pytestmark = pytest.mark.usefixtures("demo_bank")

PAGE = "/console/audit"
CSV = "/console/audit/events.csv"
BROCHURE = uuid.UUID("0195f0a0-0000-7000-8000-00000000b001")


async def user_id(db: Any, login: str) -> uuid.UUID:
    found: uuid.UUID = await db.fetchval("select id from users where login = $1", login)
    return found


async def event(db: Any, at: datetime, actor: str | None, action: str, subject: str | None,
                ip: str | None, detail: dict[str, Any]) -> int:  # fmt: skip
    actor_id = await user_id(db, actor) if actor else None
    made: int = await db.fetchval(
        """insert into audit_events (occurred_at, actor_id, action, subject, client_ip, detail)
           values ($1, $2, $3, $4, $5::inet, $6::jsonb) returning id""",
        at, actor_id, action, subject, ip, json.dumps(detail),
    )  # fmt: skip
    return made


async def arrange(db: Any) -> dict[str, int]:
    admin = await user_id(db, "admin")
    return {
        # 23:30 on 1 March in Shanghai
        "approved": await event(db, datetime(2026, 3, 1, 15, 30, tzinfo=UTC), "compliance",
                                "brochure.approved", f"brochure:{BROCHURE}", "10.1.2.3",
                                {"version": 2}),
        "user": await event(db, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "admin", "user_updated",
                            f"user:{admin}", "10.7.7.7", {"fields": ["name", "role"]}),
        "failed": await event(db, datetime(2026, 3, 2, 2, 0, tzinfo=UTC), None, "login_failed",
                              "device:device-00000042", "192.0.2.7", {"reason": "wrong"}),
        # A kind the page has no words for, and text a spreadsheet would run.
        "odd": await event(db, datetime(2026, 3, 3, 1, 0, tzinfo=UTC), "bh.east", "-cmd.x",
                           "export_table:tasks", None, {"note": "=HYPERLINK(\"http://x\")"}),
    }  # fmt: skip


@pytest.mark.parametrize("who", ["bh.east", "marketing"])
async def test_other_roles_have_no_audit_section_and_get_the_404_page(console, who):
    await signed_in(console, who)
    home = console_page(await console.get("/console"), 200)
    assert PAGE not in nav_links(home)
    for path in (PAGE, CSV):
        html = console_page(await console.get(path), 404)
        assert "页面不存在" in html


async def test_compliance_reads_the_trail_newest_first_in_words(console, db):
    ids = await arrange(db)
    await signed_in(console, "compliance")
    home = console_page(await console.get("/console"), 200)
    assert nav_links(home) == ["/console", "/console/brochures", PAGE]
    assert "审计日志" in home

    html = console_page(await console.get(PAGE, params={"to": "2026-03-03"}), 200)
    assert 'aria-current="page"' in html.split(f'href="{PAGE}"')[1][:40]
    rows = re.findall(r"<tr>\s*<td class=\"audit-time\">.*?</tr>", html, re.S)
    assert len(rows) == 4
    order = [text_of(r) for r in rows]
    assert order[0].startswith("2026-03-03 09:00:00")  # newest first, in Shanghai time
    assert order[3].startswith("2026-03-01 23:30:00")
    assert "-cmd.x" in order[0]  # no words for it: its kind
    assert "登录失败（账号或密码错误）" in order[1]
    assert "系统" in order[1]  # no one signed in
    assert "192.0.2.7" in order[1]
    assert "device-00000042" in order[1]
    assert "修改用户" in order[2]
    assert '<dt>fields</dt><dd>["name","role"]</dd>' in html_text.unescape(rows[2])
    assert "批准宣传册" in order[3]
    assert "compliance" in order[3]
    assert "<dt>version</dt><dd>2</dd>" in rows[3]
    # The brochure links to its page (compliance may open it); a user's page is admins' only.
    assert f'href="/console/brochures/{BROCHURE}"' in rows[3]
    assert "/console/admin/users/" not in html
    assert f'href="{CSV}?to=2026-03-03"' in html
    assert ids  # every arranged event was listed above

    console.cookies.clear()
    await signed_in(console, "admin")
    admin_html = console_page(await console.get(PAGE, params={"to": "2026-03-03"}), 200)
    assert f'href="/console/admin/users/{await user_id(db, "admin")}/edit"' in admin_html


async def test_filters_are_a_get_form_and_pages_follow_their_links(console, db, monkeypatch):
    ids = await arrange(db)
    await signed_in(console, "compliance")
    html = console_page(await console.get(PAGE), 200)
    form = re.search(r'<form class="audit-filters" method="get" action="/console/audit".*?</form>',
                     html, re.S)  # fmt: skip
    assert form is not None
    for name in ("from", "to", "actor", "kind", "object"):
        assert f'name="{name}"' in form.group(0)
    assert '<option value="brochure.approved">批准宣传册</option>' in form.group(0)
    assert '<option value="audit.exported">导出审计日志</option>' in form.group(0)

    async def shown(**params: str) -> list[str]:
        page = console_page(await console.get(PAGE, params=params), 200)
        return re.findall(r'<time datetime="([^"]+)"', page)

    assert await shown(**{"from": "2026-03-02", "to": "2026-03-02"}) == [
        "2026-03-02T02:00:00+00:00", "2026-03-02T01:00:00+00:00"
    ]  # fmt: skip
    assert await shown(actor="ADMIN", to="2026-03-03") == ["2026-03-02T01:00:00+00:00"]
    assert await shown(kind="login_failed") == ["2026-03-02T02:00:00+00:00"]
    assert await shown(object=str(BROCHURE)) == ["2026-03-01T15:30:00+00:00"]
    kept = console_page(await console.get(PAGE, params={"kind": "-cmd.x"}), 200)
    assert '<option value="-cmd.x" selected>-cmd.x</option>' in kept  # a kind of no words

    nobody = console_page(await console.get(PAGE, params={"actor": "nobody"}), 200)
    assert "没有登录名为“nobody”的员工" in nobody
    none = console_page(await console.get(PAGE, params={"to": "2000-01-01"}), 200)
    assert "没有符合条件的记录" in none
    assert 'href="/console/audit">查看全部记录' in none

    backwards = {"from": "2026-03-05", "to": "2026-03-01", "kind": "login"}
    bad = console_page(await console.get(PAGE, params=backwards), 422)
    assert "时间范围无效" in bad
    assert "结束日期不能早于开始日期" in bad
    assert '<input type="hidden" name="kind" value="login">' in bad
    typo = console_page(await console.get(PAGE, params={"from": "3月1日"}), 422)
    assert "日期格式应为" in typo

    monkeypatch.setattr(audit_console, "PAGE_ROWS", 2)
    first = console_page(await console.get(PAGE, params={"to": "2026-03-03"}), 200)
    assert re.findall(r'<time datetime="([^"]+)"', first) == [
        "2026-03-03T01:00:00+00:00", "2026-03-02T02:00:00+00:00"
    ]  # fmt: skip
    next_url = re.search(r'<a class="button button-quiet" href="([^"]+)"><span>下一页', first)
    assert next_url is not None
    second_url = next_url.group(1).replace("&amp;", "&")
    assert second_url.startswith(f"{PAGE}?to=2026-03-03&cursor=")
    second = console_page(await console.get(second_url), 200)
    assert re.findall(r'<time datetime="([^"]+)"', second) == [
        "2026-03-02T01:00:00+00:00", "2026-03-01T15:30:00+00:00"
    ]  # fmt: skip
    assert f'href="{PAGE}?to=2026-03-03"><svg' in second or "回到第一页" in second
    assert "下一页" not in second
    mangled = console_page(await console.get(PAGE, params={"cursor": "nonsense"}), 200)
    assert "审计日志" in mangled  # the first page
    assert len(ids) == 4


async def test_the_csv_holds_the_filtered_events_formula_safe_and_is_itself_audited(console, db):
    ids = await arrange(db)
    await db.execute("update users set name = '=cmd|''/c calc''!A1' where login = 'bh.east'")
    await signed_in(console, "compliance")
    got = await console.get(CSV, params={"from": "2026-03-01", "to": "2026-03-03"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-disposition"].startswith('attachment; filename="audit-')
    assert got.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Chinese
    lines = list(csv.reader(io.StringIO(got.content[3:].decode("utf-8"), newline="")))
    assert lines[0] == ["编号", "时间", "操作人", "登录名", "操作", "类型代码", "对象类型",
                        "对象编号", "IP 地址", "详情"]  # fmt: skip
    body = lines[1:]
    assert [int(r[0]) for r in body] == [ids["odd"], ids["failed"], ids["user"], ids["approved"]]
    odd, failed, _, approved = body
    assert odd[1] == "2026-03-03 09:00:00"  # the bank's time zone
    assert odd[2] == "'=cmd|'/c calc'!A1"  # a name that would run as a formula: quoted
    assert odd[4:6] == ["'-cmd.x", "'-cmd.x"]  # so is a kind starting with "-"
    assert json.loads(odd[9]) == {"note": '=HYPERLINK("http://x")'}  # inside JSON: inert
    assert failed[2:4] == ["系统", ""]
    assert failed[6:9] == ["设备", "device-00000042", "192.0.2.7"]
    assert approved[2:9] == [approved[2], "compliance", "批准宣传册", "brochure.approved",
                             "宣传册", str(BROCHURE), "10.1.2.3"]  # fmt: skip
    assert json.loads(approved[9]) == {"version": 2}

    recorded = await db.fetchrow(
        """select a.actor_id, a.subject, host(a.client_ip) as ip, a.detail::text as detail
             from audit_events a where a.action = 'audit.exported'"""
    )
    assert recorded is not None
    assert recorded["actor_id"] == await user_id(db, "compliance")
    assert recorded["subject"] == "audit_events"
    assert recorded["ip"]
    assert json.loads(recorded["detail"]) == {
        "format": "csv", "rows": 4, "from": "2026-03-01", "to": "2026-03-03",
    }  # fmt: skip

    # The export is on the page as any event, in words.
    html = console_page(await console.get(PAGE, params={"kind": "audit.exported"}), 200)
    assert "导出审计日志" in html
    assert "<dt>rows</dt><dd>4</dd>" in html


async def test_too_many_events_for_one_file_is_a_page_saying_so(console, db, monkeypatch):
    from workbench.audit import service

    await arrange(db)
    monkeypatch.setattr(service, "EXPORT_LIMIT", 3)
    monkeypatch.setattr(service, "EXPORT_BATCH", 2)
    await signed_in(console, "compliance")
    html = console_page(await console.get(CSV, params={"to": "2026-03-03"}), 422)
    assert "记录太多，无法导出" in html
    exports = "select count(*) from audit_events where action = 'audit.exported'"
    assert await db.fetchval(exports) == 0
    fine = await console.get(CSV, params={"to": "2026-03-02"})
    assert fine.status_code == 200
    assert len(fine.content.decode("utf-8-sig").strip().splitlines()) == 4  # header and 3

"""What the dashboard, funnel and brochure pages call things, as a product-owner review asked:
head office's rows below it are 机构 (its branches), a branch's are 团队; a customer whose name
the reader sees no part of is "客户（姓名已隐藏）", not a lone "*"; a low score says its scale
("5/10", "2/5") in sight and in words; a share never opened has no dwell ("—") and whole minutes
read "2 分钟"; a funnel's first column is named by its rows (客户经理, 机构, 宣传册) and its
numbers are headed as numbers; a brochure's edit page is 编辑 whatever its state."""

from __future__ import annotations

import html as markup
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.brochure_data import open_desk, page_image
from tests.console.conftest import signed_in
from tests.console.test_dashboard_pages import demo  # noqa: F401
from tests.tasks_data import user
from tests.workbench.funnels.conftest import add_brochure, add_share, add_visitor
from workbench.dashboard.console import dwell_text, low_score_badge, shown_customer

TZ = ZoneInfo("Asia/Shanghai")
HIDDEN = "客户（姓名已隐藏）"
# A low score's badge: scale, accessible label, the score and its scale in sight.
BADGE = re.compile(
    r'<span class="dash-low-score dash-low-(nps|rating)" role="img" aria-label="([^"]+)"'
    r' title="[^"]+">(\d+)<small>(/\d+)</small></span>'
)


def _section(html: str, title_id: str) -> str:
    start = html.index(f'id="{title_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def _headers(table_html: str) -> list[str]:
    head = table_html[table_html.index("<thead>") : table_html.index("</thead>")]
    return [markup.unescape(re.sub(r"<[^>]+>", "", h)).strip()
            for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]  # fmt: skip


@pytest.mark.usefixtures("demo")
async def test_the_dashboard_names_rows_customers_and_scores_as_they_are(
    make_console: Any,
) -> None:
    admin = await make_console()
    await signed_in(admin, "admin")
    page = await admin.get("/console/dashboard")  # head office: its rows are its branches
    assert page.status_code == 200, page.text
    below = _section(page.text, "teams-title")
    assert "下级机构" in below
    assert "下级团队" not in page.text
    assert _headers(below)[:3] == ["排名", "机构", "客户经理"]
    assert "东城支行 East Branch" in below
    assert "点机构名称进入该机构的看板" in below

    # Latest low scores: the admin sees no part of a name, and is told so in words.
    lows = _section(page.text, "sat-title")
    whos = re.findall(r'<span class="dash-low-who">([^<]*)', lows)
    assert whos, "the demo has low scores"
    assert set(whos) == {f"{HIDDEN} "}
    # Every score with its scale, in sight and for a screen reader; both scales are there.
    badges = BADGE.findall(lows)
    assert len(badges) == lows.count('class="dash-low"')
    assert {scale for scale, *_ in badges} == {"nps", "rating"}
    for scale, label, score, of in badges:
        words = "0–10 分" if scale == "nps" else "1–5 分"
        assert (of, label) == ("/10" if scale == "nps" else "/5", f"{score} 分（{words}）")

    # A branch: its rows are teams, and its head sees masked names (never the hidden label).
    east = await make_console()
    await signed_in(east, "bh.east")
    branch = await east.get("/console/dashboard")
    assert branch.status_code == 200
    teams = _section(branch.text, "teams-title")
    assert "下级团队" in teams
    assert "下级机构" not in branch.text  # the unit picker above says 下级团队 too
    assert _headers(teams)[:2] == ["排名", "团队"]
    assert "点团队名称进入该团队的看板" in teams
    whos = re.findall(r'<span class="dash-low-who">([^<]*)', _section(branch.text, "sat-title"))
    assert whos
    assert HIDDEN not in branch.text
    assert all(re.fullmatch(r"[^*\s]\S*\*\S* ", who) for who in whos), whos  # 叶*娟


async def test_an_rms_shares_say_no_dwell_when_never_opened_and_whole_minutes(
    make_console: Any, db: Any, demo_bank: Any
) -> None:
    now = datetime.now(UTC)
    await db.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    stays = {"未打开": None, "停留两分钟": 120_000, "停留一分半": 90_000, "停留一小时": 3_725_000,
             "停留片刻": 400}  # fmt: skip
    for n, (title, dwell_ms) in enumerate(stays.items()):
        share = await add_share(
            db, rm="rm01", brochure=await add_brochure(db, title),
            created_at=now - timedelta(hours=3 + n),
        )  # fmt: skip
        if dwell_ms is not None:
            await add_visitor(db, share, f"v{n}", dwell_ms=dwell_ms, at=now - timedelta(hours=2))

    console = await make_console()
    await signed_in(console, "bh.east")
    today = now.astimezone(TZ).date()
    page = await console.get(
        f"/console/dashboard/rms/{user('rm01')}",
        params={"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()},
    )
    assert page.status_code == 200, page.text
    shares = _section(page.text, "shares-title")
    assert _headers(shares)[6] == "停留"
    dwell = {}
    for row in re.findall(r"<tr>(.*?)</tr>", shares[shares.index("<tbody>") :], re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]  # fmt: skip
        dwell[cells[0]] = cells[6]
    assert dwell == {"未打开": "—", "停留两分钟": "2 分钟", "停留一分半": "1 分 30 秒",
                     "停留一小时": "1 小时 2 分钟", "停留片刻": "0 秒"}  # fmt: skip


def test_the_words_of_the_dashboard_rows() -> None:
    assert [dwell_text(s, 1) for s in (0, 59, 60, 61, 120, 3599, 3600, 3660)] == [
        "0 秒", "59 秒", "1 分钟", "1 分 1 秒", "2 分钟", "59 分 59 秒", "1 小时", "1 小时 1 分钟",
    ]  # fmt: skip
    assert dwell_text(0, 0) == "—"
    assert [shown_customer(m) for m in ("*", "***", "王*", None)] == [HIDDEN, HIDDEN, "王*", None]
    assert low_score_badge(5, "nps") == {"score": "5", "of": "/10", "label": "5 分（0–10 分）"}
    assert low_score_badge(2, "rating") == {"score": "2", "of": "/5", "label": "2 分（1–5 分）"}


@pytest.mark.usefixtures("demo")
async def test_a_funnels_first_column_is_named_by_its_rows(make_console: Any) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    for group_by, named in (("rm", "客户经理"), ("sub_unit", "机构"), ("brochure", "宣传册")):
        page = await console.get("/console/funnels", params={"group_by": group_by})
        assert page.status_code == 200, page.text
        table = page.text[page.text.index('class="table funnel-groups"') :]
        assert _headers(table) == [named, "分享", "打开", "停留 ≥ 10 秒", "点击", "转化", "访客",
                                   "转化笔数"], group_by  # fmt: skip
        head = table[: table.index("</thead>")]
        assert head.count('class="num"') == 7  # every column of numbers, headed as one
    brochure = re.search(r'href="(/console/funnels/brochures/[^"?]+)', page.text)
    assert brochure is not None
    for group_by, named in (("rm", "客户经理"), ("sub_unit", "机构")):
        one = await console.get(brochure.group(1), params={"group_by": group_by})
        assert one.status_code == 200, one.text
        table = one.text[one.text.index('class="table funnel-groups"') :]
        assert _headers(table)[0] == named


async def test_a_rejected_brochure_is_edited_with_the_same_word_as_a_draft(
    make_console: Any, settings: Any, tmp_path: Path, demo_bank: Any
) -> None:
    desk = await open_desk(make_console, settings, tmp_path)
    draft = await desk.upload(page_image(), title="草稿一本")
    rejected = await desk.upload(page_image((120, 40, 40)), title="退回一本")
    await desk.act(rejected["id"], "submit", "marketing")
    await desk.act(rejected["id"], "reject", "compliance", reason="话术需补充风险提示")
    await desk.sign_in("marketing")
    html = await desk.page("/console/brochures")
    actions = {
        m.group(3): (m.group(2), m.group(1))
        for m in re.finditer(
            r'<a class="button button-\w+" href="([^"]+)">([^<]+)'
            r'<span class="visually-hidden">：([^<]+)</span></a>',
            html,
        )
    }
    assert actions["草稿一本"] == ("编辑", f"/console/brochures/{draft['id']}/edit")
    assert actions["退回一本"] == ("编辑", f"/console/brochures/{rejected['id']}/edit")
    assert "修改<span" not in html

"""The team dashboard's console pages on the demo bank: a branch head sees their subtree only
(RMs, teams, drill-down ids), an admin any unit; units and RMs outside are 404, a bad period a
clear 422 page; customers only ever masked; every table links its CSV and XLSX export."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import signed_in
from tests.tasks_data import unit, user
from tests.workbench.workorders.wo_setup import restore_root_causes
from workbench.brochures import demo as brochure_demo
from workbench.brochures.demo import seed_demo_brochures
from workbench.dashboard import chartjs
from workbench.dashboard import console as dashboard_console
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import USERS, demo_customer_rows, seed_demo_customers, seed_demo_tasks
from workbench.shares.demo import seed_demo_shares
from workbench.surveys.demo import seed_demo_surveys
from workbench.workorders.demo import seed_demo_work_orders

EAST_RMS = [u.name for u in USERS if u.unit.startswith("team-east")]
WEST_RMS = [u.name for u in USERS if u.unit.startswith("team-west")]


async def _no_image(raw: bytes, caller: Any) -> bytes:
    """The brochures' pages are not looked at here: no image is drawn, checked or stored."""
    return hashlib.sha256(raw).digest()


def _no_artwork(sheet: Any, count: int) -> list[bytes]:
    return [f"{sheet.title}-{n}".encode() for n in range(count)]


async def seed_whole_demo(settings: Any, db: Any) -> None:
    """What `workbench dev` seeds after the org tree: customers, tasks, brochures (without
    their images: they take seconds to draw), a month of shares, surveys with answers, work
    orders."""
    await use_json_codecs(db)
    await restore_root_causes(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
        await seed_demo_brochures(
            db, store_image=_no_image, bank=settings.bank_name, now=datetime.now(UTC)
        )
    now = datetime.now(UTC)
    async with db.transaction():
        await seed_demo_shares(db, vault=vault, now=now)
        await seed_demo_surveys(db, vault=vault, now=now)
        await seed_demo_work_orders(db, vault=vault, now=now)


@pytest.fixture
async def demo(settings: Any, db: Any, demo_bank: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(brochure_demo.artwork, "pages", _no_artwork)
    await seed_whole_demo(settings, db)


def full_names() -> set[str]:
    """The demo customers' full names (two characters or more: a one-character given name
    masked is the surname and a star)."""
    return {row.name for row in demo_customer_rows()}


def assert_masked(html: str) -> None:
    text = re.sub(r"<[^>]+>", " ", html)
    leaked = [name for name in full_names() if len(name) >= 3 and name in text]
    assert leaked == [], f"unmasked customer names on the page: {leaked[:5]}"


@pytest.mark.usefixtures("demo")
async def test_a_branch_head_sees_their_branch_and_drills_down(make_console: Any) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get("/console/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    # Their branch, its two teams, its four RMs; nothing of the West.
    assert "东城支行 East Branch" in html
    assert "东城一组 East Team 1" in html
    assert "东城二组 East Team 2" in html
    assert all(name in html for name in EAST_RMS)
    assert not any(name in html for name in WEST_RMS)
    assert "西城" not in html
    assert "West Branch" not in html
    assert_masked(html)
    # Key figures, charts' data and the exports of every table with the page's filters.
    assert re.search(r'data-kpi="completion">\d+\.\d%<', html), html
    assert '<script type="application/json" id="dashboard-data">' in html
    assert ('id="chart-rms"' in html) == chartjs.available()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = f"from={(today - timedelta(days=29)).isoformat()}&amp;to={today.isoformat()}"
    for table in ("rm_progress", "teams", "weekly_trend", "share_funnel", "low_scores",
                  "work_orders", "tasks"):  # fmt: skip
        for fmt in ("csv", "xlsx"):
            link = (
                f"/console/exports/new?table={table}&amp;format={fmt}"
                f"&amp;unit={unit('branch-east')}&amp;{period}"
            )
            assert link in html, link
    assert 'href="/console/reports"' in html
    assert 'aria-current="true">最近 30 天<' in html

    # A team: the same dashboard for that unit, ranks within it.
    team = await console.get("/console/dashboard", params={"unit": str(unit("team-east-2"))})
    assert team.status_code == 200
    assert "李娜" in team.text
    assert "张伟" not in team.text
    ranks = re.findall(r'<span class="dash-rank[^"]*">(\d+)</span>', team.text)
    assert ranks
    assert min(int(r) for r in ranks) == 1
    assert max(int(r) for r in ranks) <= 2

    # One RM: tasks, shares, work orders, masked; their exports carry rm=.
    rm = await console.get(
        f"/console/dashboard/rms/{user('rm01')}",
        params={"unit": str(unit("branch-east")), "from": "2026-11-01", "to": "2026-12-03"},
    )
    assert rm.status_code == 200, rm.text
    assert "张伟" in rm.text
    assert f"table=rm_shares&amp;format=csv&amp;unit={unit('branch-east')}" in rm.text
    assert f"rm={user('rm01')}" in rm.text
    assert_masked(rm.text)
    # Its shares' CSV link answers the file: one row per share in the page's table (the same
    # period and RM), customers masked there too.
    link = re.search(r'href="(/console/exports/new\?table=rm_shares&amp;format=csv[^"]*)"', rm.text)
    assert link is not None
    csv_file = await console.get(link.group(1).replace("&amp;", "&"))
    assert csv_file.status_code == 200, csv_file.text
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"  # one charset
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    shares = rm.text[rm.text.index('id="shares-title"') : rm.text.index('id="wo-title"')]
    assert len(lines) == shares.count("<tr>")  # the header and a row per share
    assert_masked(csv_file.content.decode("utf-8-sig"))

    # Outside the subtree: 404 pages, by unit and by RM (also through another unit's id).
    for params in ({"unit": str(unit("branch-west"))}, {"unit": str(unit("head-office"))},
                   {"unit": "not-a-unit"}):  # fmt: skip
        outside = await console.get("/console/dashboard", params=params)
        assert outside.status_code == 404, params
        assert "机构不存在" in outside.text
    west_rm = await console.get(f"/console/dashboard/rms/{user('rm05')}")
    assert west_rm.status_code == 404
    assert "客户经理不存在" in west_rm.text
    in_other_team = await console.get(
        f"/console/dashboard/rms/{user('rm01')}", params={"unit": str(unit("team-east-2"))}
    )
    assert in_other_team.status_code == 404

    # A bad period: a clear page (422) with a form to pick another, never a 500.
    for params, reason in (
        ({"from": "2026-12-01", "to": "2026-11-01"}, "结束日期不能早于开始日期"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "最长 366 天"),
        ({"from": "yesterday"}, "日期格式"),
    ):
        bad = await console.get("/console/dashboard", params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert "时间范围无效" in bad.text
        assert reason in bad.text, params
        assert 'name="from"' in bad.text


@pytest.mark.usefixtures("demo")
async def test_an_admin_picks_any_unit(make_console: Any, monkeypatch: Any) -> None:
    console = await make_console()
    await signed_in(console, "admin")
    page = await console.get("/console/dashboard")
    assert page.status_code == 200
    assert "总行 Head Office" in page.text
    assert all(name in page.text for name in EAST_RMS + WEST_RMS)
    assert "东城支行 East Branch" in page.text
    assert "西城支行 West Branch" in page.text
    assert_masked(page.text)
    west = await console.get(
        "/console/dashboard",
        params={"unit": str(unit("branch-west")), "from": "2026-11-01", "to": "2026-11-30"},
    )
    assert west.status_code == 200
    assert all(name in west.text for name in WEST_RMS)
    assert not any(name in west.text for name in EAST_RMS)
    assert 'aria-current="page">西城支行 West Branch<' in west.text  # the unit path
    assert "总行 Head Office</a>" in west.text
    rm = await console.get(f"/console/dashboard/rms/{user('rm05')}")
    assert rm.status_code == 200
    assert_masked(rm.text)
    # Not for marketing (the section is for branch heads and admins).
    other = await make_console()
    await signed_in(other, "marketing")
    assert (await other.get("/console/dashboard")).status_code == 404

    # A large unit: its child units to pick from a list, its best and last RMs in the chart.
    monkeypatch.setattr(dashboard_console, "CHILD_CHIPS", 1)
    monkeypatch.setattr(dashboard_console, "CHART_RMS", 4)
    large = await console.get("/console/dashboard")
    assert f'<option value="{unit("branch-west")}">西城支行 West Branch</option>' in large.text
    data = re.search(r'id="dashboard-data">(.*?)</script>', large.text)
    assert data is not None
    drawn = json.loads(data.group(1))["rms"]["labels"]
    table = re.findall(
        r'class="dash-name" href="/console/dashboard/rms/[^"]+">([^<]+)<', large.text
    )
    assert len(table) == 8
    assert drawn == table[:2] + table[-2:]
    assert "图中为排名前 2 位和后 2 位，表格列出全部 8 位" in large.text

    # Without the chart library (a build that could not vendor it): every table and a note.
    monkeypatch.setattr(chartjs, "available", lambda *a, **k: False)
    plain = await console.get("/console/dashboard", params={"unit": str(unit("branch-west"))})
    assert plain.status_code == 200
    assert "图表组件未随本次安装生成" in plain.text
    assert "<canvas" not in plain.text
    assert "chart.umd.js" not in plain.text
    assert "陈静" in plain.text  # the RM table is there


def test_the_build_vendors_only_the_pinned_chart_js(tmp_path: Path, monkeypatch: Any) -> None:
    """setup.py's step: a file in place is never fetched again; a tarball that is not the
    pinned one (here: a local one, as offline builds use) writes nothing."""
    monkeypatch.setenv(chartjs.TARBALL_ENV, str(tmp_path / "missing.tgz"))
    empty = tmp_path / "vendor"
    with pytest.raises(chartjs.VendorError):
        chartjs.vendor(empty)  # it would have to fetch, and cannot
    assert not empty.exists()

    forged = tmp_path / "chart.js-4.5.1.tgz"
    with tarfile.open(forged, "w:gz") as archive:
        for member in chartjs.FILES:
            info = tarfile.TarInfo(member)
            info.size = 2
            archive.addfile(info, io.BytesIO(b"//"))
    monkeypatch.setenv(chartjs.TARBALL_ENV, str(forged))
    with pytest.raises(chartjs.VendorError, match="as pinned"):
        chartjs.vendor(empty)
    assert not empty.exists()

    if chartjs.in_place(chartjs.STATIC_VENDOR):  # as the project's install left it
        placed = tmp_path / "placed"
        shutil.copytree(chartjs.STATIC_VENDOR, placed)
        assert chartjs.vendor(placed) is False  # the forged tarball is never looked at
        assert chartjs.in_place(placed)

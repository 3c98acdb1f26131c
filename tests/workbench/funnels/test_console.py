"""The funnel pages of the staff console (/console/funnels and its CSV export)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.tasks_data import unit
from tests.workbench.funnels.conftest import add_brochure, add_share, add_visitor

PAGE = "/console/funnels"


async def _history(db):
    now = datetime.now(UTC)
    wm = await add_brochure(db, "=稳享90天")  # a title a spreadsheet would run as a formula
    tech = await add_brochure(db, "科技先锋", product="TECH01")
    for _ in range(3):
        await add_share(db, rm="rm01", brochure=wm, created_at=now - timedelta(days=2))
    opened = await add_share(db, rm="rm01", brochure=tech, created_at=now - timedelta(days=2))
    await add_visitor(db, opened, "v1", dwell_ms=12_000, clicked=True, at=now)
    await add_share(db, rm="rm05", brochure=tech, created_at=now - timedelta(days=2))
    await add_share(db, rm="rm01", brochure=wm, created_at=now - timedelta(days=40))


async def test_marketing_sees_the_funnel_by_brochure_and_exports_it(
    make_console,  # noqa: F811
    bank,
):
    await _history(bank.db)
    console = await make_console()
    await signed_in(console, "marketing")
    assert f'href="{PAGE}"' in (await console.get("/console")).text

    page = await console.get(PAGE)
    assert page.status_code == 200, page.text
    total = page.text.split('aria-label="整体漏斗"')[1]
    assert 'data-step="shared">5<' in total  # the 40-day-old share is outside 30 days
    assert 'data-step="opened">1<' in total
    groups = page.text.split("<tbody>")[1]  # the groups table (the total is a chart)
    assert groups.index("=稳享90天") < groups.index("科技先锋")  # 3 shares before 2

    quarter = await console.get(f"{PAGE}?period=90d&group_by=rm")
    assert 'data-step="shared">6<' in quarter.text
    assert "张伟" in quarter.text
    assert "陈静" in quarter.text

    export = await console.get(f"{PAGE}.csv?group_by=brochure&period=30d")
    # The file is named by the bank days it covers, the last one included (today's).
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    name = re.search(r'filename="([^"]+)"', export.headers["content-disposition"])
    assert name is not None
    first = today - timedelta(days=29)
    assert name.group(1) == f"funnels-brochure-30d-{first:%Y%m%d}-{today:%Y%m%d}.csv"
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"  # one charset
    assert export.headers["cache-control"] == "no-store"  # RMs' names and numbers
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["宣传册"], r["分享"], r["点击"]) for r in rows] == [
        ("'=稳享90天", "3", "0"),
        ("科技先锋", "2", "1"),
    ]


async def test_by_unit_marketing_opens_a_branch_to_its_teams(
    make_console,  # noqa: F811
    bank,
):
    await _history(bank.db)
    console = await make_console()
    await signed_in(console, "marketing")
    branches = await console.get(f"{PAGE}?group_by=sub_unit&period=30d")
    assert branches.status_code == 200, branches.text
    rows = branches.text.split("<tbody>")[1]
    assert rows.index("东城支行 East Branch") < rows.index("西城支行 West Branch")  # 4 before 1
    east = unit_of(rows, "东城支行 East Branch")
    teams = await console.get(east)
    assert teams.status_code == 200, teams.text
    assert "机构：<strong>东城支行 East Branch</strong>" in teams.text
    assert 'data-step="shared">4<' in teams.text.split('aria-label="整体漏斗"')[1]
    assert "东城一组 East Team 1" in teams.text.split("<tbody>")[1]
    assert "西城" not in teams.text.split("<tbody>")[1]
    # The other groupings keep to the branch, and so does its CSV.
    by_rm = await console.get(east.replace("group_by=sub_unit", "group_by=rm"))
    assert "张伟" in by_rm.text
    assert "陈静" not in by_rm.text
    export = await console.get(east.replace(PAGE, f"{PAGE}.csv"))
    listed = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["机构"], r["分享"]) for r in listed] == [("东城一组 East Team 1", "4")]

    head = await make_console()
    await signed_in(head, "bh.west")
    assert (await head.get(east)).status_code == 404  # another branch is not theirs to open


def unit_of(rows: str, label: str) -> str:
    """The link of a unit's row, unescaped."""
    match = re.search(r'<a href="([^"]+)">' + re.escape(label) + "<", rows)
    assert match, label
    return match.group(1).replace("&amp;", "&")


async def test_a_branch_head_sees_their_subtree_and_others_no_page(
    make_console,  # noqa: F811
    bank,
):
    await _history(bank.db)
    console = await make_console()
    await signed_in(console, "bh.west")
    export = await console.get(f"{PAGE}.csv?group_by=rm")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["客户经理"], r["分享"]) for r in rows] == [("陈静", "1")]
    for login in ("compliance",):
        other = await make_console()
        await signed_in(other, login)
        assert (await other.get(PAGE)).status_code == 404
        assert f'href="{PAGE}"' not in (await other.get("/console")).text
    signed_out = await (await make_console()).get(PAGE)
    assert signed_out.status_code == 303


async def test_a_brochure_row_opens_that_brochures_funnel_by_who_shared_it(
    make_console,  # noqa: F811
    bank,
):
    await _history(bank.db)
    console = await make_console()
    await signed_in(console, "marketing")
    page = (await console.get(f"{PAGE}?group_by=brochure&period=30d")).text
    links = re.findall(
        r'<a href="(/console/funnels/brochures/[0-9a-f-]+\?period=30d)">([^<]+)</a>', page
    )
    assert [label for _, label in links] == ["=稳享90天", "科技先锋"]

    tech = await console.get(links[1][0])
    assert tech.status_code == 200, tech.text
    assert "《科技先锋》的分享与转化" in tech.text
    total = tech.text.split('aria-label="整体漏斗"')[1]
    assert 'data-step="shared">2<' in total
    assert 'data-step="opened">1<' in total
    assert 'data-step="clicked">1<' in total
    groups = tech.text.split("<tbody>")[1]
    assert "张伟" in groups  # rm01: the share opened and clicked
    assert "陈静" in groups  # rm05

    export = await console.get(links[1][0].replace("?", "/funnel.csv?group_by=org_unit&"))
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sum(int(r["分享"]) for r in rows) == 2
    assert sum(int(r["点击"]) for r in rows) == 1

    unknown = await console.get(f"{PAGE}/brochures/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert "页面不存在" in unknown.text
    assert (await console.get(f"{PAGE}/brochures/{uuid.uuid4()}/funnel.csv")).status_code == 404


async def test_a_branch_head_sees_a_brochures_shares_of_their_subtree_only(
    make_console,  # noqa: F811
    bank,
):
    await _history(bank.db)
    tech = await bank.db.fetchval(
        "select brochure_id from brochure_versions where title = '科技先锋'"
    )
    console = await make_console()
    await signed_in(console, "bh.west")
    page = await console.get(f"{PAGE}/brochures/{tech}?group_by=rm")
    assert page.status_code == 200, page.text
    total = page.text.split('aria-label="整体漏斗"')[1]
    assert 'data-step="shared">1<' in total
    groups = page.text.split("<tbody>")[1]
    assert "陈静" in groups
    assert "张伟" not in groups
    compliance = await make_console()
    await signed_in(compliance, "compliance")
    assert (await compliance.get(f"{PAGE}/brochures/{tech}")).status_code == 404


async def test_a_brochure_row_of_a_units_list_opens_that_units_shares_of_it(
    make_console,  # noqa: F811
    bank,
):
    """Looking at West Branch by brochure, 科技先锋's row counts rm05's one share; its page (and
    its CSV, and the way back) keeps to West Branch instead of the whole bank's two."""
    await _history(bank.db)
    west = unit("branch-west")
    console = await make_console()
    await signed_in(console, "marketing")
    page = (await console.get(f"{PAGE}?group_by=brochure&period=30d&unit={west}")).text
    row_link = r'<a href="(/console/funnels/brochures/[^"]+)">([^<]+)</a>'
    links = {label: href for href, label in re.findall(row_link, page)}
    href = links["科技先锋"].replace("&amp;", "&")
    assert f"unit={west}" in href
    tech = await console.get(href)
    assert tech.status_code == 200, tech.text
    total = tech.text.split('aria-label="整体漏斗"')[1]
    assert 'data-step="shared">1<' in total
    groups = tech.text.split("<tbody>")[1]
    assert "陈静" in groups
    assert "张伟" not in groups
    assert "西城支行" in tech.text.split("<tbody>")[0]  # says whose shares these are
    assert f"period=30d&amp;unit={west}" in tech.text  # back to the unit's list, chips, CSV
    export = await console.get(href.replace("?", "/funnel.csv?group_by=rm&"))
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sum(int(r["分享"]) for r in rows) == 1

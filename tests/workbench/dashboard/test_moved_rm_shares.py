"""An RM's page and its `rm_shares` export list the shares made from the unit on view only: a
share counts for the unit it was made in (the funnel's rule), so after an admin moves an RM to
another branch the new branch head sees neither the shares of the old branch nor their opens and
dwell, and the table, the export and the key figure 分享 / 打开 / 转化 agree."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import make_console, signed_in
from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import TZ
from tests.workbench.funnels.conftest import add_brochure, add_share, add_visitor

__all__ = ["make_console"]

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = user("rm01")
RM02 = user("rm02")
EAST_TITLE = "东城时期理财"
WEST_TITLE = "西城新品"


def _period() -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    return f"from={today - timedelta(days=6)}&to={today}"


def _key_figure(html: str) -> list[int]:
    """The page's 分享 / 打开 / 转化 as numbers."""
    found = re.search(r'data-kpi="funnel">(.*?)</span>\s*</', html, re.S)
    assert found, html
    return [int(n) for n in re.findall(r'class="dash-kpi-figure">(\d+)', found.group(1))]


def _export(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))[1:]


async def _page(console: Any, rm: Any, unit_key: str | None = None) -> tuple[str, list[Any]]:
    """The RM's page and its shares export for the signed-in branch head."""
    unit_query = f"&unit={unit(unit_key)}" if unit_key else ""
    page = await console.get(f"/console/dashboard/rms/{rm}?{_period()}{unit_query}")
    assert page.status_code == 200, page.text
    export = await console.get(
        f"/console/exports/new?table=rm_shares&format=csv&rm={rm}&{_period()}{unit_query}"
    )
    assert export.status_code == 200, export.text
    return page.text, _export(export.content)


async def test_the_new_branch_sees_none_of_the_shares_made_in_the_old_one(
    make_console: Any, db: Any
) -> None:
    now = datetime.now(UTC)
    await db.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    east_brochure = await add_brochure(db, EAST_TITLE)
    west_brochure = await add_brochure(db, WEST_TITLE)
    for n in range(3):  # rm01 shares while in East Team 1; customers open them
        share = await add_share(
            db, rm="rm01", brochure=east_brochure, created_at=now - timedelta(days=3, hours=n)
        )
        await add_visitor(db, share, f"v{n}", dwell_ms=40_000, at=now - timedelta(days=2))

    console = await make_console()
    admin = await headers_of(console, "admin")
    moved = await console.patch(
        f"/api/v1/admin/users/{RM01}", headers=admin,
        json={"org_unit_id": str(unit("team-west-1"))},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    west_share = await add_share(db, rm="rm01", brochure=west_brochure,
                                 created_at=now - timedelta(hours=2))  # fmt: skip
    await add_visitor(db, west_share, "w1", dwell_ms=5_000, at=now - timedelta(hours=1))

    await signed_in(console, "bh.west")
    html, exported = await _page(console, RM01)
    assert _key_figure(html) == [1, 1, 0]  # the share made in West, opened once
    assert WEST_TITLE in html
    assert EAST_TITLE not in html  # no row of the East Branch's shares, nor their dwell
    assert "40 秒" not in html
    assert [row[0] for row in exported] == [str(west_share)]
    assert [row[1] for row in exported] == [WEST_TITLE]

    # The East Branch keeps its three shares in its funnel, and cannot open rm01 any more.
    east = await make_console()
    await signed_in(east, "bh.east")
    assert (await east.get(f"/console/dashboard/rms/{RM01}?{_period()}")).status_code == 404
    dashboard = await east.get(f"/console/dashboard?{_period()}")
    assert dashboard.status_code == 200, dashboard.text
    assert _key_figure(dashboard.text) == [3, 3, 0]


async def test_within_a_branch_a_team_sees_only_the_shares_made_in_it(
    make_console: Any, db: Any
) -> None:
    now = datetime.now(UTC)
    await db.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    east_brochure = await add_brochure(db, EAST_TITLE)
    west_brochure = await add_brochure(db, WEST_TITLE)
    before = await add_share(db, rm="rm02", brochure=east_brochure,
                             created_at=now - timedelta(days=2))  # fmt: skip
    await add_visitor(db, before, "v1", dwell_ms=3_000, at=now - timedelta(days=1))
    console = await make_console()
    admin = await headers_of(console, "admin")
    moved = await console.patch(
        f"/api/v1/admin/users/{RM02}", headers=admin,
        json={"org_unit_id": str(unit("team-east-2"))},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    after = await add_share(db, rm="rm02", brochure=west_brochure,
                            created_at=now - timedelta(hours=2))  # fmt: skip

    await signed_in(console, "bh.east")
    html, exported = await _page(console, RM02, "team-east-2")
    assert _key_figure(html) == [1, 0, 0]
    assert EAST_TITLE not in html
    assert [row[0] for row in exported] == [str(after)]
    html, exported = await _page(console, RM02, "branch-east")  # the branch holds both
    assert _key_figure(html) == [2, 1, 0]
    assert EAST_TITLE in html
    assert WEST_TITLE in html
    assert [row[0] for row in exported] == [str(after), str(before)]

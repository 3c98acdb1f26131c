"""The admin page of filtered hits in the staff console (/console/tracking/filtered)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import make_console, sign_in_as, signed_in  # noqa: F401
from tests.workbench.tracking.conftest import GOOGLE, SLACK, insert_share
from workbench.tracking import partitions

PAGE = "/console/tracking/filtered"
pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_admins_see_filtered_hits_by_reason_newest_first_by_period(
    make_console,  # noqa: F811
    studio,
    db,
):
    made = await studio.live()
    share_id = await insert_share(db, made["id"], code="Filter0001")
    now = datetime.now(UTC)
    for visitor, ua, verdict, reason, ago in (
        ("g1", GOOGLE, "bot", "crawler list: Googlebot", timedelta(hours=3)),
        ("g2", GOOGLE, "bot", "crawler list: Googlebot", timedelta(hours=30)),
        ("s1", SLACK, "bot", "link preview: Slackbot", timedelta(hours=1)),
        ("f1", "curl/8", "bot", "rate", timedelta(days=10)),
        ("p1", "Mozilla/5.0 (iPhone)", "human", "", timedelta(minutes=5)),
    ):
        await partitions.ensure_month(db, partitions.month_of(now - ago))
        await db.execute(
            "insert into share_hits (received_at, event_id, share_id, visitor_id, type,"
            " user_agent, verdict, reason) values ($1, $2, $3, $4, 'open', $5, $6, $7)",
            now - ago, uuid.uuid4(), share_id, visitor, ua, verdict, reason,
        )  # fmt: skip
    console = await make_console()
    await signed_in(console, "admin")
    home = await console.get("/console")
    assert f'href="{PAGE}"' in home.text  # the admin's menu offers it

    week = await console.get(PAGE)
    assert week.status_code == 200, week.text
    rows = week.text.split("<tbody>")[1].split("</tbody>")[0]
    # Reasons in the console's language, the stored reason in the cell's title.
    assert rows.index("链接预览：Slackbot") < rows.index("爬虫名单：Googlebot")
    assert 'title="link preview: Slackbot"' in rows
    assert "Slackbot-LinkExpanding" in rows  # an example user agent
    assert ">2<" in rows  # Googlebot twice this week
    assert "频率超限" not in rows
    assert "Mozilla/5.0 (iPhone)" not in rows

    day = (await console.get(f"{PAGE}?period=24h")).text
    assert ">1<" in day.split("<tbody>")[1]
    assert ">2<" not in day.split("<tbody>")[1]
    month = (await console.get(f"{PAGE}?period=30d")).text
    assert '<td class="reason" title="rate">频率超限</td>' in month


async def test_other_roles_do_not_get_the_page(make_console, demo_bank):  # noqa: F811
    console = await make_console()
    signed_out = await console.get(PAGE)
    assert signed_out.status_code == 303  # to the sign-in page
    for login in ("marketing", "bh.east", "compliance"):
        console = await make_console()
        await signed_in(console, login)
        response = await console.get(PAGE)
        assert response.status_code == 404, login
        assert f'href="{PAGE}"' not in (await console.get("/console")).text

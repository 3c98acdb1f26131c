"""Which brochures a funnel may name: a brochure's funnel page, its CSV and the brochure labels
of GET /funnels keep to the brochures the caller may see (their staff scope, their catalogue, or
what their own scope shared), never another unit's draft or a version not yet published."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.console.conftest import make_console, sign_in_as, signed_in  # noqa: F401
from tests.tasks_data import unit, user
from tests.workbench.funnels.conftest import add_share
from workbench.ids import uuid7

PAGE = "/console/funnels"
SECRET = "QA 东城未发布草稿 机密"


async def brochure_of(
    db: Any, owner: str, *versions: tuple[str, str, datetime | None], creator: str = "marketing"
) -> uuid.UUID:
    """A brochure owned by the unit `owner` with these (title, status, published_at) versions,
    version 1 first."""
    brochure_id = uuid7()
    await db.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure_id,
        unit(owner),
        user(creator),
    )
    for number, (title, status, published_at) in enumerate(versions, start=1):
        digest = hashlib.sha256(f"{brochure_id}{number}".encode()).digest()
        await db.execute(
            """insert into brochure_versions (brochure_id, version, title, product_code, pages,
                                              content_hash, status, approved_hash, created_by,
                                              published_at)
               values ($1, $2, $3, 'WM90', array['\\x01'::bytea], $4, $5, $6, $7, $8)""",
            brochure_id,
            number,
            title,
            digest,
            status,
            digest if status in ("approved", "published") else None,
            user(creator),
            published_at,
        )
    return brochure_id


async def test_another_branchs_draft_is_the_404_page_for_a_branch_head(make_console, bank):  # noqa: F811
    draft = await brochure_of(bank.db, "branch-east", (SECRET, "draft", None))
    head = await make_console()
    await signed_in(head, "bh.west")
    page = await head.get(f"{PAGE}/brochures/{draft}")
    assert page.status_code == 404
    assert SECRET not in page.text
    assert "页面不存在" in page.text  # the same page as a brochure that does not exist
    assert (await head.get(f"{PAGE}/brochures/{draft}/funnel.csv")).status_code == 404
    # Nor is it the branch's own head's: a draft is in no catalogue and nobody shared it.
    east = await make_console()
    await signed_in(east, "bh.east")
    assert (await east.get(f"{PAGE}/brochures/{draft}")).status_code == 404
    # Marketing of the bank sees it, as in its brochure list.
    staff = await make_console()
    await signed_in(staff, "marketing")
    mine = await staff.get(f"{PAGE}/brochures/{draft}")
    assert mine.status_code == 200, mine.text
    assert SECRET in mine.text
    assert (await staff.get(f"{PAGE}/brochures/{draft}/funnel.csv")).status_code == 200


async def test_a_live_brochure_of_the_catalogue_opens_before_anyone_shared_it(
    make_console,  # noqa: F811
    bank,
):
    live = await brochure_of(
        bank.db, "head-office", ("稳享90天", "published", datetime.now(UTC) - timedelta(days=1))
    )
    head = await make_console()
    await signed_in(head, "bh.west")
    page = await head.get(f"{PAGE}/brochures/{live}")
    assert page.status_code == 200, page.text
    assert "《稳享90天》的分享与转化" in page.text


async def test_a_withdrawn_brochure_the_team_shared_stays_reachable_under_its_shared_title(
    make_console,  # noqa: F811
    bank,
):
    """Shared by the West Branch while it was live, then withdrawn and edited into a new draft:
    the West head still opens its funnel, named as it was shared, never by the draft."""
    now = datetime.now(UTC)
    withdrawn = await brochure_of(
        bank.db,
        "head-office",
        ("稳享90天", "unpublished", now - timedelta(days=20)),
        (SECRET, "draft", None),
    )
    await add_share(bank.db, rm="rm05", brochure=withdrawn, created_at=now - timedelta(days=3))

    head = await make_console()
    await signed_in(head, "bh.west")
    page = await head.get(f"{PAGE}/brochures/{withdrawn}?group_by=rm")
    assert page.status_code == 200, page.text
    assert "《稳享90天》的分享与转化" in page.text
    assert SECRET not in page.text
    assert 'data-step="shared">1<' in page.text.split('aria-label="整体漏斗"')[1]
    export = await head.get(f"{PAGE}/brochures/{withdrawn}/funnel.csv")
    assert export.status_code == 200
    # The brochure rows of the funnel name it the same way, on the page and in the API.
    rows = await head.get(f"{PAGE}?group_by=brochure&period=30d")
    assert "稳享90天" in rows.text
    assert SECRET not in rows.text
    api = await bank.funnel("bh.west", group_by="brochure")
    assert [(r["label"], r["shared"]) for r in api["rows"]] == [("稳享90天", 1)]
    listed = await head.get(f"{PAGE}.csv?group_by=brochure&period=30d")
    assert SECRET not in listed.content.decode("utf-8-sig")

    # The East Branch shared nothing of it and its catalogue no longer has it.
    east = await make_console()
    await signed_in(east, "bh.east")
    assert (await east.get(f"{PAGE}/brochures/{withdrawn}")).status_code == 404


async def test_a_version_published_to_go_live_later_is_not_named_before_its_start(bank):
    """A branch head's funnel names a brochure by the version they could see (live now, or one
    their subtree shared), not by one compliance scheduled for next week."""
    now = datetime.now(UTC)
    brochure = await brochure_of(
        bank.db,
        "head-office",
        ("稳享90天", "superseded", now - timedelta(days=20)),
        ("稳享90天 新版（下周上线）", "published", now),
    )
    await bank.db.execute(
        "update brochure_versions set live_from = $2 where brochure_id = $1 and version = 2",
        brochure,
        now + timedelta(days=7),
    )
    await bank.db.execute(
        "update brochure_versions set replaced_at = $2 where brochure_id = $1 and version = 1",
        brochure,
        now + timedelta(days=7),
    )
    await add_share(bank.db, rm="rm05", brochure=brochure, created_at=now - timedelta(days=1))
    head = await bank.funnel("bh.west", group_by="brochure")
    assert [r["label"] for r in head["rows"]] == ["稳享90天"]
    # Marketing, whose brochure it is, sees its current (published) title.
    staff = await bank.funnel("marketing", group_by="brochure")
    assert [r["label"] for r in staff["rows"]] == ["稳享90天 新版（下周上线）"]


async def test_a_branchs_marketing_names_its_own_drafts_not_another_branchs(
    make_console,  # noqa: F811
    bank,
):
    """Staff see the brochures of their subtree, as their brochure list does: East's marketing
    opens the funnel of East's draft, West's marketing gets the 404 page."""
    for login, key in (("mkt.east", "branch-east"), ("mkt.west", "branch-west")):
        created = await bank.client.post(
            "/api/v1/admin/users",
            json={"login": login, "name": login, "role": "marketing", "org_unit_id": str(unit(key)),
                  "password": "a-long-password-1"},
            headers=await bank.who("admin"),
        )  # fmt: skip
        assert created.status_code == 201, created.text
    draft = await brochure_of(bank.db, "branch-east", (SECRET, "draft", None), creator="bh.east")
    east = await make_console()
    await signed_in_with(east, "mkt.east")
    mine = await east.get(f"{PAGE}/brochures/{draft}")
    assert mine.status_code == 200, mine.text
    assert SECRET in mine.text
    west = await make_console()
    await signed_in_with(west, "mkt.west")
    theirs = await west.get(f"{PAGE}/brochures/{draft}")
    assert theirs.status_code == 404
    assert SECRET not in theirs.text
    assert (await west.get(f"{PAGE}/brochures/{draft}/funnel.csv")).status_code == 404


async def signed_in_with(client: Any, login: str) -> None:
    """Sign in to the console with the test's own password."""
    response = await sign_in_as(client, login, password="a-long-password-1")
    assert response.status_code == 303, response.text

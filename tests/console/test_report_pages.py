"""The monthly report pages of the console: a branch head lists the reports of their branch (never
another branch's), downloads a ready one as PDF, builds any month and rebuilds one (CSRF like
every console form); another branch head gets 404 for the download and the rebuild, also for
ids they guess; an admin sees every branch. Reports are arranged as the worker leaves them
(tests/workbench/reports builds real ones)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.console.conftest import ORIGIN, post_form, signed_in
from tests.console.field_errors import field_error, valid, value_of
from tests.console.test_pages import console_page
from tests.tasks_data import unit, user

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/reports"
PDF = b"%PDF-1.7\n% a monthly report\n"


async def ready_report(db: Any, blobs: Path, unit_key: str, month: date) -> uuid.UUID:
    """A report row as a finished build leaves it, its file in the blob store."""
    report_id = uuid.uuid4()
    key = f"reports/{unit(unit_key)}/{month:%Y-%m}-{report_id.hex}.pdf"
    (blobs / key).parent.mkdir(parents=True, exist_ok=True)
    (blobs / key).write_bytes(PDF)
    await db.execute(
        """insert into monthly_reports (id, org_unit_id, month, state, blob_key, size_bytes,
                                        pages, built_at, builds)
           values ($1, $2, $3, 'ready', $4, $5, 3, now(), 1)""",
        report_id, unit(unit_key), month, key, len(PDF),
    )  # fmt: skip
    return report_id


@pytest.fixture
async def desk(make_console: Any, db: Any, tmp_path: Path) -> dict[str, Any]:
    console = await make_console(blob_dir=str(tmp_path))
    east = await ready_report(db, tmp_path, "branch-east", date(2026, 10, 1))
    west = await ready_report(db, tmp_path, "branch-west", date(2026, 10, 1))
    return {"console": console, "east": east, "west": west}


async def test_a_branch_head_lists_and_downloads_only_their_branchs_reports(
    desk: dict[str, Any], make_console: Any, tmp_path: Path
) -> None:
    console, east, west = desk["console"], desk["east"], desk["west"]
    await signed_in(console, "bh.east")
    html = console_page(await console.get(f"{LIST}?before=2026-11"), 200)
    assert "东城支行 East Branch" in html
    assert "西城支行" not in html
    assert f'href="{LIST}/{east}.pdf"' in html
    assert str(west) not in html
    assert "2026年10月" in html
    assert "已生成" in html
    assert "重新生成" in html

    got = await console.get(f"{LIST}/{east}.pdf")
    assert got.status_code == 200, got.text
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="report-2026-10-')
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    for guess in (f"{west}.pdf", f"{uuid.uuid4()}.pdf", f"{east}", "x.pdf"):
        assert (await console.get(f"{LIST}/{guess}")).status_code == 404, guess

    other = await make_console(blob_dir=str(tmp_path))
    await signed_in(other, "bh.west")
    assert (await other.get(f"{LIST}/{east}.pdf")).status_code == 404
    assert (await other.get(f"{LIST}/{west}.pdf")).content == PDF

    admin = await make_console(blob_dir=str(tmp_path))
    await signed_in(admin, "admin")
    everything = console_page(await admin.get(f"{LIST}?before=2026-11"), 200)
    assert f"{LIST}/{east}.pdf" in everything
    assert f"{LIST}/{west}.pdf" in everything
    west_only = console_page(
        await admin.get(f"{LIST}?unit={unit('branch-west')}&before=2026-11"), 200
    )
    assert f"{LIST}/{west}.pdf" in west_only
    assert f"{LIST}/{east}.pdf" not in west_only
    assert f'value="{unit("branch-east")}"' in west_only  # still in the build form
    assert (await admin.get(f"{LIST}?unit={unit('team-west-1')}")).status_code == 404


async def test_the_download_name_of_a_branch_with_a_slash_and_quotes_is_safe(
    desk: dict[str, Any], db: Any
) -> None:
    """A branch named `北城支行 "North"/新`: the real name in `filename*` is percent-encoded
    throughout (a raw `/` there cut the name or was refused), with what a file system minds
    made `_`, as an export's name is."""
    console, east = desk["console"], desk["east"]
    await db.execute(
        "update org_units set name = $2 where id = $1", unit("branch-east"), '北城支行 "North"/新'
    )
    await signed_in(console, "bh.east")
    got = await console.get(f"{LIST}/{east}.pdf")
    assert got.status_code == 200, got.text
    disposition = got.headers["content-disposition"]
    name = disposition.partition("filename*=UTF-8''")[2]
    assert "/" not in name
    assert '"' not in name
    assert unquote(name) == "北城支行 _North_新-2026年10月经营月报.pdf"
    assert disposition.startswith('attachment; filename="report-2026-10-')


async def test_a_branch_head_rebuilds_a_report_and_builds_any_month(
    desk: dict[str, Any], db: Any
) -> None:
    console, east, west = desk["console"], desk["east"], desk["west"]
    token = await signed_in(console, "bh.east")

    moved = await post_form(console, f"{LIST}/{east}/rebuild", token=token)
    assert moved.status_code == 303, moved.text
    row = await db.fetchrow("select * from monthly_reports where id = $1", east)
    assert (row["state"], row["requested_by"]) == ("queued", user("bh.east"))
    assert row["blob_key"] is not None  # the old file stays downloadable until the new one

    assert (await post_form(console, f"{LIST}/{west}/rebuild", token=token)).status_code == 404
    assert await db.fetchval("select state from monthly_reports where id = $1", west) == "ready"
    no_csrf = await console.post(f"{LIST}/{east}/rebuild", headers={"Origin": ORIGIN})
    assert no_csrf.status_code == 403

    built = await post_form(
        console, f"{LIST}/build", {"org_unit_id": str(unit("branch-east")), "month": "2026-05"},
        token=token,
    )  # fmt: skip
    assert built.status_code == 303, built.text
    assert (
        await db.fetchval(
            "select state from monthly_reports where org_unit_id = $1 and month = '2026-05-01'",
            unit("branch-east"),
        )
        == "queued"
    )
    page = console_page(await console.get(built.headers["location"]), 200)
    assert "已加入生成队列" in page
    assert "2026年5月经营月报" in page

    for fields in (
        {"org_unit_id": str(unit("branch-east")), "month": "2999-01"},
        {"org_unit_id": str(unit("branch-east")), "month": "May"},
        {"org_unit_id": str(unit("branch-east")), "month": "99999999999-01"},  # once a 500
        {"org_unit_id": "", "month": "2026-05"},
    ):
        refused = await post_form(console, f"{LIST}/build", fields, token=token)
        assert "请选择" in console_page(refused, 422)  # the form again, said beside the field
    other_branch = await post_form(
        console, f"{LIST}/build", {"org_unit_id": str(unit("branch-west")), "month": "2026-05"},
        token=token,
    )  # fmt: skip
    assert other_branch.status_code == 404
    assert await db.fetchval("select count(*) from monthly_reports") == 3


@pytest.mark.parametrize("before", ["2000-01", "2000-03", "99999999999-01"])
async def test_the_list_never_offers_a_month_before_2000_and_takes_any_before(
    desk: dict[str, Any], before: str
) -> None:
    console = desk["console"]
    await signed_in(console, "bh.east")
    html = console_page(await console.get(f"{LIST}?before={before}"), 200)
    assert "1999年" not in html
    assert "东城支行 East Branch" in html


async def test_a_refused_month_or_branch_is_said_beside_its_field_with_the_form_as_typed(
    desk: dict[str, Any], db: Any
) -> None:
    """The build form comes back (422) with the reason under the field at fault, the month and
    the branch as they were chosen (not the default month), and nothing queued."""
    console = desk["console"]
    token = await signed_in(console, "bh.east")
    east = str(unit("branch-east"))
    reports = "select count(*) from monthly_reports"
    before = await db.fetchval(reports)

    for month in ("2999-01", "May", "99999999999-01", "1999-12"):
        refused = await post_form(
            console, f"{LIST}/build", {"org_unit_id": east, "month": month}, token=token
        )
        html = console_page(refused, 422)
        assert field_error(html, "report-month") == "请选择 2000 年 1 月至本月之间的月份。"
        assert value_of(html, "report-month") == month
        assert value_of(html, "report-unit") == east
        assert valid(html, "report-unit")

    no_branch = await post_form(
        console, f"{LIST}/build", {"org_unit_id": "", "month": "2026-05"}, token=token
    )
    html = console_page(no_branch, 422)
    assert field_error(html, "report-unit") == "请选择支行。"
    assert value_of(html, "report-month") == "2026-05"  # not reset to last month
    assert valid(html, "report-month")
    assert await db.fetchval(reports) == before

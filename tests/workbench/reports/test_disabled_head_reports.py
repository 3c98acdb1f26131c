"""A branch is a unit of the org chart's branch level, not a unit with an active branch head: when
an admin disables a branch's only head, its built reports stay listed and downloadable, the
branch stays in the 支行 picker, admins build and rebuild its reports and the monthly schedule
still queues it. Branch heads keep seeing their own subtree only, and a team is no branch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import make_console, post_form, signed_in
from tests.console.test_report_pages import PDF, ready_report
from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import TZ
from workbench.db import Pool, create_pool
from workbench.media.store import LocalBlobStore
from workbench.reports import builder, service
from workbench.security.vault import Vault

__all__ = ["make_console"]

pytestmark = pytest.mark.usefixtures("demo_bank")

LIST = "/console/reports"
WEST = unit("branch-west")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=2)
    yield made
    await made.close()


async def _quick_pdf(data: builder.ReportData) -> builder.Pdf:
    """A stand-in for the layout (its numbers are still read)."""
    return builder.Pdf(data=f"%PDF-1.7 {data.unit_name}".encode(), pages=1)


async def test_a_branch_whose_only_head_is_disabled_keeps_its_reports(
    make_console: Any, db: Any, settings: Any, pool: Pool, tmp_path: Path
) -> None:
    november = await ready_report(db, tmp_path, "branch-west", date(2026, 11, 1))
    admin = await make_console(blob_dir=str(tmp_path))
    api = await headers_of(admin, "admin")
    off = await admin.post(f"/api/v1/admin/users/{user('bh.west')}/disable", headers=api)
    assert off.status_code == 200, off.text

    token = await signed_in(admin, "admin")
    page = await admin.get(f"{LIST}?before=2026-12")
    assert page.status_code == 200, page.text
    assert "西城支行 West Branch" in page.text
    assert f'href="{LIST}/{november}.pdf"' in page.text  # the built report, still listed
    assert f'<option value="{WEST}"' in page.text  # and the branch in the 支行 picker
    assert f'href="{LIST}?unit={WEST}"' in page.text
    west_only = await admin.get(f"{LIST}?unit={WEST}&before=2026-12")
    assert west_only.status_code == 200, west_only.text
    assert f"{LIST}/{november}.pdf" in west_only.text
    got = await admin.get(f"{LIST}/{november}.pdf")
    assert got.status_code == 200, got.text
    assert got.content == PDF

    rebuilt = await post_form(admin, f"{LIST}/{november}/rebuild", token=token)
    assert rebuilt.status_code == 303, rebuilt.text
    built = await post_form(
        admin, f"{LIST}/build", {"org_unit_id": str(WEST), "month": "2026-10"}, token=token
    )
    assert built.status_code == 303, built.text
    october = await db.fetchval(
        "select id from monthly_reports where org_unit_id = $1 and month = '2026-10-01'"
        " and state = 'queued'", WEST,
    )  # fmt: skip
    assert october is not None
    # The worker builds it with no active head to tell.
    b = service.Builder(
        pool=pool, blobs=LocalBlobStore(tmp_path),
        vault=Vault.from_settings(settings.data_keys, settings.blind_index_key), tz=TZ,
        bank_name="演示银行", render=_quick_pdf,
    )  # fmt: skip
    done = await service.build_next(b, wanted=october)
    assert done is not None
    assert done.state == "ready"
    listed = await admin.get(f"{LIST}?unit={WEST}&before=2026-12")
    assert f'href="{LIST}/{october}.pdf"' in listed.text

    # A team is no branch, head or not.
    team = await post_form(
        admin, f"{LIST}/build", {"org_unit_id": str(unit("team-west-1")), "month": "2026-10"},
        token=token,
    )  # fmt: skip
    assert team.status_code == 404

    # The schedule on the 1st queues last month for the West Branch as for the East.
    first = datetime(2027, 1, 1, 3, 0, tzinfo=ZoneInfo(TZ))
    assert await service.queue_previous_month(db, tz=TZ, now=first) == 2
    queued = await db.fetch(
        "select org_unit_id from monthly_reports where month = '2026-12-01' and state = 'queued'"
    )
    assert {r["org_unit_id"] for r in queued} == {unit("branch-east"), WEST}

    # The East Branch's head still sees only their branch.
    east = await make_console(blob_dir=str(tmp_path))
    east_token = await signed_in(east, "bh.east")
    theirs = await east.get(f"{LIST}?before=2026-12")
    assert theirs.status_code == 200, theirs.text
    assert "西城支行" not in theirs.text
    assert (await east.get(f"{LIST}/{november}.pdf")).status_code == 404
    refused = await post_form(
        east, f"{LIST}/build", {"org_unit_id": str(WEST), "month": "2026-10"}, token=east_token
    )
    assert refused.status_code == 404

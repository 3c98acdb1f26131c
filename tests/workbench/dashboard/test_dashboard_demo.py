"""The demo bank (`workbench seed`) fills every chart of the dashboard's default period (the last
30 days) for both branch heads: tasks done and overdue over several weeks, the share funnel,
NPS answers and open work orders; a second seed adds no task history."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from tests.helpers import bearer, login
from tests.workbench.dashboard.dash_data import BH_EAST, BH_WEST, TZ, connect
from tests.workbench.identity.test_org_scope import unit
from tests.workbench.workorders.wo_setup import restore_root_causes
from workbench.brochures import artwork
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.dashboard import numbers
from workbench.dashboard.demo import seed_demo_task_history
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers, seed_demo_tasks
from workbench.shares.demo import seed_demo_shares_from_settings
from workbench.surveys import results as survey_results
from workbench.surveys.demo import seed_demo_surveys_from_settings
from workbench.workorders.demo import seed_demo_work_orders_from_settings

pytestmark = pytest.mark.usefixtures("demo_bank")


def _small_pages(sheet: artwork.Sheet, *, count: int = 3) -> list[bytes]:
    """Brochure pages as tiny JPEGs: the demo's artwork takes seconds to draw."""
    out = io.BytesIO()
    Image.new("RGB", (60, 80), (90, 90, 160)).save(out, "JPEG")
    return [out.getvalue()]


async def test_the_demo_fills_every_chart(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(artwork, "pages", _small_pages)
    demo = replace(settings, blob_dir=str(tmp_path / "blobs"))
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        await restore_root_causes(conn)
        async with conn.transaction():
            await seed_demo_customers(conn, vault=vault)
            added = await seed_demo_tasks(conn, tz=settings.bank_timezone)
            await seed_demo_brochures_from_settings(conn, demo)
            await seed_demo_shares_from_settings(conn, demo)
            await seed_demo_surveys_from_settings(conn, demo)
            await seed_demo_work_orders_from_settings(conn, demo)
        assert added["task_history"] > 8 * 12 * 4
        assert await seed_demo_task_history(conn) == {"task_history": 0}

        now = datetime.now(UTC)
        for caller in (BH_EAST, BH_WEST):
            v = await numbers.view(conn, caller=caller, org_unit_id=None, from_=None, to=None,
                                   tz=TZ, now=now)  # fmt: skip
            rms = await numbers.rm_progress(conn, v)
            assert len(rms) == 4
            assert all(r.done > 0 for r in rms)
            assert sum(r.overdue for r in rms) > 0
            assert len({r.completion_rate for r in rms}) > 1  # the ranks say something
            weeks = await numbers.weekly_trend(conn, v)
            assert sum(1 for w in weeks if w.done > 0) >= 4
            assert all(0 < t.completion_rate < 1 for t in await numbers.teams(conn, v))
            funnel = await numbers.share_funnel(conn, caller, v)
            assert funnel.total.shared > 0
            assert funnel.total.opened > 0
            happy = await numbers.satisfaction(conn, v)
            assert happy.nps is not None
            assert happy.csat is not None  # the NPS survey rates the RM's service too
            assert happy.responses > 0
            assert await numbers.low_scores(conn, vault, caller, v)
            # staff answer anonymously: their low scores (the demo's weekly pulse has some) are
            # never listed, as a team of one would name who gave them
            every_low = await numbers.low_scores(conn, vault, caller, v, limit=10_000)
            assert survey_results.STAFF not in {s.customer for s in every_low}
            staff_low = await conn.fetchval(
                """select count(*) from survey_responses r
                     join survey_versions sv
                       on (sv.survey_id, sv.version) = (r.survey_id, r.version)
                    where sv.audience = 'staff' and r.submitted_at >= $1 and r.submitted_at < $2
                      and r.org_unit_id in (select id from org_subtree($3) s(id))
                      and exists (select from jsonb_each(r.answers) a
                                   where case jsonb_typeof(a.value)
                                         when 'number' then a.value::numeric end <= 2)""",
                v.start, v.end, v.org_unit_id,
            )  # fmt: skip
            assert staff_low > 0
            counts = await numbers.work_order_counts(conn, v)
            assert counts.open > 0
            assert await numbers.work_orders(conn, vault, caller, v)
    finally:
        await conn.close()


async def test_an_rm_added_later_gets_no_history_and_a_restart_seeds_none(
    settings: Any, client: Any
) -> None:
    # A new RM whose login sorted before rm01 made every restart of `workbench dev` seed twelve
    # more weeks for everyone, the new RM included (78 tasks assigned to someone of minutes).
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        async with conn.transaction():
            await seed_demo_customers(conn, vault=vault)
            first = await seed_demo_tasks(conn, tz=settings.bank_timezone)
        assert first["task_history"] > 0
        tasks = await conn.fetchval("select count(*) from tasks")
        headers = bearer(await login(client, "admin", device_no="admin-demo"))
        made = await client.post(
            "/api/v1/admin/users",
            headers=headers,
            json={"login": "aa.new", "name": "新员工", "role": "rm",
                  "password": "a-long-password", "org_unit_id": str(unit("team-east-1"))},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        assert await seed_demo_task_history(conn) == {"task_history": 0}  # the restart
        assert await conn.fetchval("select count(*) from tasks") == tasks
    finally:
        await conn.close()

"""The funnel pages' CSV files are in the audit trail as the dashboard's exports are
(`export.downloaded`): who, from which address, the table, format, filters (the grouping, the
period and its days, the unit and brochure ids) and rows; never a row's name. A refused download
records nothing."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.console.conftest import make_console, signed_in
from tests.tasks_data import unit, user
from tests.workbench.funnels.conftest import add_brochure, add_share
from tests.workbench.surveys.test_design_audit_address import behind

__all__ = ["make_console"]

PAGE = "/console/funnels"
PROXY = "10.0.0.2"
READER_IP = "203.0.113.41"  # the marketing officer's browser, behind the bank's proxy


async def downloads(db: Any) -> list[tuple[Any, str, str | None, dict[str, Any]]]:
    rows = await db.fetch(
        "select actor_id, subject, host(client_ip) as ip, detail from audit_events"
        " where action = 'export.downloaded' order by id"
    )
    return [
        (r["actor_id"], r["subject"], r["ip"],
         r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))
        for r in rows
    ]  # fmt: skip


def rows_of(response: Any) -> int:
    assert response.status_code == 200, response.text
    return len(list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))))


async def test_the_funnel_csvs_are_audited_as_downloads(make_console: Any, bank: Any) -> None:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    brochure = await add_brochure(bank.db, "科技先锋", product="TECH01")
    await add_share(bank.db, rm="rm01", brochure=brochure, created_at=now - timedelta(days=2))
    await add_share(bank.db, rm="rm05", brochure=brochure, created_at=now - timedelta(days=3))
    console = await make_console(trusted_proxies=(f"{PROXY}/32",))
    behind(console, PROXY, READER_IP)
    await signed_in(console, "marketing")

    east = unit("branch-east")
    by_team = await console.get(f"{PAGE}.csv?group_by=sub_unit&period=7d&unit={east}")
    by_rm = await console.get(f"{PAGE}/brochures/{brochure}/funnel.csv?group_by=rm&period=30d")
    assert rows_of(by_team) == 1  # East Team 1: rm01's share
    assert rows_of(by_rm) == 2
    refused = await console.get(f"{PAGE}/brochures/{uuid.uuid4()}/funnel.csv")
    assert refused.status_code == 404

    today = now.date()
    marketing = user("marketing")
    assert await downloads(bank.db) == [
        (marketing, "export_table:funnels", READER_IP, {
            "table": "funnels", "format": "csv", "rows": 1, "direct": True,
            "filters": {"group_by": "sub_unit", "period": "7d", "unit": str(east),
                        "from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()},
        }),
        (marketing, "export_table:brochure_funnel", READER_IP, {
            "table": "brochure_funnel", "format": "csv", "rows": 2, "direct": True,
            "filters": {"group_by": "rm", "period": "30d", "brochure": str(brochure),
                        "from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()},
        }),
    ]  # fmt: skip
    for name in ("科技先锋", "张伟", "陈静", "东城一组"):  # a brochure's, RMs', a unit's names
        found = await bank.db.fetchval(
            "select count(*) from audit_events a where strpos(a::text, $1) > 0", name
        )
        assert found == 0, name

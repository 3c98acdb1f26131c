"""A survey's results downloaded (GET /api/v1/surveys/{id}/results.csv|.xlsx, and the console's
links to them) are in the audit trail as `survey_results.exported`: who, from where, the survey,
the format, the scope's unit and the days; a refused download records nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import make_console, signed_in
from tests.customers_data import headers_of
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.ids import uuid7
from workbench.security.vault import Vault

__all__ = ["make_console"]

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture
async def survey(settings: Any, db: Any) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish(db)
    zhang = await add_customer(db, vault, "张小三")
    await respond(db, vault, survey_id, {"score": 3}, texts={"reason": "等待时间太长"},
                  customer_id=zhang, sent_at=DAY)  # fmt: skip
    await respond(db, vault, survey_id, {"score": 10}, team="team-west-1", sent_at=DAY)
    return survey_id


async def exported(db: Any) -> list[dict[str, Any]]:
    rows = await db.fetch(
        """select u.login, a.subject, host(a.client_ip) as ip, a.detail::text as detail
             from audit_events a join users u on u.id = a.actor_id
            where a.action = 'survey_results.exported' order by a.id"""
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def test_the_apis_downloads_are_audited_with_their_scope_and_days(client, db, survey):
    marketing = await headers_of(client, "marketing")
    got = await client.get(
        f"/api/v1/surveys/{survey}/results.csv",
        params={"from": "2026-01-01", "to": "2026-01-31"},
        headers=marketing,
    )
    assert got.status_code == 200, got.text
    assert got.content.startswith("\ufeff回复编号".encode())
    bh = await headers_of(client, "bh.east")
    got = await client.get(f"/api/v1/surveys/{survey}/results.xlsx", headers=bh)
    assert got.status_code == 200, got.text
    # Refused: a unit outside the branch head's subtree, a survey that is none.
    west = await client.get(f"/api/v1/surveys/{survey}/results.csv", headers=bh,
                            params={"org_unit_id": str(unit("branch-west"))})  # fmt: skip
    assert west.status_code == 404
    nothing = await client.get(f"/api/v1/surveys/{uuid7()}/results.csv", headers=bh)
    assert nothing.status_code == 404
    rm = await headers_of(client, "rm01")
    assert (
        await client.get(f"/api/v1/surveys/{survey}/results.csv", headers=rm)
    ).status_code == 403

    found = await exported(db)
    assert [(e["login"], e["subject"]) for e in found] == [
        ("marketing", f"survey:{survey}"), ("bh.east", f"survey:{survey}")
    ]  # fmt: skip
    assert found[0]["detail"] == {
        "format": "csv", "audience": "customer", "org_unit_id": str(unit("head-office")),
        "from": "2026-01-01", "to": "2026-01-31",
    }  # fmt: skip
    today = datetime.now(UTC).astimezone().date()
    assert found[1]["detail"]["format"] == "xlsx"
    assert found[1]["detail"]["org_unit_id"] == str(unit("branch-east"))  # the head's own scope
    assert abs((datetime.fromisoformat(found[1]["detail"]["to"]).date() - today).days) <= 1
    assert all(e["ip"] for e in found)
    text = json.dumps([e["detail"] for e in found], ensure_ascii=False)
    assert "张小三" not in text  # no personal data
    assert "等待时间" not in text  # nor answers


async def test_the_consoles_download_links_are_audited_too(make_console, db, survey):
    console = await make_console()
    await signed_in(console, "marketing")
    got = await console.get(f"/console/surveys/{survey}/results.csv")
    assert got.status_code == 200, got.text
    got = await console.get(f"/console/surveys/{survey}/results.xlsx")
    assert got.status_code == 200, got.text
    found = await exported(db)
    assert [(e["login"], e["detail"]["format"]) for e in found] == [
        ("marketing", "csv"), ("marketing", "xlsx")
    ]  # fmt: skip

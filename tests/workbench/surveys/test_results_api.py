"""GET /surveys/{id}/results: NPS, CSAT, response rate and distributions on known answers, read
from the rollups; a response counted once; scope by role and org unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import RESULTS, invite, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.surveys import tallies

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=2)


@pytest.fixture
async def vault(settings: Any, db: Any) -> Vault:
    await use_json_codecs(db)
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


@pytest.fixture
async def known(db: Any, vault: Vault) -> dict[str, Any]:
    """10 invitations in East Team 1 and 2 in West Team 1; 6 + 1 answered.

    scores 10, 9, 9, 8, 7, 3 (east) and 0 (west): 3 promoters, 2 detractors of 7 -> NPS 14.3;
    stars 5, 4, 2 (east) and 5 (west): 3 of 4 satisfied -> CSAT 0.75.
    """
    survey_id = await publish(db)
    answers: list[tuple[str, dict[str, Any]]] = [
        ("team-east-1", {"score": 10, "service": "fast", "topics": ["wealth", "card"], "stars": 5}),
        ("team-east-1", {"score": 9, "service": "fast", "topics": ["wealth"], "stars": 4}),
        ("team-east-1", {"score": 9, "service": "ok"}),
        ("team-east-1", {"score": 8, "topics": ["loan", "card"]}),
        ("team-east-1", {"score": 7, "stars": 2}),
        ("team-east-1", {"score": 3, "service": "slow"}),
        ("team-west-1", {"score": 0, "service": "slow", "stars": 5}),
    ]
    for team, given in answers:
        await respond(db, vault, survey_id, given, team=team, sent_at=DAY)
    for _ in range(4):
        await invite(db, survey_id, team="team-east-1", sent_at=DAY, customer_id=None)
    await invite(db, survey_id, team="team-west-1", sent_at=DAY, customer_id=None)
    return {"id": survey_id}


async def _results(client: Any, who: str, survey_id: Any, **params: Any) -> Any:
    return await client.get(
        RESULTS.format(survey_id), params=params, headers=await headers_of(client, who)
    )


def _question(body: dict[str, Any], key: str) -> dict[str, Any]:
    return next(q for q in body["questions"] if q["key"] == key)


def _counts(question: dict[str, Any]) -> dict[str, int]:
    return {d["value"]: d["count"] for d in question["distribution"]}


async def test_marketing_reads_nps_csat_and_rates_of_the_whole_bank(
    client: Any, known: dict[str, Any]
) -> None:
    response = await _results(client, "marketing", known["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["delivered"], body["responded"]) == (12, 7)
    assert body["response_rate"] == 0.5833
    assert body["nps"] == 14.3  # (3 - 2) / 7
    assert body["csat"] == 0.75
    score = _question(body, "score")
    assert score["answered"] == 7
    assert [d["value"] for d in score["distribution"]] == [str(n) for n in range(11)]
    assert _counts(score) == {"0": 1, "1": 0, "2": 0, "3": 1, "4": 0, "5": 0, "6": 0,
                              "7": 1, "8": 1, "9": 2, "10": 1}  # fmt: skip
    service = _question(body, "service")
    assert service["answered"] == 5
    assert [(d["label"], d["count"]) for d in service["distribution"]] == [
        ("很快", 2), ("一般", 1), ("较慢", 2),
    ]  # fmt: skip
    topics = _question(body, "topics")  # each chosen option counts: 5 choices in 3 answers
    assert topics["answered"] == 3
    assert _counts(topics) == {"wealth": 2, "loan": 1, "card": 2}
    assert _question(body, "stars")["answered"] == 4
    assert _question(body, "reason")["distribution"] == []


async def test_a_response_is_counted_once_even_if_told_twice(
    client: Any, db: Any, vault: Vault, known: dict[str, Any]
) -> None:
    response_id = await respond(db, vault, known["id"], {"score": 10}, sent_at=DAY)
    async with db.transaction():
        await tallies.on_response(db, response_id=response_id, texts={})
    body = (await _results(client, "admin", known["id"])).json()
    assert (body["delivered"], body["responded"]) == (13, 8)
    assert _counts(_question(body, "score"))["10"] == 2


async def test_branch_head_sees_their_branch_and_rows_by_team(
    client: Any, known: dict[str, Any]
) -> None:
    response = await _results(client, "bh.east", known["id"], group_by="org_unit")
    body = response.json()
    assert (body["delivered"], body["responded"]) == (10, 6)
    assert body["nps"] == 33.3  # 3 promoters, 1 detractor of 6
    rows = {row["name"]: row for row in body["by_unit"]}
    assert set(rows) == {"东城一组 East Team 1"}
    assert rows["东城一组 East Team 1"]["responded"] == 6

    bank = (await _results(client, "admin", known["id"], group_by="org_unit")).json()
    by_branch = {row["name"]: (row["delivered"], row["responded"], row["nps"])
                 for row in bank["by_unit"]}  # fmt: skip
    assert by_branch == {
        "东城支行 East Branch": (10, 6, 33.3),
        "西城支行 West Branch": (2, 1, -100.0),
    }


async def test_scope_hides_other_branches_and_unknown_surveys(
    client: Any, known: dict[str, Any]
) -> None:
    west = await _results(client, "bh.west", known["id"], org_unit_id=str(unit("team-east-1")))
    assert west.status_code == 404
    assert west.json()["code"] == "org_unit.not_found"
    own = (await _results(client, "bh.west", known["id"])).json()
    assert (own["delivered"], own["responded"], own["nps"]) == (2, 1, -100.0)
    missing = await _results(client, "admin", "0190f0f0-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert (await _results(client, "rm01", known["id"])).status_code == 403


async def test_a_period_before_the_invitations_counts_nothing(
    client: Any, known: dict[str, Any]
) -> None:
    before = (DAY - timedelta(days=10)).date().isoformat()
    body = (await _results(client, "admin", known["id"], to=before)).json()
    assert (body["delivered"], body["responded"], body["response_rate"]) == (0, 0, 0.0)
    assert body["nps"] is None
    assert body["csat"] is None
    backwards = {"from": "2026-12-02", "to": "2026-12-01"}
    bad = await _results(client, "admin", known["id"], **backwards)
    assert bad.status_code == 422

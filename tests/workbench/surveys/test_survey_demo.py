"""The demo bank's surveys: `workbench dev` shows survey results at once (a customer NPS survey
after visits and a staff pulse closed after its month, a month of answers counted as submissions
count them), and a second start changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.customers_data import headers_of
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers, seed_demo_tasks
from workbench.surveys.demo import PULSE_SURVEY, demo_nps_survey_id, seed_demo_surveys

pytestmark = pytest.mark.usefixtures("demo_bank")

COUNTS = """
    select (select count(*) from surveys), (select count(*) from survey_invitations),
           (select count(*) from survey_responses), (select count(*) from survey_messages),
           (select sum(delivered) from survey_tallies), (select sum(responded) from survey_tallies),
           (select sum(count) from survey_value_tallies), (select count(*) from survey_term_answers)
"""


@pytest.fixture
async def seeded(settings: Any, db: Any) -> dict[str, Any]:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
    now = datetime.now(UTC)
    async with db.transaction():
        added = await seed_demo_surveys(db, vault=vault, now=now)
    before = await db.fetchrow(COUNTS)
    async with db.transaction():
        again = await seed_demo_surveys(db, vault=vault, now=now)
    return {"added": added, "again": again, "before": before, "after": await db.fetchrow(COUNTS)}


async def test_two_published_surveys_with_a_month_of_answers_shown_in_results(
    seeded: Any, db: Any, client: Any
) -> None:
    added = seeded["added"]
    assert added["surveys"] == 2
    assert added["survey_responses"] > 60, added
    assert seeded["again"] == {"surveys": 0, "survey_invitations": 0, "survey_responses": 0}
    assert tuple(seeded["after"]) == tuple(seeded["before"])
    visit = await db.fetchval(
        "select after_template_id from surveys where id = $1", demo_nps_survey_id()
    )
    assert visit == await db.fetchval(
        "select template_id from task_template_versions where name = '客户拜访'"
    )
    # The reason is asked only for scores of 6 or less.
    shown = await db.fetchval(
        """select bool_and((answers->>'score')::int <= 6) from survey_responses r
            where r.survey_id = $1 and r.texts_enc is not null
              and exists (select from survey_term_answers a
                           where a.response_id = r.id and a.question_key = 'reason')""",
        demo_nps_survey_id(),
    )
    assert shown is True

    headers = await headers_of(client, "marketing")
    nps = (await client.get(f"/api/v1/surveys/{demo_nps_survey_id()}/results",
                            params={"group_by": "org_unit"}, headers=headers)).json()  # fmt: skip
    assert nps["responded"] > 0
    assert nps["responded"] <= nps["delivered"]
    assert nps["nps"] is not None
    assert -100 <= nps["nps"] <= 100
    assert {row["name"] for row in nps["by_unit"]} == {
        "东城支行 East Branch",
        "西城支行 West Branch",
    }
    assert nps["top_terms"], "the demo's text answers give words"
    interest = next(q for q in nps["questions"] if q["key"] == "interest")
    assert sum(d["count"] for d in interest["distribution"]) >= interest["answered"] > 0

    # The staff pulse is closed (archived): a staff survey's answers show only then.
    assert await db.fetchval("select status from surveys where id = $1", PULSE_SURVEY) == (
        "archived"
    )
    pulse = (await client.get(f"/api/v1/surveys/{PULSE_SURVEY}/results", headers=headers)).json()
    assert (pulse["withheld"], pulse["withheld_reason"]) == (False, None)
    assert pulse["csat"] is not None
    assert pulse["nps"] is None
    assert pulse["responded"] > 0

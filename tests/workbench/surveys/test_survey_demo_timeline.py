"""The demo bank's survey answers are on the customers' timelines, as a submission puts them:
one `survey.answered` entry per customer answer, at the time it was given, which the 360° view
shows and the intimacy score counts; a second seed adds none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, headers_of
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers, seed_demo_tasks
from workbench.surveys.demo import demo_nps_survey_id, seed_demo_surveys

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_every_customer_answer_of_the_demo_is_on_the_customers_timeline(
    settings: Any, db: Any, client: Any
) -> None:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
        await seed_demo_surveys(db, vault=vault, now=datetime.now(UTC))
    answers = await db.fetch(
        "select id, customer_id, submitted_at from survey_responses"
        " where customer_id is not null order by id"
    )
    assert len(answers) > 60
    entries = await db.fetch(
        "select customer_id, occurred_at, data from customer_timeline"
        " where kind = 'survey.answered' order by data->>'response_id'"
    )
    assert [(e["data"]["response_id"], e["customer_id"], e["occurred_at"]) for e in entries] == [
        (str(a["id"]), a["customer_id"], a["submitted_at"]) for a in answers
    ]
    assert {e["data"]["survey_id"] for e in entries} == {str(demo_nps_survey_id())}
    async with db.transaction():
        await seed_demo_surveys(db, vault=vault, now=datetime.now(UTC))
    assert await db.fetchval(
        "select count(*) from customer_timeline where kind = 'survey.answered'"
    ) == len(answers)

    # The newest answer's customer: their RM sees it on the 360° view, and it warms the score.
    newest = max(answers, key=lambda a: a["submitted_at"])
    owner = await db.fetchval(
        "select u.login from customers c join users u on u.id = c.owner_id where c.id = $1",
        newest["customer_id"],
    )
    rm = await headers_of(client, owner)
    view = await client.get(f"{CUSTOMERS}/{newest['customer_id']}", headers=rm)
    assert view.status_code == 200, view.text
    kinds = [e["kind"] for e in view.json()["timeline"]["items"]]
    assert "survey.answered" in kinds
    assert view.json()["intimacy_score"] > 0

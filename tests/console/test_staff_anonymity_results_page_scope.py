"""The console's results page says whose figures it shows: the unit chosen (范围：<unit> 及下属机构)
rather than the reader's whole view; and an archived survey says so (已归档), with what still
works: its links sent take answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=3)
ARCHIVED = "已归档：不再发送，已发出的链接仍可作答。"


@pytest.fixture
async def survey(settings: Any, db: Any) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish(db)
    zhang = await add_customer(db, vault, "张小三")
    await respond(db, vault, survey_id, {"score": 3}, customer_id=zhang, sent_at=DAY)
    return survey_id


def lead(html: str) -> str:
    """The sentence under the title."""
    return html.split('<p class="page-lead"', 1)[1].split("</p>", 1)[0]


async def test_the_page_names_the_unit_chosen_as_its_scope(make_console: Any, survey: Any) -> None:
    console = await make_console()
    await signed_in(console, "marketing")
    whole = await console.get(f"/console/surveys/{survey}/results")
    assert lead(whole.text).endswith("全行范围。")
    team = await console.get(
        f"/console/surveys/{survey}/results", params={"org_unit_id": str(unit("team-east-1"))}
    )
    assert team.status_code == 200, team.text
    assert 'data-figure="responded">1<' in team.text
    assert lead(team.text).endswith("范围：东城一组 East Team 1 及下属机构。")
    assert "全行" not in lead(team.text)

    head = await make_console()
    await signed_in(head, "bh.east")
    own = await head.get(f"/console/surveys/{survey}/results")
    assert lead(own.text).endswith("本机构及下属机构范围。")
    chosen = await head.get(
        f"/console/surveys/{survey}/results", params={"org_unit_id": str(unit("team-east-1"))}
    )
    assert lead(chosen.text).endswith("范围：东城一组 East Team 1 及下属机构。")


async def test_an_archived_survey_says_it_is_archived(
    make_console: Any, survey: Any, db: Any
) -> None:
    console = await make_console()
    await signed_in(console, "marketing")
    live = await console.get(f"/console/surveys/{survey}/results")
    assert "已归档" not in live.text
    await db.execute("update surveys set status = 'archived' where id = $1", survey)
    page = await console.get(f"/console/surveys/{survey}/results")
    assert page.status_code == 200, page.text
    assert 'data-state="archived">已归档</span>' in page.text
    assert ARCHIVED in page.text
    assert 'data-figure="responded">1<' in page.text  # its results still shown

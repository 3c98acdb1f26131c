"""API.md's list rule on `GET /funnels`: the groups page by their order (most shares first, then
by key) with `limit` and `cursor`, every group on exactly one page; a cursor the funnel did not
issue (or one of another grouping) is 400 `request.bad_cursor` naming `query.cursor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.tasks_data import user
from tests.workbench.funnels import conftest as funnels
from tests.workbench.funnels.conftest import FUNNELS, Bank, add_brochure, add_share
from workbench.pagination import encode_cursor

bank = funnels.bank  # the funnel tests' fixture
SHARES = {"rm01": 3, "rm02": 1, "rm03": 2, "rm04": 2, "rm05": 1, "rm06": 3, "rm07": 2, "rm08": 1}


@pytest.fixture
async def eight_rms(bank: Bank) -> Bank:
    """The demo bank's 8 RMs each shared in the last day, 1 to 3 times (ties on every count)."""
    brochure = await add_brochure(bank.db, "稳享90天")
    at = datetime.now(UTC) - timedelta(days=1)
    for rm, n in SHARES.items():
        for _ in range(n):
            await add_share(bank.db, rm=rm, brochure=brochure, created_at=at)
    return bank


def expected_order() -> list[str]:
    """Most shares first, then by key."""
    keys = {str(user(rm)): n for rm, n in SHARES.items()}
    return sorted(keys, key=lambda key: (-keys[key], key))


async def pages(bank: Bank, **params: Any) -> list[dict[str, Any]]:
    """Every page of the funnel, following `next_cursor` until it is null."""
    answers: list[dict[str, Any]] = []
    cursor = None
    while True:
        asked = params | ({"cursor": cursor} if cursor else {})
        answers.append(await bank.funnel("marketing", **asked))
        cursor = answers[-1]["next_cursor"]
        if cursor is None:
            return answers
        assert len(answers) < 20, "the cursor never ends"


@pytest.mark.parametrize("limit", [1, 3, 8])
async def test_every_group_is_on_exactly_one_page_in_the_funnels_order(
    eight_rms: Bank, limit: int
) -> None:
    walked = await pages(eight_rms, group_by="rm", limit=limit)

    assert len(walked) == -(-8 // limit)
    assert all(len(page["rows"]) == limit for page in walked[:-1])
    assert [row["key"] for page in walked for row in page["rows"]] == expected_order()
    assert {row["label"] for page in walked for row in page["rows"]} >= {"张伟", "陈静"}
    # Each page still tells how many groups there are and the scope's total.
    assert {page["total_groups"] for page in walked} == {8}
    assert {page["total"]["shared"] for page in walked} == {15}


async def test_the_last_page_has_no_cursor(eight_rms: Bank) -> None:
    whole = await eight_rms.funnel("marketing", group_by="rm")
    assert len(whole["rows"]) == 8
    assert whole["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        encode_cursor(["rm", 3]),
        encode_cursor(["rm", 2**63, "00000000-0000-0000-0000-000000000000"]),
        encode_cursor(["rm", 0, "00000000-0000-0000-0000-000000000000"]),
        encode_cursor(["team", 2, "00000000-0000-0000-0000-000000000000"]),
    ],
)
async def test_a_cursor_the_funnel_did_not_issue_is_refused(eight_rms: Bank, cursor: str) -> None:
    answer = await eight_rms.client.get(
        FUNNELS, params={"cursor": cursor}, headers=await eight_rms.who("marketing")
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "request.bad_cursor"
    assert [e["path"] for e in answer.json()["errors"]] == ["query.cursor"]


async def test_a_cursor_of_another_grouping_is_refused(eight_rms: Bank) -> None:
    by_rm = await eight_rms.funnel("marketing", group_by="rm", limit=2)
    cursor = by_rm["next_cursor"]
    assert cursor
    problem = await eight_rms.funnel("marketing", 400, group_by="org_unit", cursor=cursor)
    assert problem["code"] == "request.bad_cursor"
    assert [e["path"] for e in problem["errors"]] == ["query.cursor"]

"""The customer list's text filters as apps and browsers send them: an empty one (`?q=&tag=`,
the contract's own form) is no filter, and a tag or segment is matched trimmed, as the feed
stores it. The recommendation rules' text conditions are read the same way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, headers_of
from tests.workbench.customers.test_views import RM01, bank, keys_of, listed

pytestmark = pytest.mark.usefixtures("demo_bank")
__all__ = ["bank"]  # the fixture, shared with the views' tests

RULES = "/api/v1/admin/recommendation-rules"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "", "tag": "", "segment": ""},
        {"tag": ""},
        {"segment": ""},
        {"tag": "   ", "segment": "\u3000"},  # spaces of any width are nothing to match either
        {"q": " ", "tag": " ", "segment": " "},
    ],
)
async def test_an_empty_text_filter_is_no_filter(client, bank, params):
    rm01 = await headers_of(client, "rm01")
    everyone = keys_of(bank, await listed(client, rm01))
    assert set(everyone) == RM01
    assert keys_of(bank, await listed(client, rm01, **params)) == everyone


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "vip "}, {"C1", "C3"}),
        ({"tag": " wechat"}, {"C1", "C2"}),
        ({"tag": "\u3000vip\u3000"}, {"C1", "C3"}),
        ({"segment": "private "}, {"C1", "C3"}),
        ({"segment": "  mass"}, {"C2", "C6"}),
        ({"tag": "vip ", "segment": " private", "q": " 张 "}, {"C1"}),
    ],
)
async def test_a_tag_or_segment_is_matched_trimmed(client, bank, params, expected):
    rm01 = await headers_of(client, "rm01")
    assert set(keys_of(bank, await listed(client, rm01, **params))) == expected


async def test_an_empty_filter_keeps_the_cursor_of_the_unfiltered_list(client, bank):
    rm01 = await headers_of(client, "rm01")
    first = await client.get(CUSTOMERS, params={"limit": 2, "tag": "", "segment": ""}, headers=rm01)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor
    rest = await client.get(
        CUSTOMERS, params={"limit": 200, "tag": "", "cursor": cursor}, headers=rm01
    )
    assert rest.status_code == 200, rest.text
    seen = keys_of(bank, first.json()["items"]) + keys_of(bank, rest.json()["items"])
    assert sorted(seen) == sorted(RM01)


def _rule(name: str, when: dict[str, Any], weight: int = 50) -> dict[str, Any]:
    return {"name": name, "when": when, "recommend": {"category": "fund"}, "weight": weight}


async def test_rule_conditions_are_trimmed_and_a_blank_one_is_no_condition(client, bank):
    admin = await headers_of(client, "admin")
    table = {
        "rules": [
            _rule("贵宾客户", {"tag": " vip "}),
            _rule("私行客户", {"segment": "private\u3000"}),
            _rule("所有客户", {"tag": "  ", "segment": ""}),
        ]
    }
    saved = await client.put(RULES, json=table, headers=admin)
    assert saved.status_code == 200, saved.text
    conditions = [r["when"] for r in saved.json()["rules"]]
    assert {"tag": "vip"} in conditions
    assert {"segment": "private"} in conditions
    assert {} in conditions  # a blank condition is no condition: every customer

    rm01 = await headers_of(client, "rm01")
    answer = await client.get(f"{CUSTOMERS}/{bank['C1']}/recommendations", headers=rm01)
    assert answer.status_code == 200, answer.text
    funds = [r for r in answer.json()["items"] if r["category"] == "fund"]
    assert funds, answer.json()
    assert set(funds[0]["reasons"]) == {"贵宾客户", "私行客户", "所有客户"}

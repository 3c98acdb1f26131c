"""API.md's list rule on the work-order lists: `GET /alert-rules` and `GET /work-orders/root-causes`
answer pages (`{items, next_cursor}`, `limit`, `cursor`; a cursor they did not issue is 400
`request.bad_cursor` naming `query.cursor`); `?array=true`, deprecated, the bare array of before."""

from __future__ import annotations

from typing import Any

from tests.customers_data import headers_of
from tests.workbench.workorders import wo_setup
from tests.workbench.workorders.wo_setup import Bench
from workbench.pagination import encode_cursor

RULES = "/api/v1/alert-rules"
CAUSES = "/api/v1/work-orders/root-causes"
bench = wo_setup.bench  # the work-order tests' fixture


async def walk(bench: Bench, path: str, who: dict[str, str], **params: Any) -> list[list[Any]]:
    """Every page of a list, following `next_cursor` until it is null."""
    pages: list[list[Any]] = []
    cursor = None
    while True:
        asked = params | ({"cursor": cursor} if cursor else {})
        answer = await bench.client.get(path, params=asked, headers=who)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


def refused_cursor(answer: Any) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "request.bad_cursor"
    assert [e["path"] for e in problem["errors"]] == ["query.cursor"]


async def test_alert_rules_come_in_pages_each_once_in_the_order_they_apply(bench: Bench) -> None:
    made = [str(await bench.rule(value=n)) for n in range(5)]
    other = str(await bench.rule(survey=bench.pulse, question_key="mood", value=2))

    pages = await walk(bench, RULES, bench.admin, limit=2)
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [r["id"] for page in pages for r in page] == [*made, other]

    # One survey's rules page alike; the other survey's rule is on no page of it.
    nps = await walk(bench, RULES, bench.admin, limit=3, survey_id=str(bench.nps))
    assert [[r["id"] for r in page] for page in nps] == [made[:3], made[3:]]

    # Without `limit`, one page holds them all (up to 50).
    assert [len(page) for page in await walk(bench, RULES, bench.admin)] == [6]


async def test_alert_rules_refuse_a_cursor_they_did_not_issue(bench: Bench) -> None:
    await bench.rule()
    refused_cursor(await bench.client.get(RULES, params={"cursor": "zzz"}, headers=bench.admin))
    # A root-causes cursor is another list's.
    causes = await bench.client.get(CAUSES, params={"limit": 1}, headers=bench.admin)
    foreign = causes.json()["next_cursor"]
    assert foreign
    refused_cursor(await bench.client.get(RULES, params={"cursor": foreign}, headers=bench.admin))


async def test_alert_rules_as_a_bare_array_only_when_asked(bench: Bench) -> None:
    made = [str(await bench.rule(value=n)) for n in range(3)]
    old = await bench.client.get(RULES, params={"array": "true", "limit": 1}, headers=bench.admin)
    assert old.status_code == 200, old.text
    assert [r["id"] for r in old.json()] == made  # every rule: `limit` does not apply
    page = await bench.client.get(RULES, params={"limit": 1}, headers=bench.admin)
    assert [r["id"] for r in page.json()["items"]] == made[:1]
    assert old.json()[0] == page.json()["items"][0]


async def test_root_causes_come_in_pages_each_cause_once_in_the_banks_order(bench: Bench) -> None:
    rm01 = await headers_of(bench.client, "rm01")
    for code in ("queue_system", "parking"):
        saved = await bench.client.post(
            CAUSES, json={"code": code, "label": f"原因 {code}"}, headers=bench.admin
        )
        assert saved.status_code == 200, saved.text
    off = {"code": "wait_time", "label": "等候时间过长", "active": False}
    assert (await bench.client.post(CAUSES, json=off, headers=bench.admin)).status_code == 200
    active = await bench.conn.fetch(
        "select code from work_order_root_causes where active order by position, code"
    )
    everything = await bench.conn.fetch(
        "select code from work_order_root_causes order by position, code"
    )
    assert len(active) >= 4

    pages = await walk(bench, CAUSES, rm01, limit=2)
    assert all(len(page) == 2 for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= 2
    codes = [c["code"] for page in pages for c in page]
    assert codes == [r["code"] for r in active]
    assert codes[-2:] == ["queue_system", "parking"]  # added last: at the end of the list
    assert "wait_time" not in codes

    # An admin's `all=1` pages through the deactivated ones too.
    every = await walk(bench, CAUSES, bench.admin, limit=3, all="1")
    assert [c["code"] for page in every for c in page] == [r["code"] for r in everything]


async def test_root_causes_refuse_a_cursor_they_did_not_issue(bench: Bench) -> None:
    rm01 = await headers_of(bench.client, "rm01")
    for cursor in ("zzz", encode_cursor([2**40, "wait_time"]), encode_cursor(["wait_time"])):
        refused_cursor(await bench.client.get(CAUSES, params={"cursor": cursor}, headers=rm01))


async def test_root_causes_as_a_bare_array_only_when_asked(bench: Bench) -> None:
    rm01 = await headers_of(bench.client, "rm01")
    old = await bench.client.get(CAUSES, params={"array": "true", "limit": 1}, headers=rm01)
    assert old.status_code == 200, old.text
    listed = old.json()
    assert isinstance(listed, list)
    assert {"code": "wait_time", "label": "等候时间过长", "active": True} in listed
    pages = await walk(bench, CAUSES, rm01, limit=1)
    assert [c for page in pages for c in page] == listed

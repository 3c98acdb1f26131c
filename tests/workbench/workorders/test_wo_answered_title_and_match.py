"""A work order shows what its answer answered: the title of the survey version answered, never a
draft's renamed since (API, pushes, timeline, hand-overs, escalations, the dashboard's list), and
marks the question it matched when it was opened, whatever the rule became since."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.customers_data import customer_row, feed, headers_of
from tests.workbench.dashboard.dash_data import TZ
from tests.workbench.workorders.wo_setup import BH_EAST, T0, Bench, hours, unit_id, user_id
from workbench.dashboard import numbers
from workbench.workorders import escalation

ORDERS = "/api/v1/work-orders"
PUBLISHED = "网点服务满意度"  # version 1's title (wo_setup)
DRAFT = "未发布的草稿标题A"


async def _bodies(bench: Bench, login: str) -> list[str]:
    rows = await bench.conn.fetch(
        "select body from notifications where user_id = $1 order by created_at", user_id(login)
    )
    return [r["body"] for r in rows]


async def _dashboard_titles(bench: Bench) -> list[str]:
    view = await numbers.view(
        bench.conn, caller=BH_EAST, org_unit_id=unit_id("branch-east"), from_=None, to=None,
        tz=TZ, now=datetime.now(UTC),
    )  # fmt: skip
    return [
        w.survey_title for w in await numbers.work_orders(bench.conn, bench.vault, BH_EAST, view)
    ]


async def test_work_orders_show_the_answered_versions_title_not_the_drafts(bench: Bench) -> None:
    renamed = await bench.client.patch(
        f"/api/v1/surveys/{bench.nps}", json={"title": DRAFT}, headers=bench.admin
    )
    assert renamed.status_code == 200, renamed.text
    await bench.rule()
    _, opened = await bench.respond(answers={"score": 1})
    assert opened is not None

    rm01 = await headers_of(bench.client, "rm01")
    listed = (await bench.client.get(ORDERS, headers=rm01)).json()["items"]
    assert [w["survey_title"] for w in listed] == [PUBLISHED]
    detail = await bench.client.get(f"{ORDERS}/{opened}", headers=rm01)
    assert detail.json()["survey_title"] == PUBLISHED
    assert await _dashboard_titles(bench) == [PUBLISHED]
    (pushed,) = await _bodies(bench, "rm01")
    assert PUBLISHED in pushed
    assert DRAFT not in pushed
    on_timeline = await bench.conn.fetchval(
        "select data->>'survey_title' from customer_timeline where kind = 'work_order.opened'"
    )
    assert on_timeline == PUBLISHED

    # A version 2 published under another title: the answer to version 1 keeps version 1's.
    await bench.conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           select id, 2, '网点服务满意度（第二版）', audience, questions, $2
             from surveys where id = $1""",
        bench.nps, user_id("admin"),
    )  # fmt: skip
    await bench.conn.execute("update surveys set version = 2 where id = $1", bench.nps)
    detail = await bench.client.get(f"{ORDERS}/{opened}", headers=rm01)
    assert detail.json()["survey_title"] == PUBLISHED

    # Overdue: the branch head told reads the answered version's title too, not the draft's
    # nor version 2's.
    async with bench.conn.transaction():
        assert await escalation.escalate_due(bench.conn, now=T0 + hours(25)) == 1
    (escalated,) = await _bodies(bench, "bh.east")
    assert PUBLISHED in escalated
    assert DRAFT not in escalated
    assert "第二版" not in escalated

    # The customer moves to rm02: the hand-over's push names the answered version's title.
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-1", name="张小三", owner="rm02", seq=1)])  # fmt: skip
    (handed,) = await _bodies(bench, "rm02")
    assert PUBLISHED in handed
    assert DRAFT not in handed
    rm02 = await headers_of(bench.client, "rm02")
    listed = (await bench.client.get(ORDERS, headers=rm02)).json()["items"]
    assert [w["survey_title"] for w in listed] == [PUBLISHED]


def _marked(detail: dict[str, Any]) -> list[str]:
    return [a["key"] for a in detail["answers"] if a["matched"]]


async def test_the_matched_answer_stays_marked_after_the_rule_is_edited(bench: Bench) -> None:
    rule = await bench.rule(value=8)
    _, opened = await bench.respond(answers={"score": 7}, texts={"reason": "手续太多"})
    _, before_fix = await bench.respond(answers={"score": 5}, texts={"reason": "手续太多"})
    assert opened is not None
    assert before_fix is not None
    # A work order opened before the event kept what it matched.
    await bench.conn.execute(
        "update work_order_events set data = data - 'question_key' - 'op' - 'value'"
        " where work_order_id = $1",
        before_fix,
    )
    rm01 = await headers_of(bench.client, "rm01")

    async def detail(work_order: Any) -> dict[str, Any]:
        answer = await bench.client.get(f"{ORDERS}/{work_order}", headers=rm01)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    assert _marked(await detail(opened)) == ["score"]
    assert _marked(await detail(before_fix)) == ["score"]

    edited = await bench.client.patch(
        f"/api/v1/alert-rules/{rule}",
        json={"question_key": "reason", "op": "contains", "value": "排队"},
        headers=bench.admin,
    )
    assert edited.status_code == 200, edited.text
    shown = await detail(opened)
    assert _marked(shown) == ["score"]
    (event,) = [e for e in shown["events"] if e["kind"] == "opened"]
    assert (event["data"]["question_key"], event["data"]["op"], event["data"]["value"]) == (
        "score", "lte", 8,
    )  # fmt: skip
    # Without a record of what it matched, the rule as it is now is all there is to go by.
    assert _marked(await detail(before_fix)) == ["reason"]

"""More free text that people read is checked as notes and names are: a recommendation rule's
name, conditions and target, a survey question's text, an event's kind and an event rule's
kind and field. One that shows nothing, holds a control character or a direction override (it
would read otherwise than typed), or runs past the length of what it is matched against, is
refused (422 naming each field; an event alone in its batch) and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.workbench.surveys.design_data import SURVEYS, draft, option, question, survey_body

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
RULES = f"{API}/admin/recommendation-rules"
TASK_RULES = f"{API}/task-rules"
EVENTS = f"{API}/integration/events"
LONG = "养" * 100_000


def errors_of(response: Any) -> dict[str, str]:
    """A 422 problem's messages by path."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["path"]: e["message"] for e in response.json()["errors"]}


# ---- recommendation rules ---------------------------------------------------------------------


def rule(name: str = "养老客群配养老金", **parts: Any) -> dict[str, Any]:
    """A rule; `when` and `recommend` as given (a category by default)."""
    return {"name": name, "when": parts.get("when", {"tag": "retiree"}),
            "recommend": parts.get("recommend", {"category": "pension"}), "weight": 40}  # fmt: skip


async def rule_rows(db: Any) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "select name, when_segment, when_tag, when_holds_category, product_code,"
        " product_category from recommendation_rules order by name"
    )
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("bad", "path", "words"),
    [
        (rule(" \u3000 "), "name", "must show something"),
        (rule("🙂\u202eRTL"), "name", "direction override"),
        (rule("人人\u0007现金"), "name", "control character"),
        (rule(recommend={"category": LONG}), "recommend.category", "at most 60 characters"),
        (rule(when={"tag": LONG}), "when.tag", "at most 40 characters"),
        (rule(when={"holds_category": LONG}), "when.holds_category", "at most 60 characters"),
        (rule(when={"segment": LONG}), "when.segment", "at most 40 characters"),
        (rule(when={"tag": "vip\u202e"}), "when.tag", "direction override"),
        (rule(when={"holds_category": "基\n金"}), "when.holds_category", "line break"),
        (rule(when={"segment": "\u200b"}), "when.segment", "must show something"),
        (rule(recommend={"category": "\u2066养老"}), "recommend.category", "direction override"),
        (rule(recommend={"product_code": "CASH\u202e01"}), "recommend.product_code", "letters"),
    ],
)  # fmt: skip
async def test_a_rule_text_that_reads_otherwise_or_runs_long_is_refused(
    client: Any, db: Any, bad: dict[str, Any], path: str, words: str
) -> None:
    admin = await headers_of(client, "admin")
    good = rule("人人可用现金管理", when={}, recommend={"product_code": "CASH01"})
    assert (await client.put(RULES, json={"rules": [good]}, headers=admin)).status_code == 200
    before = await rule_rows(db)

    refused = await client.put(RULES, json={"rules": [good, bad]}, headers=admin)

    errors = errors_of(refused)
    assert refused.json()["code"] == "request.validation_failed"
    assert list(errors) == [f"$.rules[1].{path}"]
    assert words in errors[f"$.rules[1].{path}"]
    assert await rule_rows(db) == before
    assert (
        await db.fetchval(
            "select count(*) from audit_events where subject = 'recommendation_rules'"
        )
        == 1
    )  # the first table only


async def test_every_bad_rule_text_is_named_at_once(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    rules = [rule("\u202e反向"), rule(when={"tag": LONG}, recommend={"category": " \u0007 "})]

    errors = errors_of(await client.put(RULES, json={"rules": rules}, headers=admin))

    assert sorted(errors) == [
        "$.rules[0].name", "$.rules[1].recommend.category", "$.rules[1].when.tag"
    ]  # fmt: skip
    assert await rule_rows(db) == []


async def test_blank_conditions_stay_none_and_texts_at_their_limits_are_kept(
    client: Any, db: Any
) -> None:
    admin = await headers_of(client, "admin")
    rules = [
        rule("  人人可用现金管理  ", when={"tag": "   ", "segment": "", "holds_category": " "},
             recommend={"product_code": " CASH01 ", "category": "  "}),
        rule("长标签", when={"tag": "t" * 40, "segment": "s" * 40, "holds_category": "h" * 60},
             recommend={"category": "c" * 60}),
    ]  # fmt: skip

    saved = await client.put(RULES, json={"rules": rules}, headers=admin)

    assert saved.status_code == 200, saved.text
    assert [(r["name"], r["when"], r["recommend"]) for r in saved.json()["rules"]] == [
        ("人人可用现金管理", {}, {"product_code": "CASH01"}),
        ("长标签", {"segment": "s" * 40, "tag": "t" * 40, "holds_category": "h" * 60},
         {"category": "c" * 60}),
    ]  # fmt: skip


# ---- survey definitions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("questions", "path", "words"),
    [
        ([question("a", "nps", text="您会推荐\u202e我行吗？")], "$.questions[0].text",
         "direction override"),
        ([question("a", "text", text="其他建议\u0007")], "$.questions[0].text",
         "control character"),
        ([question("a", options=[option("x", "是"), option("y", "否\u202e")])],
         "$.questions[0].options[1].label", "direction override"),
    ],
)  # fmt: skip
async def test_a_question_text_or_label_that_reads_otherwise_is_refused(
    client: Any, db: Any, questions: list[dict[str, Any]], path: str, words: str
) -> None:
    marketing = await headers_of(client, "marketing")
    made = await client.post(SURVEYS, json=survey_body(questions), headers=marketing)
    errors = errors_of(made)
    assert made.json()["code"] == "survey.blank_text"
    assert list(errors) == [path]
    assert words in errors[path]
    assert await db.fetchval("select count(*) from surveys") == 0

    survey = await draft(client, marketing)
    url = f"{SURVEYS}/{survey['id']}"
    edited = await client.patch(url, json={"questions": questions}, headers=marketing)
    assert list(errors_of(edited)) == [path]
    assert (await client.get(url, headers=marketing)).json()["questions"] == survey["questions"]


async def test_a_title_that_reads_otherwise_is_said_so(client: Any, db: Any) -> None:
    marketing = await headers_of(client, "marketing")
    made = await client.post(SURVEYS, json=survey_body(title="回访\u202e问卷"), headers=marketing)
    assert "direction override" in errors_of(made)["$.title"]
    assert await db.fetchval("select count(*) from surveys") == 0


async def test_a_question_text_keeps_its_line_breaks_and_tabs_but_no_override(client: Any) -> None:
    marketing = await headers_of(client, "marketing")
    text = "请回忆上次拜访：\n\t· 客户经理是否准时？\r\n请打分"
    survey = await draft(client, marketing, questions=[question("a", "rating", text=text)])
    assert survey["questions"][0]["text"] == text
    url = f"{SURVEYS}/{survey['id']}"
    garbled = [question("a", "rating", text=f"{text}\u202e")]
    edited = await client.patch(url, json={"questions": garbled}, headers=marketing)
    assert "direction override" in errors_of(edited)["$.questions[0].text"]
    assert (await client.get(url, headers=marketing)).json()["questions"][0]["text"] == text


async def test_a_draft_saved_garbled_before_is_not_published(client: Any, db: Any) -> None:
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=[question("a", "nps")])
    await db.execute(  # as a draft saved before such question texts were refused
        """update surveys set questions = '[{"key": "a", "type": "nps", "text": "推荐\u202e吗"}]'"""
    )
    refused = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert list(errors_of(refused)) == ["$.questions[0].text"]
    assert await db.fetchval("select count(*) from survey_versions") == 0


# ---- events and event rules ----------------------------------------------------------------


async def a_template(client: Any, admin: dict[str, str]) -> str:
    form = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
    body = {"name": "大额变动回访", "form": form}
    made = await client.post(f"{API}/task-templates", json=body, headers=admin)
    assert made.status_code == 201, made.text
    template_id: str = made.json()["id"]
    return template_id


def task_rule(template_id: str, **overrides: Any) -> dict[str, Any]:
    return {"name": "Large inflow", "event_kind": "balance_movement", "field": "amount",
            "op": "gte", "value": 1_000_000, "template_id": template_id, "within_days": 30,
            **overrides}  # fmt: skip


async def test_an_event_whose_kind_reads_otherwise_is_rejected_alone(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    assert (await feed(client, admin, "customers", [customer_row("C1", name="王小明")]))[
        "rejected"
    ] == []
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    kinds = ["balance_movement", "balance\u202emovement", " \u200b ", "login\u0007", "转\n账"]
    events = [{"kind": k, "customer_external_id": "C1", "occurred_at": at} for k in kinds]

    answer = await client.post(EVENTS, json={"events": events}, headers=admin)

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 1
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4]
    assert {r["code"] for r in rejected.values()} == {"event.bad_kind"}
    assert "direction override" in rejected[1]["detail"]
    assert "must show something" in rejected[2]["detail"]
    assert "control character" in rejected[3]["detail"]
    assert "line break" in rejected[4]["detail"]
    kinds_stored = await db.fetch("select kind from integration_events")
    assert [r["kind"] for r in kinds_stored] == ["balance_movement"]


async def test_an_event_rule_whose_kind_or_field_reads_otherwise_is_refused(
    client: Any, db: Any
) -> None:
    admin = await headers_of(client, "admin")
    template_id = await a_template(client, admin)
    bad = task_rule(template_id, event_kind="balance\u202emovement", field="amo\u0007unt")
    errors = errors_of(await client.post(TASK_RULES, json=bad, headers=admin))
    assert sorted(errors) == ["$.event_kind", "$.field"]
    assert "direction override" in errors["$.event_kind"]
    assert "control character" in errors["$.field"]
    blank = task_rule(template_id, event_kind="\u200b")
    assert (
        "must show something"
        in errors_of(await client.post(TASK_RULES, json=blank, headers=admin))["$.event_kind"]
    )
    assert await db.fetchval("select count(*) from task_rules") == 0

    made = await client.post(TASK_RULES, json=task_rule(template_id), headers=admin)
    assert made.status_code == 201, made.text
    url = f"{TASK_RULES}/{made.json()['id']}"
    edited = await client.patch(url, json={"event_kind": "\u2067inflow"}, headers=admin)
    assert list(errors_of(edited)) == ["$.event_kind"]
    assert (await client.get(url, headers=admin)).json()["event_kind"] == "balance_movement"
    # Switching the rule off still works.
    off = await client.patch(url, json={"active": False}, headers=admin)
    assert off.status_code == 200, off.text

"""The alert-rule and work-order API: rules checked against the survey, past answers applied
once, transitions with notes and root causes, and who may see what."""

from __future__ import annotations

import uuid
from typing import Any

from tests.console.conftest import console, make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.workbench.workorders.wo_setup import Bench

RULES = "/api/v1/alert-rules"
ORDERS = "/api/v1/work-orders"


async def _post(bench: Bench, path: str, body: dict[str, Any], who: dict[str, str]) -> Any:
    return await bench.client.post(path, json=body, headers=who)


async def test_rules_are_checked_and_applied_to_past_answers_once(bench: Bench) -> None:
    for _ in range(2):
        await bench.store(answers={"score": 4}, texts={"reason": "理财经理态度冷淡"})
    await bench.store(answers={"score": 10})
    rule = {"survey_id": str(bench.nps), "question_key": "score", "op": "lte", "value": 6}
    bad = [
        ({**rule, "question_key": "nope"}, "alert_rule.question_unknown"),
        ({**rule, "op": "contains"}, "alert_rule.condition_invalid"),
        ({**rule, "value": "six"}, "alert_rule.condition_invalid"),
        ({**rule, "question_key": "channel", "op": "eq", "value": "atm"},
         "alert_rule.condition_invalid"),
    ]  # fmt: skip
    for body, code in bad:
        answer = await _post(bench, RULES, body, bench.admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == code
    rm01 = await headers_of(bench.client, "rm01")
    assert (await _post(bench, RULES, rule, rm01)).status_code == 403
    made = await _post(bench, RULES, {**rule, "sla_kind": "business_hours"}, bench.admin)
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    # A second rule matching the same answers: applying both still gives one work order each.
    term = {**rule, "question_key": "reason", "op": "contains", "value": "态度"}
    term_id = (await _post(bench, RULES, term, bench.admin)).json()["id"]
    first = await _post(bench, f"{RULES}/{rule_id}/apply", {}, bench.admin)
    assert first.json() == {"rule_id": rule_id, "responses": 3, "queued": False, "opened": 2}
    for again in (rule_id, term_id):
        answer = await _post(bench, f"{RULES}/{again}/apply", {}, bench.admin)
        assert answer.json()["opened"] == 0
    listed = (await bench.client.get(ORDERS, headers=rm01)).json()["items"]
    assert len(listed) == 2
    assert {w["customer"] for w in listed} == {"张*三"}
    off = await bench.client.patch(
        f"{RULES}/{rule_id}", json={"active": False}, headers=bench.admin
    )
    assert off.json()["active"] is False
    assert (await _post(bench, f"{RULES}/{rule_id}/apply", {}, bench.admin)).status_code == 409


async def test_transitions_notes_root_causes_and_scope(bench: Bench) -> None:
    await bench.rule()
    _, opened = await bench.respond(
        answers={"score": 2, "channel": "app"}, texts={"reason": "转账失败"}
    )
    path = f"{ORDERS}/{opened}"
    rm01, rm02 = await headers_of(bench.client, "rm01"), await headers_of(bench.client, "rm02")
    bh_east, bh_west = (
        await headers_of(bench.client, "bh.east"),
        await headers_of(bench.client, "bh.west"),
    )

    async def move(who: dict[str, str], to: str, **more: Any) -> Any:
        return await _post(
            bench, f"{path}/transition", {"to": to, "note": f"{to} 说明", **more}, who
        )

    for stranger in (rm02, bh_west):
        assert (await bench.client.get(path, headers=stranger)).status_code == 404
        assert (await move(stranger, "in_progress")).status_code == 404
        assert (await bench.client.get(ORDERS, headers=stranger)).json()["items"] == []
    assert (await move(rm01, "closed", root_cause="wait_time")).status_code == 409
    assert (await move(rm01, "in_progress")).status_code == 200
    assert (await move(bh_east, "resolved")).status_code == 200  # the branch head over rm01
    assert (await move(rm01, "in_progress")).status_code == 200  # reopened
    assert (await move(rm01, "resolved")).status_code == 200
    unknown = await move(rm01, "closed", root_cause="no_such_cause")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "work_order.root_cause_unknown")
    closed = await move(rm01, "closed", root_cause="system_fault")
    assert closed.status_code == 200, closed.text
    wo = closed.json()
    assert (wo["state"], wo["root_cause"], wo["customer"]) == ("closed", "system_fault", "张*三")
    assert [(e["kind"], e["to_state"], e["note"]) for e in wo["events"]] == [
        ("opened", "open", None),
        ("transition", "in_progress", "in_progress 说明"),
        ("transition", "resolved", "resolved 说明"),
        ("transition", "in_progress", "in_progress 说明"),
        ("transition", "resolved", "resolved 说明"),
        ("transition", "closed", "closed 说明"),
    ]
    assert [(a["key"], a["answer"], a["matched"]) for a in wo["answers"]] == [
        ("score", "2", True), ("channel", "手机银行", False), ("reason", "转账失败", False),
    ]  # fmt: skip
    assert (await move(rm01, "in_progress")).status_code == 409  # closed is final
    # Notes are stored encrypted.
    stored = await bench.conn.fetch(
        "select note_enc from work_order_events where note_enc is not null"
    )
    assert stored
    assert all("说明".encode() not in bytes(r["note_enc"]) for r in stored)
    east = (await bench.client.get(f"{ORDERS}?state=closed", headers=bh_east)).json()["items"]
    assert [w["id"] for w in east] == [str(opened)]
    assert (await bench.client.get(f"{ORDERS}?state=open", headers=bh_east)).json()["items"] == []


async def test_a_note_of_only_spaces_is_refused_and_changes_nothing(bench: Bench) -> None:
    await bench.rule()
    _, opened = await bench.respond(answers={"score": 2, "channel": "app"})
    rm01 = await headers_of(bench.client, "rm01")
    # Zero-width and other invisible characters show nothing either: an empty grey note.
    for note in ("   ", "\u3000\n\t", "\u200b\u200b", "\u200b\u2060\ufeff \u200d"):
        answer = await _post(
            bench, f"{ORDERS}/{opened}/transition", {"to": "in_progress", "note": note}, rm01
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "work_order.note_required"
        assert [e["path"] for e in answer.json()["errors"]] == ["$.note"]
    # A note that would read otherwise than typed (a direction override, a control character)
    # is refused as other notes are: the history would show it reversed.
    for note in ("开始‮处理", "已联系客户"):
        answer = await _post(
            bench, f"{ORDERS}/{opened}/transition", {"to": "in_progress", "note": note}, rm01
        )
        assert answer.status_code == 422, answer.text
        assert [e["path"] for e in answer.json()["errors"]] == ["$.note"]
    assert await bench.conn.fetchval("select state from work_orders where id = $1", opened) == (
        "open"
    )
    transitions = await bench.conn.fetchval(
        "select count(*) from work_order_events where work_order_id = $1 and kind = 'transition'",
        opened,
    )
    assert transitions == 0


async def test_root_causes_are_listed_for_staff_and_kept_by_admins(bench: Bench) -> None:
    rm01 = await headers_of(bench.client, "rm01")
    causes = (await bench.client.get(f"{ORDERS}/root-causes", headers=rm01)).json()["items"]
    assert {"code": "wait_time", "label": "等候时间过长", "active": True} in causes
    add = {"code": "queue_system", "label": "叫号系统故障"}
    assert (await _post(bench, f"{ORDERS}/root-causes", add, rm01)).status_code == 403
    assert (await _post(bench, f"{ORDERS}/root-causes", add, bench.admin)).status_code == 200
    off = {"code": "wait_time", "label": "等候时间过长", "active": False}
    assert (await _post(bench, f"{ORDERS}/root-causes", off, bench.admin)).status_code == 200
    listed = await bench.client.get(f"{ORDERS}/root-causes", headers=rm01)
    codes = [c["code"] for c in listed.json()["items"]]
    assert "queue_system" in codes
    assert "wait_time" not in codes


async def test_a_root_cause_or_a_term_that_shows_nothing_is_refused(bench: Bench) -> None:
    causes = f"{ORDERS}/root-causes"
    before = await bench.conn.fetch("select * from work_order_root_causes order by code")
    bad = [
        ({"code": "blank_one", "label": "   "}, "$.label"),
        ({"code": "blank_one", "label": "\u200b"}, "$.label"),
        ({"code": "wait_time", "label": "\u200b\u2060"}, "$.label"),
        ({"code": "wait_time", "label": "\u202e长过间时候等"}, "$.label"),  # reads backwards
        ({"code": "wait_time\n", "label": "等候时间过长"}, "$.code"),
    ]
    for body, path in bad:
        answer = await _post(bench, causes, body, bench.admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "request.validation_failed"
        assert [e["path"] for e in answer.json()["errors"]] == [path]
    after = await bench.conn.fetch("select * from work_order_root_causes order by code")
    assert after == before

    term = {"survey_id": str(bench.nps), "question_key": "reason", "op": "contains"}
    for value in ("   ", "\u200b", "\u200b\ufeff", "态\u202e度"):
        answer = await _post(bench, RULES, {**term, "value": value}, bench.admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "alert_rule.condition_invalid"
        assert [e["path"] for e in answer.json()["errors"]] == ["$.value"]
    rules = await bench.conn.fetchval(
        "select count(*) from alert_rules where question_key = 'reason'"
    )
    assert rules == 0


async def test_a_phone_or_id_number_typed_into_an_answer_is_masked_for_every_reader(
    bench: Bench,
    console: Any,  # noqa: F811
) -> None:
    """The customer wrote their phone and ID number into the comment: the work order shows them
    masked to the RM and the branch head, in the API and in the console, as survey results and
    the app do."""
    await bench.rule()
    typed = "请回电 13812345678，身份证 110105198209210009"
    _, opened = await bench.respond(answers={"score": 2, "channel": "app"}, texts={"reason": typed})
    for who in ("rm01", "bh.east"):
        headers = await headers_of(bench.client, who)
        wo = (await bench.client.get(f"{ORDERS}/{opened}", headers=headers)).json()
        reason = next(a["answer"] for a in wo["answers"] if a["key"] == "reason")
        assert reason == "请回电 138******78，身份证 110*************09", who
    await signed_in(console, "bh.east")
    answer = await console.get(f"/console/work-orders/{opened}")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "13812345678" not in page
    assert "110105198209210009" not in page
    assert "138******78" in page


async def test_the_list_narrows_to_a_unit_of_the_callers_subtree(bench: Bench) -> None:
    # The console filters by unit; the API did not and answered the whole subtree, so an
    # integrator asking for one team's work orders got every team's.
    await bench.rule()
    _, opened = await bench.respond(answers={"score": 2, "channel": "app"})
    east = await bench.conn.fetchval("select org_unit_id from users where login = 'bh.east'")
    west = await bench.conn.fetchval("select org_unit_id from users where login = 'bh.west'")
    rm01_team = await bench.conn.fetchval("select org_unit_id from users where login = 'rm01'")
    other_team = await bench.conn.fetchval(
        "select id from org_units where parent_id = $1 and id <> $2 limit 1", east, rm01_team
    )
    assert other_team is not None
    bh_east = await headers_of(bench.client, "bh.east")

    def ids(answer: Any) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [w["id"] for w in answer.json()["items"]]

    assert ids(await bench.client.get(ORDERS, headers=bh_east)) == [str(opened)]
    both = {"org_unit_id": str(rm01_team)}
    assert ids(await bench.client.get(ORDERS, params=both, headers=bh_east)) == [str(opened)]
    elsewhere = {"org_unit_id": str(other_team)}
    assert ids(await bench.client.get(ORDERS, params=elsewhere, headers=bh_east)) == []
    # A unit outside the caller's subtree, or none at all: 404, as every unit the caller may
    # not see.
    for unit in (west, uuid.uuid4()):
        refused = await bench.client.get(ORDERS, params={"org_unit_id": str(unit)}, headers=bh_east)
        assert (refused.status_code, refused.json()["code"]) == (404, "org_unit.not_found")
    assert ids(await bench.client.get(ORDERS, params={"org_unit_id": str(west)},
                                      headers=bench.admin)) == []  # fmt: skip

"""Staff surveys promise anonymous answers: their results, text answers and exports show answers
only in groups of at least MIN_STAFF_GROUP (5) responses, under a unit with that many, on their
day only, under an id that is not the response's (a uuid7 tells the time); their exports hold
figures, never a row per response. Customer surveys are unchanged. (That no two scopes subtract
to a smaller group: test_results_staff_subtraction.)"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import RESULTS, add_customer, publish, respond
from tests.workbench.surveys.staff_results_data import (
    DAY,
    EAST,
    EAST_1,
    EAST_2,
    TEXT,
    close_staff,
    publish_staff,
)
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.surveys.results import MIN_STAFF_GROUP

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def vault(settings: Any, db: Any) -> Vault:
    await use_json_codecs(db)
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


async def _staff_survey(db: Any, vault: Vault, teams: dict[str, int]) -> dict[str, Any]:
    """A staff survey answered `teams[team]` times in each team (one a day, newest first), every
    answer with a score, a rating and the text TEXT, then closed (its answers show only then)."""
    survey_id = await publish_staff(db)
    responses: dict[uuid.UUID, str] = {}
    for team, many in teams.items():
        for n in range(many):
            answer = {"score": 9 if n % 2 else 3, "service": "fast", "stars": 4}
            sent = DAY - timedelta(days=n)
            responses[await respond(db, vault, survey_id, answer, team=team, sent_at=sent,
                                    texts=TEXT)] = team  # fmt: skip
    await close_staff(db, survey_id)
    return {"id": survey_id, "responses": responses}


def _shown_id(survey_id: uuid.UUID, response_id: uuid.UUID, root: uuid.UUID | None = None) -> str:
    """What the database shows for a response in a scope (East Branch unless told): md5 of the
    survey's, the response's and the scope's ids."""
    root = root or unit("branch-east")
    digest = hashlib.md5(f"{survey_id}{response_id}{root}".encode(), usedforsecurity=False)
    return str(uuid.UUID(digest.hexdigest()))


async def _get(client: Any, who: str, path: str, **params: Any) -> Any:
    return await client.get(path, params=params, headers=await headers_of(client, who))


async def test_four_staff_answers_in_a_branch_show_their_counts_only(
    client: Any, db: Any, vault: Vault
) -> None:
    survey = await _staff_survey(db, vault, {"team-east-1": 3, "team-east-2": 1})
    url = RESULTS.format(survey["id"])
    for who in ("bh.east", "marketing"):
        response = await _get(client, who, url, group_by="org_unit")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["delivered"], body["responded"], body["response_rate"]) == (4, 4, 1.0)
        assert body["withheld"] is True
        assert (body["nps"], body["csat"]) == (None, None)
        assert body["top_terms"] == []
        for question in body["questions"]:
            assert question["answered"] == 0
            assert question["top_terms"] == []
            assert all(d["count"] == 0 for d in question["distribution"])
        assert all(row["withheld"] and row["nps"] is None for row in body["by_unit"])
        assert sum(row["responded"] for row in body["by_unit"]) == 4  # the counts are kept

    for path, params in (
        ("/answers", {"term": "等待时间"}),
        (".csv", {}),
        (".xlsx", {}),
    ):
        refused = await _get(client, "bh.east", url + path, **params)
        assert refused.status_code == 409, (path, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "survey.too_few_answers"
        assert f"at least {MIN_STAFF_GROUP}" in problem["detail"]
        assert problem["detail"].endswith("has 4")


async def test_staff_answers_come_under_a_unit_of_five_on_their_day_under_another_id(
    client: Any, db: Any, vault: Vault, settings: Any
) -> None:
    # Two answers in East Team 1 and four in East Team 2, none elsewhere in the branch: the
    # branch (6) is a group, neither team is.
    survey = await _staff_survey(db, vault, {"team-east-1": 2, "team-east-2": 4})
    survey_id, responses = survey["id"], survey["responses"]
    url = RESULTS.format(survey_id)
    zone = ZoneInfo(settings.bank_timezone)

    body = (await _get(client, "bh.east", url, group_by="org_unit")).json()
    assert (body["responded"], body["withheld"]) == (6, False)
    assert body["nps"] is not None
    assert {"term": "等待时间", "count": 6} in body["top_terms"]
    rows = {row["name"]: row for row in body["by_unit"]}
    assert {name: (row["responded"], row["withheld"], row["nps"], row["csat"])
            for name, row in rows.items()} == {
        EAST_1: (2, True, None, None),
        EAST_2: (4, True, None, None),
    }  # fmt: skip

    answers = await _get(client, "bh.east", url + "/answers", term="等待时间")
    assert answers.status_code == 200, answers.text
    items = answers.json()["items"]
    assert len(items) == 6
    assert {(i["org_unit_id"], i["org_unit_name"]) for i in items} == {(str(unit("branch-east")),
                                                                        EAST)}  # fmt: skip
    assert {i["respondent"] for i in items} == {"员工（匿名）"}
    shown = {i["response_id"] for i in items}
    assert shown.isdisjoint(str(r) for r in responses)
    assert shown == {_shown_id(survey_id, r) for r in responses}
    for item in items:
        at = datetime.fromisoformat(item["submitted_at"]).astimezone(zone)
        assert at.time() == time(0, 0)
    days = [datetime.fromisoformat(i["submitted_at"]) for i in items]
    expected_days = sorted(
        (datetime.combine((DAY - timedelta(days=n) + timedelta(hours=1)).astimezone(zone).date(),
                          time(), tzinfo=zone) for n in (0, 1, 0, 1, 2, 3)),
        reverse=True,
    )  # fmt: skip
    assert days == expected_days
    keys = [(datetime.fromisoformat(i["submitted_at"]), i["response_id"]) for i in items]
    assert keys == sorted(keys, reverse=True)  # by day, then by the shown id

    pages, cursor = [], None  # the cursor follows the same order
    while True:
        params = {"term": "等待时间", "limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await _get(client, "bh.east", url + "/answers", **params)).json()
        pages += [i["response_id"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert pages == [i["response_id"] for i in items]

    exported = await _get(client, "bh.east", url + ".csv")
    assert exported.status_code == 200, exported.text
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0] == ["部分", "机构", "题目", "项目", "数值"]  # figures, no row per response
    lines = {tuple(line[:4]): line[4] for line in table[1:]}
    assert lines[("总体", EAST, "", "已回复")] == "6"
    assert lines[("按机构", EAST_1, "", "NPS")] == "不足 5 份或会被推算，不显示"
    assert lines[("分布", EAST, "stars 请为客户经理打分", "4")] == "6"
    assert lines[("常见词", EAST, "全部文字回答", "等待时间")] == "6"
    text = exported.content.decode("utf-8-sig")
    assert all(str(r) not in text and _shown_id(survey_id, r) not in text for r in responses)
    assert "等待时间太长" not in text  # no text answer, only its words' counts

    workbook = await _get(client, "bh.east", url + ".xlsx")
    assert workbook.status_code == 200, workbook.text
    sheet = zipfile.ZipFile(io.BytesIO(workbook.content)).read("xl/worksheets/sheet1.xml")
    text = sheet.decode()
    assert text.count("<row ") == len(table)
    assert all(str(r) not in text for r in responses)
    assert all(_shown_id(survey_id, r) not in text for r in responses)


async def test_answers_come_under_the_scope_and_a_small_row_withholds_the_next(
    client: Any, db: Any, vault: Vault
) -> None:
    # A team of five beside a team of one: labelled by team, the one answer left under the
    # branch's name was that person's; and the branch's figures less the team of five's were
    # the team of one's.
    survey = await _staff_survey(db, vault, {"team-east-1": 5, "team-east-2": 1})
    url = RESULTS.format(survey["id"])
    items = (await _get(client, "bh.east", url + "/answers", term="等待时间")).json()["items"]
    assert [i["org_unit_name"] for i in items] == [EAST] * 6
    body = (await _get(client, "bh.east", url, group_by="org_unit")).json()
    rows = {row["name"]: (row["withheld"], row["nps"] is None) for row in body["by_unit"]}
    assert rows == {EAST_1: (True, True), EAST_2: (True, True)}
    assert body["other"] is None  # no row shown: the remainder is the branch's headline
    # Narrowed to the team of five, it is withheld too (the branch less it is the team of one).
    team = await _get(client, "bh.east", url + ".csv", org_unit_id=str(unit("team-east-1")))
    assert team.status_code == 409, team.text
    assert "has 5, but" in team.json()["detail"]
    # Narrowed to the team of one, the scope is below the group: refused.
    alone = await _get(client, "bh.east", url + "/answers", term="等待时间",
                       org_unit_id=str(unit("team-east-2")))  # fmt: skip
    assert alone.status_code == 409
    assert alone.json()["detail"].endswith("has 1")


async def test_a_customer_survey_of_one_answer_is_shown_as_it_was(
    client: Any, db: Any, vault: Vault
) -> None:
    survey_id = await publish(db)
    zhang = await add_customer(db, vault, "张小三")
    response_id = await respond(db, vault, survey_id, {"score": 10, "stars": 5}, texts=TEXT,
                                customer_id=zhang, sent_at=DAY)  # fmt: skip
    url = RESULTS.format(survey_id)
    body = (await _get(client, "bh.east", url, group_by="org_unit")).json()
    headline = (body["responded"], body["nps"], body["csat"], body["withheld"])
    assert headline == (1, 100.0, 1.0, False)
    assert [(r["name"], r["nps"], r["withheld"]) for r in body["by_unit"]] == [
        (EAST_1, 100.0, False)
    ]
    [item] = (await _get(client, "bh.east", url + "/answers", term="等待时间")).json()["items"]
    assert (item["response_id"], item["respondent"], item["org_unit_name"]) == (
        str(response_id), "张*三", EAST_1,
    )  # fmt: skip
    assert datetime.fromisoformat(item["submitted_at"]) == DAY + timedelta(hours=1)
    table = list(csv.reader(io.StringIO(
        (await _get(client, "bh.east", url + ".csv")).content.decode("utf-8-sig")
    )))  # fmt: skip
    line = dict(zip(table[0], table[1], strict=True))
    assert (line["回复编号"], line["机构"], line["答题人"]) == (str(response_id), EAST_1, "张*三")
    assert len(line["提交时间"]) == len("2026-01-01 12:00")
    assert (await _get(client, "bh.east", url + ".xlsx")).status_code == 200

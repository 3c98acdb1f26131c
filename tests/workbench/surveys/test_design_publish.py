"""Publishing surveys: the logic check with its exact problem codes, versions that never change
when the draft does, nothing published twice, concurrent publications, archiving, the audit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import msgspec
import pytest

from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import SurveyCreate
from tests.customers_data import headers_of
from tests.tasks_data import create_template, unit, user
from tests.workbench.surveys.design_data import (
    SURVEYS,
    VISIT_QUESTIONS,
    as_answered,
    draft,
    option,
    published,
    question,
    show_if,
    survey_body,
)
from workbench.access import Caller
from workbench.db import use_json_codecs
from workbench.errors import DomainError
from workbench.surveys import design

pytestmark = pytest.mark.usefixtures("demo_bank")

FLAWED: dict[str, tuple[list[dict[str, Any]], dict[str, set[str]]]] = {
    "cycle": (
        [question("a"), question("b", **show_if("c", "yes")), question("c", **show_if("b", "no"))],
        {"b": {"cycle"}, "c": {"cycle"}},
    ),
    "forward reference": (
        [question("a"), question("b", **show_if("c", "yes")), question("c")],
        {"b": {"forward_reference"}},
    ),
    "unknown reference": (
        [question("a"), question("b", **show_if("nowhere", "yes"))],
        {"b": {"unknown_reference"}},
    ),
    "unknown value": (
        [question("a", "nps"), question("b", **show_if("a", 6, 11)),
         question("c", **show_if("b", "maybe"))],
        {"b": {"unknown_value"}, "c": {"unknown_value"}},
    ),
    "text reference": (
        [question("a", "text"), question("b", **show_if("a", "yes"))],
        {"b": {"unusable_reference"}},
    ),
    "too few options": (
        [question("a", options=[option("only")]), question("b", "multi", options=[])],
        {"a": {"too_few_options"}, "b": {"too_few_options"}},
    ),
    "duplicate keys": (
        [question("a"), question("a", "text")],
        {"a": {"duplicate_key"}},
    ),
    "first question conditional": (
        [question("a", **show_if("b", "yes")), question("b")],
        {"a": {"no_start", "forward_reference"}},
    ),
    "duplicate labels": (
        [question("a", options=[option("x", "同"), option("y", " 同 ")]),
         question("b", "multi", options=[option("p", "甲"), option("q", "乙")])],
        {"a": {"duplicate_label"}},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(FLAWED))
async def test_publishing_refuses_broken_logic_with_each_flaw(client, case):
    questions, expected = FLAWED[case]
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=questions)
    # The draft is kept as it is, and tells the editor what would block publishing.
    assert _codes(survey["flaws"]) == expected
    response = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "survey.logic_invalid"
    assert _codes(problem["errors"]) == expected
    after = (await client.get(f"{SURVEYS}/{survey['id']}", headers=marketing)).json()
    assert (after["status"], after["version"]) == ("draft", 0)


def _codes(flaws: list[dict[str, Any]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for flaw in flaws:
        found.setdefault(flaw["key"], set()).add(flaw["code"])
    return found


async def test_a_good_survey_publishes_as_version_1_and_not_twice(client, db):
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing)
    assert survey["flaws"] == []
    assert survey["draft_changed"] is True
    response = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert response.status_code == 201, response.text
    version = response.json()
    assert version["version"] == 1
    assert version["questions"] == as_answered(VISIT_QUESTIONS)
    assert version["published_by"] == str(user("marketing"))
    again = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert again.status_code == 409
    assert again.json()["code"] == "survey.unchanged"
    now = (await client.get(f"{SURVEYS}/{survey['id']}", headers=marketing)).json()
    assert (now["status"], now["version"], now["draft_changed"]) == ("published", 1, False)
    audit = await db.fetch(
        "select action, actor_id, subject, detail from audit_events where action like 'survey.%'"
    )
    assert [(a["action"], a["actor_id"], a["subject"]) for a in audit] == [
        ("survey.published", user("marketing"), f"survey:{survey['id']}")
    ]


async def test_editing_the_draft_never_changes_a_published_version(client):
    marketing = await headers_of(client, "marketing")
    survey = await published(client, marketing)
    url = f"{SURVEYS}/{survey['id']}"
    edited = [*VISIT_QUESTIONS[:2], question("extra", "rating", text="新问题")]
    response = await client.patch(
        url, json={"title": "拜访回访（第二版）", "questions": edited}, headers=marketing
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["questions"], body["draft_changed"]) == (
        "拜访回访（第二版）", as_answered(edited), True
    )  # fmt: skip
    assert (body["status"], body["version"]) == ("published", 1)  # v1 is still what is answered
    v1 = (await client.get(f"{url}/versions/1", headers=marketing)).json()
    assert (v1["title"], v1["questions"]) == ("网点拜访回访", as_answered(VISIT_QUESTIONS))
    second = await client.post(f"{url}/publish", headers=marketing)
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert (await client.get(f"{url}/versions/1", headers=marketing)).json() == v1
    v2 = (await client.get(f"{url}/versions/2", headers=marketing)).json()
    assert (v2["title"], v2["questions"]) == ("拜访回访（第二版）", as_answered(edited))
    missing = await client.get(f"{url}/versions/3", headers=marketing)
    assert (missing.status_code, missing.json()["code"]) == (404, "survey_version.not_found")
    # A draft may be incomplete; only publishing needs it whole.
    broken = [question("a", **show_if("b", "yes")), question("b")]
    response = await client.patch(url, json={"questions": broken}, headers=marketing)
    assert response.status_code == 200
    assert {f["code"] for f in response.json()["flaws"]} == {"no_start", "forward_reference"}
    assert (await client.get(f"{url}/versions/2", headers=marketing)).json() == v2


async def test_the_database_refuses_to_change_a_published_version(client, db):
    marketing = await headers_of(client, "marketing")
    survey = await published(client, marketing)
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute(
            "update survey_versions set title = 'x' where survey_id = $1", survey["id"]
        )
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("delete from survey_versions where survey_id = $1", survey["id"])


async def test_concurrent_publications_make_one_version(settings, db):
    caller = Caller(
        user_id=user("marketing"), role=Role.MARKETING, org_unit_id=unit("head-office"),
        session_id=uuid.uuid4(), device_id="test",
    )  # fmt: skip
    conns = [await _connect(settings.database_url) for _ in range(4)]
    try:
        async with conns[0].transaction():
            survey = await design.create(conns[0], caller=caller, request=_create())

        async def publish(conn: Any) -> int | str:
            try:
                async with conn.transaction():
                    return (await design.publish(conn, caller=caller, survey_id=survey.id)).version
            except DomainError as exc:
                return exc.code

        results = await asyncio.gather(*(publish(c) for c in conns))
    finally:
        for conn in conns:
            await conn.close()
    assert sorted(results, key=str) == [1, *["survey.unchanged"] * 3]
    assert await db.fetchval("select count(*) from survey_versions") == 1


async def _connect(url: str) -> Any:
    conn = await asyncpg.connect(url)
    await use_json_codecs(conn)
    return conn


def _create() -> SurveyCreate:
    return msgspec.convert(survey_body(), SurveyCreate)


async def test_an_archived_survey_takes_no_edit_and_no_publication(client, db):
    marketing = await headers_of(client, "marketing")
    survey = await published(client, marketing)
    url = f"{SURVEYS}/{survey['id']}"
    response = await client.post(f"{url}/archive", headers=marketing)
    assert response.status_code == 200
    assert response.json()["status"] == "archived"
    assert (await client.post(f"{url}/archive", headers=marketing)).status_code == 200
    edit = await client.patch(url, json={"title": "改名"}, headers=marketing)
    assert (edit.status_code, edit.json()["code"]) == (409, "survey.archived")
    publish = await client.post(f"{url}/publish", headers=marketing)
    assert (publish.status_code, publish.json()["code"]) == (409, "survey.archived")
    assert (await client.get(f"{url}/versions/1", headers=marketing)).status_code == 200
    actions = await db.fetch("select action from audit_events where action like 'survey.%'")
    assert [a["action"] for a in actions] == ["survey.published", "survey.archived"]


async def test_a_survey_follows_only_a_task_template_its_author_sees(client):
    admin = await headers_of(client, "admin")
    marketing = await headers_of(client, "marketing")
    template = await create_template(client, admin, name="网点拜访")
    survey = await draft(client, marketing, after_template_id=template["id"])
    assert survey["after_template_id"] == template["id"]
    url = f"{SURVEYS}/{survey['id']}"
    unknown = await client.patch(
        url, json={"after_template_id": str(uuid.uuid4())}, headers=marketing
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "task_template.not_found")
    staff = await client.post(
        SURVEYS,
        json={"title": "员工脉搏", "audience": "staff", "questions": VISIT_QUESTIONS,
              "after_template_id": template["id"]},
        headers=marketing,
    )  # fmt: skip
    assert (staff.status_code, staff.json()["code"]) == (422, "survey.template_not_for_staff")
    cleared = await client.patch(url, json={"clear_after_template": True}, headers=marketing)
    assert cleared.json()["after_template_id"] is None
    # Shapes are checked at once: an unknown question type is a 422 and changes nothing.
    bad = await client.patch(
        url, json={"questions": [{"key": "a", "type": "slider", "text": "?"}]}, headers=marketing
    )
    assert bad.status_code == 422
    stored = (await client.get(url, headers=marketing)).json()["questions"]
    assert stored == as_answered(VISIT_QUESTIONS)


async def test_a_key_keeps_its_published_type_in_later_versions(client):
    marketing = await headers_of(client, "marketing")
    first = [question("score", "nps", text="推荐吗？"), question("why", "text", text="为什么？")]
    survey = await published(client, marketing, questions=first)
    url = f"{SURVEYS}/{survey['id']}"
    choice = question("score", "single", text="哪一项？", options=[option("a"), option("b")])
    retyped = [question("sat", "rating", text="满意吗？"), choice]
    response = await client.patch(url, json={"questions": retyped}, headers=marketing)
    assert response.status_code == 200, response.text
    assert _codes(response.json()["flaws"]) == {"score": {"type_changed"}}
    refused = await client.post(f"{url}/publish", headers=marketing)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "survey.logic_invalid"
    assert _codes(problem["errors"]) == {"score": {"type_changed"}}
    assert "'score' was a nps question" in problem["detail"]
    assert (await client.get(url, headers=marketing)).json()["version"] == 1

    # Dropped in version 2, the key still cannot come back as another type in version 3.
    dropped = [question("sat", "rating", text="满意吗？"), first[1]]
    await client.patch(url, json={"questions": dropped}, headers=marketing)
    assert (await client.post(f"{url}/publish", headers=marketing)).status_code == 201
    await client.patch(url, json={"questions": [*dropped, retyped[1]]}, headers=marketing)
    again = await client.post(f"{url}/publish", headers=marketing)
    assert (again.status_code, _codes(again.json()["errors"])) == (
        422, {"score": {"type_changed"}}
    )  # fmt: skip

    # The same type under the key (or a new key) publishes; options may change between versions.
    kept = [*dropped, question("score", "nps", text="现在推荐吗？"),
            question("pick", "single", options=[option("a", "甲"), option("c", "丙")])]  # fmt: skip
    await client.patch(url, json={"questions": kept}, headers=marketing)
    assert (await client.post(f"{url}/publish", headers=marketing)).status_code == 201
    moved = [*kept[:3], question("pick", "single", options=[option("a", "甲乙"), option("d")])]
    await client.patch(url, json={"questions": moved}, headers=marketing)
    assert (await client.post(f"{url}/publish", headers=marketing)).status_code == 201


@pytest.mark.parametrize(
    ("body", "blank"),
    [
        ({"title": "   "}, {"key": "", "field": "title"}),
        ({"questions": [question("a", "nps", text=" \u3000 ")]}, {"key": "a", "field": "text"}),
        ({"questions": [question("a", options=[option("x", "是"), option("y", "  ")])]},
         {"key": "a", "field": "options[1].label"}),
        # Invisible characters show nothing either: a draft with no name in the list.
        ({"title": "\u200b"}, {"key": "", "field": "title"}),
        ({"title": "\u200b\u2060\ufeff \u200d"}, {"key": "", "field": "title"}),
        ({"questions": [question("a", "nps", text="\u200b\n")]}, {"key": "a", "field": "text"}),
        ({"questions": [question("a", options=[option("x", "是"), option("y", "\u200b")])]},
         {"key": "a", "field": "options[1].label"}),
        # A one-line title or label that reads otherwise than typed (backwards, a control).
        ({"title": "\u202e访回务服"}, {"key": "", "field": "title"}),
        ({"questions": [question("a", options=[option("x", "是"), option("y", "否\u0007")])]},
         {"key": "a", "field": "options[1].label"}),
    ],
)  # fmt: skip
async def test_a_title_question_or_option_of_only_spaces_is_refused(client, db, body, blank):
    marketing = await headers_of(client, "marketing")
    made = await client.post(SURVEYS, json=survey_body(**body), headers=marketing)
    assert made.status_code == 422, made.text
    assert made.json()["code"] == "survey.blank_text"
    assert [{"key": e["key"], "field": e["field"]} for e in made.json()["errors"]] == [blank]
    # Each entry is a FieldError too (the contract's Problem.errors), naming the JSON path.
    assert made.json()["errors"][0]["path"].endswith(blank["field"])
    assert made.json()["errors"][0]["message"]
    assert await db.fetchval("select count(*) from surveys") == 0
    survey = await draft(client, marketing)
    url = f"{SURVEYS}/{survey['id']}"
    edited = await client.patch(url, json=body, headers=marketing)
    assert (edited.status_code, edited.json()["code"]) == (422, "survey.blank_text")
    assert (await client.get(url, headers=marketing)).json()["title"] == survey["title"]


async def test_a_draft_saved_blank_before_is_not_published(client, db):
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=[question("a", "nps")])
    await db.execute(  # as a draft saved before blanks were refused
        """update surveys set title = '   ',
                  questions = '[{"key": "a", "type": "nps", "text": "  "}]'::jsonb""",
    )
    refused = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert refused.status_code == 422, refused.text
    assert [(e["key"], e["field"], e["path"]) for e in refused.json()["errors"]] == [
        ("", "title", "$.title"), ("a", "text", "$.questions[0].text")
    ]  # fmt: skip
    assert await db.fetchval("select count(*) from survey_versions") == 0


async def test_a_version_stored_without_required_false_matches_the_same_draft(client, db):
    # Versions published by earlier releases left `required: false` out of their questions; the
    # same questions saved again now carry it. The draft is still the published survey: the
    # designer shows no change waiting, and publishing again makes no new version.
    marketing = await headers_of(client, "marketing")
    survey = await published(client, marketing)
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by, published_at)
           select survey_id, 2, title, audience,
                  (select jsonb_agg(case when q -> 'required' = 'false'::jsonb
                                         then q - 'required' else q end order by n)
                     from jsonb_array_elements(questions) with ordinality a(q, n)),
                  published_by, published_at
             from survey_versions where survey_id = $1 and version = 1""",
        uuid.UUID(survey["id"]),
    )
    await db.execute("update surveys set version = 2 where id = $1", uuid.UUID(survey["id"]))
    stored = await db.fetchval(
        "select questions::text from survey_versions where survey_id = $1 and version = 2",
        uuid.UUID(survey["id"]),
    )
    assert '"required": false' not in stored  # as an earlier release stored it
    url = f"{SURVEYS}/{survey['id']}"
    assert (await client.get(url, headers=marketing)).json()["draft_changed"] is False
    saved = await client.patch(url, json={"questions": VISIT_QUESTIONS}, headers=marketing)
    assert saved.status_code == 200, saved.text
    assert saved.json()["draft_changed"] is False
    again = await client.post(f"{url}/publish", headers=marketing)
    assert again.status_code == 409
    assert again.json()["code"] == "survey.unchanged"

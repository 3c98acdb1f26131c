"""Survey design test data: questions of every type, and drafting and publishing over HTTP."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

SURVEYS = "/api/v1/surveys"
Client = AsyncTestClient[Litestar]


def option(value: str, label: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"value": value, "label": label or value.upper(), **extra}


def question(key: str, type_: str = "single", **extra: Any) -> dict[str, Any]:
    """A question; choice questions get two options unless told."""
    body: dict[str, Any] = {"key": key, "type": type_, "text": f"Question {key}?"}
    if type_ in ("single", "multi") and "options" not in extra:
        body["options"] = [option("yes", "是"), option("no", "否")]
    return {**body, **extra}


def show_if(key: str, *values: str | int) -> dict[str, Any]:
    return {"show_if": {"key": key, "in": list(values)}}


# A visit survey: NPS, a reason shown to detractors only, a rating, a choice with a tag, text.
VISIT_QUESTIONS = [
    question("nps", "nps", text="您有多大可能向亲友推荐我行？", required=True),
    question("why_low", "text", text="请告诉我们哪里做得不好", **show_if("nps", *range(7))),
    question("service", "rating", text="您对客户经理的服务满意吗？", required=True),
    question(
        "interest",
        "multi",
        text="您对哪些产品感兴趣？",
        options=[option("fund", "基金", tag="基金意向"), option("deposit", "存款")],
    ),
    question("comment", "text", text="其他建议"),
]


def as_answered(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions as the API answers them: `required` always there, `false` when not sent."""
    return [{**q, "required": q.get("required", False)} for q in questions]


def survey_body(questions: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "title": "网点拜访回访",
        "audience": "customer",
        "questions": VISIT_QUESTIONS if questions is None else questions,
        **extra,
    }


async def draft(client: Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """POST /surveys (asserting 201); the survey."""
    response = await client.post(SURVEYS, json=survey_body(**body), headers=headers)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def published(client: Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """A draft published as version 1; the survey."""
    survey = await draft(client, headers, **body)
    response = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=headers)
    assert response.status_code == 201, response.text
    return {**survey, "status": "published", "version": 1}

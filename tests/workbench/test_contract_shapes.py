"""Answers shaped as API.md writes them: lists as `{items, next_cursor}` pages (the bare arrays
of earlier versions only when asked for with the deprecated `array=true`), and `required` sent
with every form field and survey question, `false` too. (Approve with `{}`:
brochures/test_approve_empty_body.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.customers_data import product_row as product
from tests.sync.sync_data import pull_all
from tests.tasks_data import TASKS, TEMPLATES, create_template, field, issue

pytestmark = pytest.mark.usefixtures("demo_bank")

RULES = "/api/v1/admin/recommendation-rules"


async def pages(client: Any, url: str, headers: dict[str, str], limit: int) -> list[Any]:
    """Every item of a list, page by page as an app follows `next_cursor`; each page is
    exactly `{items, next_cursor}` with at most `limit` items."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert isinstance(page, dict), page
        assert set(page) == {"items", "next_cursor"}, page
        assert 1 <= len(page["items"]) <= limit or (not items and not page["items"]), page
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items
    raise AssertionError("the list never ends")


# ---- task templates ----------------------------------------------------------------------------


async def test_task_templates_are_a_page_through_which_limit_1_reaches_every_one(client):
    admin = await headers_of(client, "admin")
    # Two of one name: the cursor must tell them apart (name, then id).
    names = ["拜访", "电话回访", "拜访", "Annual review", "季度检视"]
    made = {(await create_template(client, admin, name=name))["id"] for name in names}

    first = await client.get(TEMPLATES, headers=admin)
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"items", "next_cursor"}
    assert {t["id"] for t in first.json()["items"]} == made
    assert first.json()["next_cursor"] is None  # all of them fit the default page

    one_by_one = await pages(client, TEMPLATES, admin, limit=1)
    assert [t["id"] for t in one_by_one] == [t["id"] for t in first.json()["items"]]
    assert len(one_by_one) == len(made)
    assert [t["name"] for t in one_by_one] == sorted(names)
    two_by_two = await pages(client, TEMPLATES, admin, limit=2)
    assert two_by_two == one_by_one

    # An RM pages through what they see, too; a cursor the list never issued is a 400.
    rm01 = await headers_of(client, "rm01")
    assert {t["id"] for t in await pages(client, TEMPLATES, rm01, limit=1)} == made
    bad = await client.get(TEMPLATES, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=rm01)
    assert bad.status_code == 400, bad.text
    assert bad.json()["code"] == "request.bad_cursor"


async def test_task_templates_as_a_bare_array_only_when_asked(client):
    admin = await headers_of(client, "admin")
    for name in ("A", "B", "C"):
        await create_template(client, admin, name=name)
    page = (await client.get(TEMPLATES, headers=admin)).json()

    old = await client.get(TEMPLATES, params={"array": "true", "limit": 1}, headers=admin)
    assert old.status_code == 200, old.text
    assert old.json() == page["items"]  # every template: `limit` is not for the old form
    asked_not = await client.get(TEMPLATES, params={"array": "false"}, headers=admin)
    assert asked_not.json() == page


# ---- recommendations -------------------------------------------------------------------------


@pytest.fixture
async def ranked(client: Any, db: Any) -> str:
    """A C3 customer of rm01's, with six suitable products ranked 30, 20, 20, 20, 0, 0 (ties
    broken by code) and one above their risk level."""
    admin = await headers_of(client, "admin")
    await feed(client, admin, "products", [
        product("P-TOP"), product("P-B"), product("P-A"), product("P-C"),
        product("P-Z", category="deposit"), product("P-Y", category="deposit"),
        product("P-RISKY", risk_level="R5"),
    ])  # fmt: skip
    await feed(client, admin, "customers", [customer_row("SHAPE-1", name="张三", seq=1)])
    rules = [
        {"name": "基金", "when": {}, "recommend": {"category": "fund"}, "weight": 20},
        {"name": "首推", "when": {}, "recommend": {"product_code": "P-TOP"}, "weight": 10},
        {"name": "高风险", "when": {}, "recommend": {"product_code": "P-RISKY"}, "weight": 999},
    ]
    saved = await client.put(RULES, json={"rules": rules}, headers=admin)
    assert saved.status_code == 200, saved.text
    return str((await customer_ids(db, ["SHAPE-1"]))["SHAPE-1"])


RANKING = [("P-TOP", 30), ("P-A", 20), ("P-B", 20), ("P-C", 20), ("P-Y", 0), ("P-Z", 0)]


async def test_recommendations_are_a_page_through_which_limit_1_reaches_every_one(client, ranked):
    rm01 = await headers_of(client, "rm01")
    url = f"{CUSTOMERS}/{ranked}/recommendations"

    first = await client.get(url, headers=rm01)
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"items", "next_cursor"}
    assert [(r["product_code"], r["score"]) for r in first.json()["items"]] == RANKING
    assert first.json()["next_cursor"] is None

    one_by_one = await pages(client, url, rm01, limit=1)
    assert [(r["product_code"], r["score"]) for r in one_by_one] == RANKING
    assert await pages(client, url, rm01, limit=4) == first.json()["items"]
    short = (await client.get(url, params={"limit": 2}, headers=rm01)).json()
    assert [r["product_code"] for r in short["items"]] == ["P-TOP", "P-A"]
    assert short["next_cursor"] is not None

    assert (await client.get(url, params={"limit": 51}, headers=rm01)).status_code == 422
    bad = await client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=rm01)
    assert bad.status_code == 400, bad.text
    assert bad.json()["code"] == "request.bad_cursor"


async def test_recommendations_as_a_bare_array_only_when_asked(client, ranked):
    rm01 = await headers_of(client, "rm01")
    url = f"{CUSTOMERS}/{ranked}/recommendations"
    page = (await client.get(url, headers=rm01)).json()

    old = await client.get(url, params={"array": "true"}, headers=rm01)
    assert old.status_code == 200, old.text
    assert old.json() == page["items"]
    limited = await client.get(url, params={"array": "1", "limit": 2}, headers=rm01)
    assert [r["product_code"] for r in limited.json()] == ["P-TOP", "P-A"]
    # Still scoped like the customer: another RM's customer is a 404 in either form.
    rm02 = await headers_of(client, "rm02")
    hidden = await client.get(url, params={"array": "true"}, headers=rm02)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "customer.not_found"


# ---- `required` always sent ---------------------------------------------------------------------


def _fields(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in template["form"]["fields"]}


async def test_form_fields_always_carry_required(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    # Sent without `required` (an older admin tool), and with `required: false` and `true`.
    created = await create_template(
        client, admin,
        field("note", "text", label="备注"),
        field("amount", "number", required=False),
        field("place", "location", required=True),
        name="拜访",
    )  # fmt: skip
    expected = {"note": False, "amount": False, "place": True}

    def assert_required(where: str, template_or_form: dict[str, Any]) -> None:
        fields = _fields(template_or_form)
        assert {k: f.get("required", "absent") for k, f in fields.items()} == expected, where
        assert fields["note"] == {"key": "note", "label": "备注", "type": "text", "required": False}

    assert_required("POST /task-templates", created)
    listed = (await client.get(TEMPLATES, headers=rm01)).json()["items"]
    assert_required("GET /task-templates", next(t for t in listed if t["id"] == created["id"]))
    old = (await client.get(TEMPLATES, params={"array": "true"}, headers=rm01)).json()
    assert_required("GET /task-templates?array=true", old[0])
    one = (await client.get(f"{TEMPLATES}/{created['id']}", headers=rm01)).json()
    assert_required("GET /task-templates/{id}", one)

    tasks = await issue(client, db, admin, created["id"], org_unit="team-east-1")
    task = await client.get(f"{TASKS}/{tasks['rm01']}", headers=rm01)
    assert task.status_code == 200, task.text
    assert_required("GET /tasks/{id}", task.json())

    changes, _ = await pull_all(client, rm01, db=db)
    synced = [c for c in changes if c["entity"] == "task_template" and c["id"] == created["id"]]
    assert synced, [c["entity"] for c in changes]
    assert_required("sync task_template", synced[-1]["data"])
    synced_tasks = [c for c in changes if c["entity"] == "task" and c["id"] == str(tasks["rm01"])]
    assert synced_tasks
    assert_required("sync task", synced_tasks[-1]["data"])


async def test_survey_questions_always_carry_required(client):
    marketing = await headers_of(client, "marketing")
    body = {
        "title": "满意度",
        "audience": "customer",
        "questions": [
            {"key": "score", "type": "nps", "text": "推荐意愿", "required": True},
            {"key": "why", "type": "text", "text": "原因"},
        ],
    }
    created = await client.post("/api/v1/surveys", json=body, headers=marketing)
    assert created.status_code == 201, created.text
    questions = {q["key"]: q for q in created.json()["questions"]}
    assert questions["score"]["required"] is True
    assert questions["why"] == {"key": "why", "type": "text", "text": "原因", "required": False}
    survey = await client.get(f"/api/v1/surveys/{created.json()['id']}", headers=marketing)
    assert survey.status_code == 200, survey.text
    assert [q["required"] for q in survey.json()["questions"]] == [True, False]

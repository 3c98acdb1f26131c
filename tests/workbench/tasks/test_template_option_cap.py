"""A choice field offers at most 200 options: every RM's template list and offline sync carry
them all, so more is a 422 naming the field (as fields are capped at 100, reminders at 10)."""

from __future__ import annotations

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TEMPLATES, create_template, field, template_body

pytestmark = pytest.mark.usefixtures("demo_bank")


def options(n: int) -> list[str]:
    return [f"option {i}" for i in range(n)]


@pytest.mark.parametrize("count", [201, 100_000])
async def test_too_many_options_are_refused_naming_the_field(client, db, count):
    admin = await headers_of(client, "admin")
    body = template_body(
        field("notes", "text"), field("outcome", "multi_choice", options=options(count))
    )
    response = await client.post(TEMPLATES, json=body, headers=admin)
    assert response.status_code == 422, response.text[:500]
    problem = response.json()
    assert problem["code"] == "template.invalid_form"
    assert problem["errors"] == [
        {
            "path": "$.form.fields[1].options",
            "message": f"at most 200 options (this field gives {count})",
        }
    ]
    assert await db.fetchval("select count(*) from task_templates") == 0


async def test_two_hundred_options_are_taken_and_an_edit_past_them_is_refused(client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(
        client, admin, field("outcome", "choice", options=options(200))
    )
    assert len(template["form"]["fields"][0]["options"]) == 200
    body = template_body(field("outcome", "choice", options=options(201)))
    edit = await client.put(f"{TEMPLATES}/{template['id']}", json=body, headers=admin)
    assert edit.status_code == 422, edit.text[:500]
    assert [e["path"] for e in edit.json()["errors"]] == ["$.form.fields[0].options"]
    current = await client.get(f"{TEMPLATES}/{template['id']}", headers=admin)
    assert current.json()["version"] == 1

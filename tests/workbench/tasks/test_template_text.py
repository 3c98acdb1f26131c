"""What RMs read of a template shows what it says: its name (the title of the tasks event rules
create), its fields' labels and its choice options are refused blank, invisible, on several
lines or reading backwards, with the path of each; they are stored trimmed, and options that
differ only by spaces are one option. Creating and editing templates is audited."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TEMPLATES, create_template, field, template_body

pytestmark = pytest.mark.usefixtures("demo_bank")

NOT_SHOWN = {
    "spaces": "   ",
    "a tab and a line break": "\t\n",
    "zero-width spaces": "\u200b\u200b",
    "two lines": "客户\n拜访",
    "reversed": "\u202e问访户客",
    "an isolate": "拜访\u2067",
}


async def _count(db: Any) -> tuple[int, int]:
    return (
        await db.fetchval("select count(*) from task_templates"),
        await db.fetchval("select count(*) from task_template_versions"),
    )


@pytest.mark.parametrize("text", NOT_SHOWN.values(), ids=list(NOT_SHOWN))
async def test_a_name_that_shows_nothing_or_reads_otherwise_is_refused(client, db, text):
    admin = await headers_of(client, "admin")
    created = await client.post(TEMPLATES, json=template_body(name=text), headers=admin)
    assert created.status_code == 422, created.text
    assert created.json()["code"] == "request.validation_failed"
    assert [e["path"] for e in created.json()["errors"]] == ["$.name"]
    assert await _count(db) == (0, 0)

    template = await create_template(client, admin)
    edited = await client.put(
        f"{TEMPLATES}/{template['id']}", json=template_body(name=text), headers=admin
    )
    assert edited.status_code == 422, edited.text
    assert [e["path"] for e in edited.json()["errors"]] == ["$.name"]
    assert await _count(db) == (1, 1)
    assert (await client.get(f"{TEMPLATES}/{template['id']}", headers=admin)).json() == template


@pytest.mark.parametrize("text", NOT_SHOWN.values(), ids=list(NOT_SHOWN))
async def test_labels_and_options_that_show_nothing_are_refused_by_path(client, db, text):
    admin = await headers_of(client, "admin")
    body = template_body(
        field("notes", "text"),
        field("outcome", "choice", label=text, options=["yes", text, "no"]),
        field("products", "multi_choice", options=[text, "fund"]),
    )
    response = await client.post(TEMPLATES, json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "template.invalid_form"
    assert sorted(e["path"] for e in problem["errors"]) == [
        "$.form.fields[1].label",
        "$.form.fields[1].options[1]",
        "$.form.fields[2].options[0]",
    ]
    assert await _count(db) == (0, 0)


async def test_options_differing_only_by_spaces_are_one_option(client, db):
    admin = await headers_of(client, "admin")
    for options in (["x", "x "], [" 是", "是", "否"], ["a", "b", "\tb\t"]):
        body = template_body(field("outcome", "choice", options=options))
        response = await client.post(TEMPLATES, json=body, headers=admin)
        assert response.status_code == 422, (options, response.text)
        assert [e["path"] for e in response.json()["errors"]] == ["$.form.fields[0].options"]
    assert await _count(db) == (0, 0)


async def test_names_labels_and_options_are_stored_trimmed(client):
    admin = await headers_of(client, "admin")
    template = await create_template(
        client,
        admin,
        field("notes", "text", label="  备注 "),
        field("outcome", "choice", options=[" 有意向", "无意向 "]),
        name="  客户拜访\u3000",
    )
    assert template["name"] == "客户拜访"
    fields = template["form"]["fields"]
    assert (fields[0]["label"], fields[1]["options"]) == ("备注", ["有意向", "无意向"])


async def test_creating_and_editing_templates_is_audited_by_field_name(client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, name="客户拜访")
    changed = template_body(
        field("notes", "text", label="Remarks"), name="重点客户拜访", sla_hours=24
    )
    edited = await client.put(f"{TEMPLATES}/{template['id']}", json=changed, headers=admin)
    assert edited.status_code == 200, edited.text
    same = await client.put(f"{TEMPLATES}/{template['id']}", json=changed, headers=admin)
    assert same.status_code == 200, same.text

    rows = await db.fetch(
        "select actor_id, action, subject, detail::text as detail from audit_events"
        " where action like 'task_template.%' order by id"
    )
    admin_id = await db.fetchval("select id from users where login = 'admin'")
    subject = f"task_template:{template['id']}"
    assert [(r["actor_id"], r["action"], r["subject"], json.loads(r["detail"])) for r in rows] == [
        (admin_id, "task_template.created", subject,
         {"version": 1, "owner_unit_id": template["owner_unit_id"]}),
        (admin_id, "task_template.updated", subject,
         {"version": 2, "changed": ["name", "form", "sla_hours"]}),
        (admin_id, "task_template.updated", subject, {"version": 3, "changed": []}),
    ]  # fmt: skip
    assert all("拜访" not in r["detail"] for r in rows)  # names, never values


async def test_an_unknown_template_edit_is_not_audited(client, db):
    admin = await headers_of(client, "admin")
    response = await client.put(f"{TEMPLATES}/{uuid.uuid4()}", json=template_body(), headers=admin)
    assert response.status_code == 404, response.text
    assert (
        await db.fetchval("select count(*) from audit_events where action like 'task_template.%'")
        == 0
    )

"""Task templates: who may create them, typed forms, recurrence, visibility, and versions that
never change the form of tasks already issued."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import (
    EVERY_TYPE_FIELDS,
    TASKS,
    TEMPLATES,
    create_template,
    field,
    issue,
    template_body,
    unit,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _count(db: Any) -> tuple[int, int]:
    return (
        await db.fetchval("select count(*) from task_templates"),
        await db.fetchval("select count(*) from task_template_versions"),
    )


# ---- who creates -----------------------------------------------------------------------------


async def test_admin_creates_a_template_for_any_unit(client, db):
    admin = await headers_of(client, "admin")
    default = await create_template(client, admin, name="Quarterly review")
    assert default["owner_unit_id"] == str(unit("head-office"))  # the creator's own unit
    assert default["version"] == 1
    assert default["name"] == "Quarterly review"

    west = await create_template(client, admin, owner_unit_id=str(unit("team-west-2")))
    assert west["owner_unit_id"] == str(unit("team-west-2"))
    row = await db.fetchrow(
        "select owner_unit_id, current_version from task_templates where id = $1",
        uuid.UUID(west["id"]),
    )
    assert (row["owner_unit_id"], row["current_version"]) == (unit("team-west-2"), 1)


async def test_branch_head_creates_only_inside_their_subtree(client, db):
    head = await headers_of(client, "bh.east")
    own = await create_template(client, head)
    assert own["owner_unit_id"] == str(unit("branch-east"))
    team = await create_template(client, head, owner_unit_id=str(unit("team-east-2")))
    assert team["owner_unit_id"] == str(unit("team-east-2"))

    before = await _count(db)
    for outside in ("branch-west", "team-west-1", "head-office"):
        response = await client.post(
            TEMPLATES, json=template_body(owner_unit_id=str(unit(outside))), headers=head
        )
        assert response.status_code == 404, (outside, response.text)
        assert response.json()["code"] == "org_unit.not_found"
    assert await _count(db) == before


@pytest.mark.parametrize("who", ["rm01", "marketing", "compliance"])
async def test_other_roles_cannot_create_or_edit_templates(client, db, who):
    admin = await headers_of(client, "admin")
    existing = await create_template(client, admin)
    caller = await headers_of(client, who)
    before = await _count(db)

    created = await client.post(TEMPLATES, json=template_body(), headers=caller)
    assert created.status_code == 403, created.text
    assert created.json()["code"] == "auth.forbidden"
    edited = await client.put(
        f"{TEMPLATES}/{existing['id']}", json=template_body(name="Hijacked"), headers=caller
    )
    assert edited.status_code == 403, edited.text
    assert await _count(db) == before


# ---- forms -----------------------------------------------------------------------------------


async def test_every_field_type_is_accepted_and_given_back(client):
    admin = await headers_of(client, "admin")
    fields = [dict(f, required=True) for f in EVERY_TYPE_FIELDS]
    created = await create_template(
        client,
        admin,
        *fields,
        name="Everything",
        requires_customer_confirmation=True,
        sla_hours=48,
        reminders=[{"minutes_before_due": 60}, {"minutes_before_due": 1440}],
    )
    got = await client.get(f"{TEMPLATES}/{created['id']}", headers=admin)
    assert got.status_code == 200, got.text
    template = got.json()
    assert template == created
    assert [(f["key"], f["type"], f["required"]) for f in template["form"]["fields"]] == [
        (f["key"], f["type"], True) for f in EVERY_TYPE_FIELDS
    ]
    by_key = {f["key"]: f for f in template["form"]["fields"]}
    assert by_key["outcome"]["options"] == ["yes", "no", "later"]
    assert by_key["products"]["options"] == ["fund", "bond", "deposit"]
    assert (by_key["amount"]["min"], by_key["amount"]["max"]) == (1, 100)
    assert by_key["notes"]["max_length"] == 10
    assert template["requires_customer_confirmation"] is True
    assert template["sla_hours"] == 48
    assert sorted(r["minutes_before_due"] for r in template["reminders"]) == [60, 1440]


BAD_FORMS = {
    "duplicate keys": (
        [field("notes", "text"), field("amount", "number"), field("notes", "date")],
        ["$.form.fields[2].key"],
    ),
    "choice without options": ([field("outcome", "choice")], ["$.form.fields[0].options"]),
    "choice with empty options": (
        [field("notes", "text"), field("outcome", "choice", options=[])],
        ["$.form.fields[1].options"],
    ),
    "multi_choice without options": (
        [field("products", "multi_choice")],
        ["$.form.fields[0].options"],
    ),
    "repeated options": (
        [field("outcome", "choice", options=["yes", "yes"])],
        ["$.form.fields[0].options"],
    ),
    "options on a text field": (
        [field("notes", "text", options=["a", "b"])],
        ["$.form.fields[0].options"],
    ),
    "options on a number field": (
        [field("notes", "text"), field("amount", "number", options=["1"])],
        ["$.form.fields[1].options"],
    ),
    "min above max": ([field("amount", "number", min=10, max=1)], ["$.form.fields[0].min"]),
    "min above max on photos": (
        [field("photos", "photo", min=5, max=2)],
        ["$.form.fields[0].min"],
    ),
    "empty form": ([], ["$.form.fields"]),
    # Bounds no answer can meet: the form's tasks could never be submitted.
    "a fraction of a photo at most": (
        [field("photos", "photo", required=True, max=0.5)],
        ["$.form.fields[0].max"],
    ),
    "more photos at least than an answer holds": (
        [field("photos", "photo", min=30)],
        ["$.form.fields[0].min"],
    ),
    "more photos at most than an answer holds": (
        [field("photos", "photo", max=100)],
        ["$.form.fields[0].max"],
    ),
    "a fraction of a photo at least": (
        [field("photos", "photo", min=1.5, max=3)],
        ["$.form.fields[0].min"],
    ),
    "no photo at most": ([field("photos", "photo", max=0)], ["$.form.fields[0].max"]),
    # Bounds a field's type does not use.
    "min and max on a text field": (
        [field("notes", "text", min=1, max=5)],
        ["$.form.fields[0].min", "$.form.fields[0].max"],
    ),
    "max on a choice field": (
        [field("outcome", "choice", options=["yes"], max=1)],
        ["$.form.fields[0].max"],
    ),
    "min on a signature": ([field("signature", "signature", min=1)], ["$.form.fields[0].min"]),
    "max_length on a number field": (
        [field("amount", "number", max_length=10)],
        ["$.form.fields[0].max_length"],
    ),
    "several problems at once": (
        [
            field("a", "choice"),
            field("a", "text", options=["x"]),
            field("n", "number", min=3, max=2),
        ],
        [
            "$.form.fields[0].options",
            "$.form.fields[1].key",
            "$.form.fields[1].options",
            "$.form.fields[2].min",
        ],
    ),
}


@pytest.mark.parametrize("case", BAD_FORMS, ids=list(BAD_FORMS))
async def test_inconsistent_forms_are_refused_with_per_field_paths(client, db, case):
    fields, paths = BAD_FORMS[case]
    admin = await headers_of(client, "admin")
    body = {"name": "Broken", "form": {"fields": fields}}
    response = await client.post(TEMPLATES, json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "template.invalid_form"
    assert sorted(e["path"] for e in problem["errors"]) == sorted(paths)
    assert await _count(db) == (0, 0)


async def test_bounds_an_answer_can_meet_are_accepted(client):
    admin = await headers_of(client, "admin")
    fields = [
        field("photos", "photo", required=True, min=1, max=20),
        field("more", "photo", min=0, max=1.0),
        field("amount", "number", min=-0.5, max=0.5),
        field("notes", "text", max_length=5),
    ]
    template = await create_template(client, admin, *fields)
    assert [f.get("max") for f in template["form"]["fields"]] == [20, 1, 0.5, None]


async def test_a_bad_bound_names_its_field(client):
    admin = await headers_of(client, "admin")
    body = template_body(field("notes", "text"), field("photos", "photo", min=30))
    response = await client.post(TEMPLATES, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"path": "$.form.fields[1].min", "message": "a whole number of photos from 0 to 20"}
    ]


async def test_an_edit_with_a_bad_form_changes_nothing(client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("notes", "text"))
    response = await client.put(
        f"{TEMPLATES}/{template['id']}",
        json={"name": "Broken", "form": {"fields": [field("outcome", "choice")]}},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "template.invalid_form"
    assert [e["path"] for e in response.json()["errors"]] == ["$.form.fields[0].options"]
    assert await _count(db) == (1, 1)
    current = await client.get(f"{TEMPLATES}/{template['id']}", headers=admin)
    assert current.json() == template


@pytest.mark.parametrize(
    "rule", ["FREQ=HOURLY", "every monday", "FREQ=WEEKLY;BYDAY=XX", "FREQ=MONTHLY;BYMONTHDAY=32"]
)
async def test_a_bad_rrule_is_refused(client, db, rule):
    admin = await headers_of(client, "admin")
    response = await client.post(TEMPLATES, json=template_body(recurrence=rule), headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "template.bad_recurrence"
    assert await _count(db) == (0, 0)


async def test_a_good_rrule_is_stored_normalized(client):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, recurrence="rrule:freq=weekly;byday=mo")
    assert template["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"


# ---- visibility ------------------------------------------------------------------------------


async def test_templates_are_visible_along_the_owner_path(client):
    admin = await headers_of(client, "admin")
    head_office = await create_template(client, admin, name="A head office")
    east = await create_template(
        client, admin, name="B east", owner_unit_id=str(unit("branch-east"))
    )
    west = await create_template(
        client, admin, name="C west", owner_unit_id=str(unit("branch-west"))
    )
    team1 = await create_template(
        client, admin, name="D east team 1", owner_unit_id=str(unit("team-east-1"))
    )
    everything = {head_office["id"], east["id"], west["id"], team1["id"]}

    expected = {
        "admin": everything,
        "bh.east": {head_office["id"], east["id"], team1["id"]},
        "bh.west": {head_office["id"], west["id"]},
        "rm01": {head_office["id"], east["id"], team1["id"]},  # team-east-1
        "rm03": {head_office["id"], east["id"]},  # team-east-2: not the other team's
        "rm05": {head_office["id"], west["id"]},
        "rm08": {head_office["id"], west["id"]},
    }
    for who, visible in expected.items():
        headers = await headers_of(client, who)
        listed = await client.get(TEMPLATES, headers=headers)
        assert listed.status_code == 200, listed.text
        assert {t["id"] for t in listed.json()["items"]} == visible, who
        for template_id in everything:
            got = await client.get(f"{TEMPLATES}/{template_id}", headers=headers)
            if template_id in visible:
                assert got.status_code == 200, (who, got.text)
                assert got.json()["id"] == template_id
            else:
                assert got.status_code == 404, (who, got.text)
                assert got.json()["code"] == "template.not_found"
            old = await client.get(f"{TEMPLATES}/{template_id}?version=1", headers=headers)
            assert old.status_code == (200 if template_id in visible else 404), who


async def test_unknown_template_is_404(client):
    admin = await headers_of(client, "admin")
    response = await client.get(f"{TEMPLATES}/{uuid.uuid4()}", headers=admin)
    assert response.status_code == 404
    assert response.json()["code"] == "template.not_found"


async def test_branch_head_edits_only_templates_of_their_subtree(client, db):
    admin = await headers_of(client, "admin")
    east = await create_template(client, admin, owner_unit_id=str(unit("branch-east")))
    head_office = await create_template(client, admin)
    west_head = await headers_of(client, "bh.west")
    east_head = await headers_of(client, "bh.east")
    # bh.west does not see the east template (404); sees the head-office one, not theirs (403).
    for template, status in ((east, 404), (head_office, 403)):
        refused = await client.put(
            f"{TEMPLATES}/{template['id']}", json=template_body(name="Mine"), headers=west_head
        )
        assert refused.status_code == status, refused.text
    # bh.east may use the head-office template but not change it for the whole bank.
    refused = await client.put(
        f"{TEMPLATES}/{head_office['id']}", json=template_body(name="Mine"), headers=east_head
    )
    assert refused.status_code == 403, refused.text
    assert await _count(db) == (2, 2)
    edited = await client.put(
        f"{TEMPLATES}/{east['id']}", json=template_body(name="East v2"), headers=east_head
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["name"]) == (2, "East v2")


# ---- versions --------------------------------------------------------------------------------


async def test_put_makes_a_new_version_and_old_versions_stay_readable(client):
    admin = await headers_of(client, "admin")
    v1_fields = [field("notes", "text", required=True)]
    v2_fields = [field("notes", "text"), field("amount", "number", min=0)]
    template = await create_template(client, admin, *v1_fields, name="Visit v1")
    url = f"{TEMPLATES}/{template['id']}"

    edited = await client.put(
        url,
        json=template_body(*v2_fields, name="Visit v2", requires_customer_confirmation=True),
        headers=admin,
    )
    assert edited.status_code == 200, edited.text
    v2 = edited.json()
    assert (v2["id"], v2["version"], v2["name"]) == (template["id"], 2, "Visit v2")
    assert [f["key"] for f in v2["form"]["fields"]] == ["notes", "amount"]
    assert v2["requires_customer_confirmation"] is True

    current = (await client.get(url, headers=admin)).json()
    assert current == v2
    old = await client.get(f"{url}?version=1", headers=admin)
    assert old.status_code == 200, old.text
    assert old.json()["version"] == 1
    assert old.json()["name"] == "Visit v1"
    assert old.json()["form"] == template["form"]
    assert old.json()["requires_customer_confirmation"] is False
    assert (await client.get(f"{url}?version=2", headers=admin)).json() == v2
    missing = await client.get(f"{url}?version=3", headers=admin)
    assert missing.status_code == 404
    listed = (await client.get(TEMPLATES, headers=admin)).json()["items"]
    assert [(t["id"], t["version"]) for t in listed] == [(template["id"], 2)]


async def test_tasks_keep_the_form_of_the_version_they_were_issued_with(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    v1_fields = [field("notes", "text"), field("outcome", "choice", options=["yes", "no"])]
    template = await create_template(client, admin, *v1_fields, name="Visit")
    v1_form = template["form"]
    old_task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]

    v2_fields = [
        field("notes", "text"),
        field("outcome", "choice", options=["yes", "no", "maybe"]),
        field("extra", "text", required=True),
    ]
    edited = await client.put(
        f"{TEMPLATES}/{template['id']}", json=template_body(*v2_fields), headers=admin
    )
    assert edited.status_code == 200, edited.text
    new_task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]

    old = (await client.get(f"{TASKS}/{old_task}", headers=rm01)).json()
    assert old["template_version"] == 1
    assert old["form"] == v1_form
    new = (await client.get(f"{TASKS}/{new_task}", headers=rm01)).json()
    assert new["template_version"] == 2
    assert new["form"] == edited.json()["form"]

    for task_id in (old_task, new_task):
        started = await client.post(f"{TASKS}/{task_id}/start", headers=rm01)
        assert started.status_code == 200, started.text

    # A field added in v2 is not a field of the old task's form; an option added in v2 is not
    # one of its options.
    refused = await client.post(
        f"{TASKS}/{old_task}/submit",
        json={"values": {"notes": "hi", "extra": "x", "outcome": "maybe"}},
        headers=rm01,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "task.invalid_submission"
    errors = {e["path"]: e["message"] for e in refused.json()["errors"]}
    assert set(errors) == {"$.values.extra", "$.values.outcome"}
    assert errors["$.values.extra"] == "not a field of this form"

    # The new task needs v2's required field ...
    missing = await client.post(
        f"{TASKS}/{new_task}/submit", json={"values": {"notes": "hi"}}, headers=rm01
    )
    assert missing.status_code == 422, missing.text
    assert [e["path"] for e in missing.json()["errors"]] == ["$.values.extra"]
    # ... which the old task does not.
    done = await client.post(
        f"{TASKS}/{old_task}/submit",
        json={"values": {"notes": "hi", "outcome": "no"}},
        headers=rm01,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["values"] == {"notes": "hi", "outcome": "no"}
    assert done.json()["form"] == v1_form


async def test_a_template_a_branch_head_sees_but_does_not_own_is_403_not_404(client, db):
    admin = await headers_of(client, "admin")
    head_office = await create_template(client, admin, name="Bank-wide visit")
    west = await create_template(client, admin, owner_unit_id=str(unit("branch-west")))
    east_head = await headers_of(client, "bh.east")
    url = f"{TEMPLATES}/{head_office['id']}"
    assert (await client.get(url, headers=east_head)).status_code == 200  # bh.east reads it
    before = await _count(db)

    refused = await client.put(url, json=template_body(name="Mine"), headers=east_head)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["code"] == "template.not_editable"
    assert "owned by a unit above yours" in problem["detail"]
    assert await _count(db) == before
    shown = await client.get(url, headers=east_head)
    assert (shown.json()["version"], shown.json()["name"]) == (1, "Bank-wide visit")

    # One bh.east cannot see stays a 404: its existence does not leak.
    hidden = await client.put(
        f"{TEMPLATES}/{west['id']}", json=template_body(name="Mine"), headers=east_head
    )
    assert hidden.status_code == 404, hidden.text
    assert hidden.json()["code"] == "template.not_found"

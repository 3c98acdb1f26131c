"""One uploaded image answers one field of a submission: a photo is not both the front and the
inside, a signature not both the customer's and the manager's."""

from __future__ import annotations

import uuid

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import TASKS, attach, create_template, field, issue

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def visit(client, db) -> uuid.UUID:
    """A started visit of rm01's with two required photo and two required signature fields."""
    admin = await headers_of(client, "admin")
    rows = [customer_row("P1", name="客户甲", owner="rm01", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template = await create_template(
        client, admin,
        field("front", "photo", required=True), field("inside", "photo", required=True),
        field("sig", "signature", required=True, label="Customer signature"),
        field("sig2", "signature", required=True, label="Manager signature"),
    )  # fmt: skip
    customer = (await customer_ids(db))["P1"]
    task_id = (await issue(client, db, admin, template["id"], customer_ids=[customer]))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task_id}/start", headers=rm01)).status_code == 200
    return uuid.UUID(str(task_id))


async def test_one_image_cannot_answer_two_fields(client, db, visit):
    rm01 = await headers_of(client, "rm01")
    photo = await attach(client, rm01, visit)
    signature = await attach(client, rm01, visit, kind="signature")
    values = {"front": [photo], "inside": [photo], "sig": signature, "sig2": signature}
    refused = await client.post(f"{TASKS}/{visit}/submit", json={"values": values}, headers=rm01)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "task.invalid_submission"
    assert problem["errors"] == [
        {"path": "$.values.inside", "message": "an attachment already given for front"},
        {"path": "$.values.sig2", "message": "an attachment already given for sig"},
    ]
    assert await db.fetchval("select status from tasks where id = $1", visit) == "in_progress"

    # Among several photos of a field, one already given elsewhere is refused too.
    other = await attach(client, rm01, visit, color=(10, 20, 30))
    values = {"front": [photo], "inside": [other, photo], "sig": signature, "sig2": signature}
    again = await client.post(f"{TASKS}/{visit}/submit", json={"values": values}, headers=rm01)
    assert again.status_code == 422, again.text
    assert [e["path"] for e in again.json()["errors"]] == ["$.values.inside", "$.values.sig2"]

    manager = await attach(client, rm01, visit, kind="signature", color=(0, 0, 0))
    values = {"front": [photo], "inside": [other], "sig": signature, "sig2": manager}
    done = await client.post(f"{TASKS}/{visit}/submit", json={"values": values}, headers=rm01)
    assert done.status_code == 200, done.text
    assert done.json()["values"] == values

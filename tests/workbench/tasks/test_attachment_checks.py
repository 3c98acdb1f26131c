"""A task's photo is never stamped with a time before the task was issued (a clock set back, or
a backdated stamp: the upload's time stands in, as for any time a phone's clock cannot be
believed for), and a retried upload is the same upload only as the same kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import create_template, field, image_bytes, issue, upload
from workbench.tasks.photos import Stamp, process_photo

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def visit(client, db) -> uuid.UUID:
    """A visit to one of rm01's customers, dispatched just now."""
    admin = await headers_of(client, "admin")
    rows = [customer_row("V1", name="客户甲", owner="rm01", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template = await create_template(
        client, admin, field("photos", "photo"), field("signature", "signature")
    )
    customer = (await customer_ids(db))["V1"]
    task_id = (await issue(client, db, admin, template["id"], customer_ids=[customer]))["rm01"]
    return uuid.UUID(str(task_id))


async def stored(db) -> int:
    return int(await db.fetchval("select count(*) from task_attachments"))


# ---- taken_at ---------------------------------------------------------------------------------


async def test_a_photo_is_not_stamped_before_its_task_existed(client, db, visit):
    """The reported case: a week-old stamp on a photo of a visit dispatched today."""
    rm01 = await headers_of(client, "rm01")
    created = await db.fetchval("select created_at from tasks where id = $1", visit)
    backdated = datetime.now(UTC) - timedelta(days=6, hours=20)
    before = datetime.now(UTC)
    answer = await upload(client, rm01, visit, image_bytes(),
                          extra={"taken_at": backdated.isoformat()})  # fmt: skip
    assert answer.status_code == 201, answer.text  # the photo is taken all the same
    taken = datetime.fromisoformat(answer.json()["taken_at"])
    assert before <= taken <= datetime.now(UTC)
    assert taken >= created
    row = await db.fetchrow("select taken_at from task_attachments")
    assert row["taken_at"] == taken


async def test_a_photo_taken_offline_after_the_task_was_issued_keeps_its_time(client, db, visit):
    """A task issued four days ago: a photo taken three days ago (offline) keeps that time on
    its watermark; one taken five days ago, before the task existed, has the upload's."""
    await db.execute("update tasks set created_at = now() - interval '4 days' where id = $1", visit)
    rm01 = await headers_of(client, "rm01")
    raw = image_bytes("JPEG", (640, 480))
    offline = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    answer = await upload(client, rm01, visit, raw, extra={"taken_at": offline.isoformat()})
    assert answer.status_code == 201, answer.text
    assert datetime.fromisoformat(answer.json()["taken_at"]) == offline

    before = datetime.now(UTC)
    older = datetime.now(UTC) - timedelta(days=5)
    answer = await upload(client, rm01, visit, image_bytes("JPEG", (640, 480), "white"),
                          extra={"taken_at": older.isoformat()})  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert before <= datetime.fromisoformat(answer.json()["taken_at"]) <= datetime.now(UTC)


async def test_the_watermark_shows_the_time_believed(client, db):
    """The stamped image is the one the believed time makes, never the backdated one."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("photos", "photo"))
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    raw = image_bytes("JPEG", (640, 480))
    backdated = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    answer = await upload(client, rm01, task, raw, extra={"taken_at": backdated.isoformat()})
    assert answer.status_code == 201, answer.text
    taken = datetime.fromisoformat(answer.json()["taken_at"])
    assert taken != backdated
    expected = process_photo(raw, stamp=Stamp("rm01", "-", taken, "Asia/Shanghai"))
    assert answer.json()["sha256"] == expected.sha256
    wrong = process_photo(raw, stamp=Stamp("rm01", "-", backdated, "Asia/Shanghai"))
    assert answer.json()["sha256"] != wrong.sha256


# ---- the same upload again --------------------------------------------------------------------


async def test_a_ref_sent_again_as_another_kind_is_refused(client, db, visit):
    """The same bytes sent first as a photo, then as a signature under the same ref: not a
    retry of the photo (the app would put a photo into a signature field)."""
    rm01 = await headers_of(client, "rm01")
    raw, ref = image_bytes("PNG", (400, 200)), str(uuid.uuid4())
    first = await upload(client, rm01, visit, raw, kind="photo", filename="a.png",
                         content_type="image/png", extra={"client_ref": ref})  # fmt: skip
    assert first.status_code == 201, first.text
    other = await upload(client, rm01, visit, raw, kind="signature", filename="a.png",
                         content_type="image/png", extra={"client_ref": ref})  # fmt: skip
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "attachment.client_ref_reused"
    assert await stored(db) == 1
    assert await db.fetchval("select kind from task_attachments") == "photo"

    # The very same upload again still answers the first one.
    again = await upload(client, rm01, visit, raw, kind="photo", filename="a.png",
                         content_type="image/png", extra={"client_ref": ref})  # fmt: skip
    assert again.status_code == 200, again.text
    assert again.json() == first.json()

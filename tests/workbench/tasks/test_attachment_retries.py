"""A photo uploaded again after its answer was lost on a field network is the same photo, and a
photo taken offline is stamped with the time it was taken."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TASKS, create_template, field, image_bytes, issue, upload
from workbench.tasks.photos import Stamp, process_photo

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def task(client, db) -> uuid.UUID:
    """An rm01 task with a photo field, started (no customer: the stamp's customer is '-')."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("photos", "photo"))
    task_id = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    started = await client.post(
        f"{TASKS}/{task_id}/start", headers=await headers_of(client, "rm01")
    )
    assert started.status_code == 200, started.text
    return uuid.UUID(str(task_id))


async def stored(db) -> int:
    return int(await db.fetchval("select count(*) from task_attachments"))


async def test_a_retried_upload_answers_the_first_attachment_and_stores_it_once(client, db, task):
    rm01 = await headers_of(client, "rm01")
    raw, ref = image_bytes("JPEG", (640, 480)), str(uuid.uuid4())
    first = await upload(client, rm01, task, raw, extra={"client_ref": ref})
    assert first.status_code == 201, first.text
    again = await upload(client, rm01, task, raw, extra={"client_ref": ref})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert first.json()["client_ref"] == ref
    assert await stored(db) == 1


async def test_retries_running_alongside_store_one_attachment(client, db, task):
    rm01 = await headers_of(client, "rm01")
    raw, ref = image_bytes("JPEG", (640, 480)), str(uuid.uuid4())
    answers = await asyncio.gather(
        *(upload(client, rm01, task, raw, extra={"client_ref": ref}) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await stored(db) == 1


async def test_the_idempotency_key_header_names_an_upload_too(client, db, task):
    rm01 = await headers_of(client, "rm01")
    raw = image_bytes("JPEG", (640, 480))
    keyed = {**rm01, "Idempotency-Key": "photo-1 of visit 7"}
    first = await upload(client, keyed, task, raw)
    again = await upload(client, keyed, task, raw)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert await stored(db) == 1


async def test_a_ref_sent_again_with_another_photo_is_refused(client, db, task):
    rm01 = await headers_of(client, "rm01")
    ref = str(uuid.uuid4())
    first = await upload(
        client, rm01, task, image_bytes("JPEG", (640, 480)), extra={"client_ref": ref}
    )
    assert first.status_code == 201, first.text
    other = await upload(
        client, rm01, task, image_bytes("JPEG", (640, 480), "white"), extra={"client_ref": ref}
    )
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "attachment.client_ref_reused"
    assert await stored(db) == 1


async def test_a_retry_after_the_task_was_submitted_still_answers_its_photo(client, db, task):
    rm01 = await headers_of(client, "rm01")
    raw, ref = image_bytes("JPEG", (640, 480)), str(uuid.uuid4())
    first = await upload(client, rm01, task, raw, extra={"client_ref": ref})
    photo = first.json()["id"]
    done = await client.post(
        f"{TASKS}/{task}/submit", json={"values": {"photos": [photo]}}, headers=rm01
    )
    assert done.status_code == 200, done.text
    again = await upload(client, rm01, task, raw, extra={"client_ref": ref})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == photo
    new = await upload(client, rm01, task, raw, extra={"client_ref": str(uuid.uuid4())})
    assert new.status_code == 409  # a new photo for a done task is refused, as before
    assert await stored(db) == 1


async def test_another_rms_ref_is_theirs_alone(client, db, task):
    """Refs are per uploader: rm02 never receives rm01's photo by guessing its ref."""
    rm01, bh = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    raw, ref = image_bytes("JPEG", (640, 480)), str(uuid.uuid4())
    assert (await upload(client, rm01, task, raw, extra={"client_ref": ref})).status_code == 201
    theirs = await upload(client, bh, task, raw, extra={"client_ref": ref})
    assert theirs.status_code == 404, theirs.text  # not their task, as without a ref
    assert await stored(db) == 1


@pytest.mark.parametrize("ref", ["photo-1", "12345", "{not-a-uuid}"])
async def test_a_ref_that_is_not_a_uuid_is_refused_at_its_field(client, db, task, ref):
    rm01 = await headers_of(client, "rm01")
    refused = await upload(client, rm01, task, image_bytes(), extra={"client_ref": ref})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "attachment.bad_client_ref"
    assert [e["path"] for e in refused.json()["errors"]] == ["client_ref"]
    assert await stored(db) == 0


async def test_a_photo_taken_offline_is_stamped_with_the_time_it_was_taken(client, db, task):
    rm01 = await headers_of(client, "rm01")
    # issued four days ago, photographed offline three days ago
    await db.execute("update tasks set created_at = now() - interval '4 days' where id = $1", task)
    raw = image_bytes("JPEG", (640, 480))
    taken = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    answer = await upload(client, rm01, task, raw, extra={"taken_at": taken.isoformat()})
    assert answer.status_code == 201, answer.text
    assert datetime.fromisoformat(answer.json()["taken_at"]) == taken
    # the watermark is the one of that time: the very image the stamp of that time makes
    expected = process_photo(raw, stamp=Stamp("rm01", "-", taken, "Asia/Shanghai"))
    assert answer.json()["sha256"] == expected.sha256
    row = await db.fetchrow("select taken_at from task_attachments")
    assert row["taken_at"] == taken


@pytest.mark.parametrize(
    "taken_at",
    [
        lambda now: (now + timedelta(hours=2)).isoformat(),  # ahead of the server
        lambda now: (now - timedelta(days=30)).isoformat(),  # older than the offline limit
        lambda now: now.replace(tzinfo=None).isoformat(),  # no offset
        lambda now: "yesterday",
    ],
    ids=["future", "too-old", "no-offset", "not-a-time"],
)
async def test_an_implausible_capture_time_is_the_upload_time(client, db, task, taken_at):
    rm01 = await headers_of(client, "rm01")
    before = datetime.now(UTC)
    answer = await upload(client, rm01, task, image_bytes(), extra={"taken_at": taken_at(before)})
    assert answer.status_code == 201, answer.text  # the photo is taken all the same
    assert before <= datetime.fromisoformat(answer.json()["taken_at"]) <= datetime.now(UTC)

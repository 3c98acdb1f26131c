"""A photo's `taken_at` is answered in UTC, as every time on the wire: the first answer to an
upload says what a retry of it (read back from the database) says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import create_template, field, image_bytes, issue, upload

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_first_answer_and_a_retry_give_taken_at_in_utc(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("T1", name="客户甲", owner="rm01", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template = await create_template(client, admin, field("photos", "photo"))
    customer = (await customer_ids(db))["T1"]
    task = (await issue(client, db, admin, template["id"], customer_ids=[customer]))["rm01"]
    await db.execute("update tasks set created_at = now() - interval '1 day' where id = $1", task)
    rm01 = await headers_of(client, "rm01")

    # Taken two hours ago on a phone set to Beijing time, half a second past the second.
    taken = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=500_000)
    sent = taken.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert sent.endswith("+08:00")
    extra = {"taken_at": sent, "client_ref": str(uuid.uuid4())}
    first = await upload(client, rm01, task, image_bytes(), extra=extra)
    assert first.status_code == 201, first.text
    again = await upload(client, rm01, task, image_bytes(), extra=extra)
    assert again.status_code == 200, again.text

    expected = taken.strftime("%Y-%m-%dT%H:%M:%S.500000Z")
    assert first.json()["taken_at"] == expected
    assert again.json() == first.json()

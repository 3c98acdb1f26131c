"""An id repeated within one push (an app that queued a resend of one mutation) is no reason to
refuse the batch: the mutation runs once, the repeat is answered as a resend (`duplicate`, or
the same rejection again; `sync.mutation_id_reused` alone when it is another mutation), and the
rest of the batch lands. (Ids going backwards within a batch still refuse it: test_push.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.sync.test_push import last_id, note, notes_of, push, statuses

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def rm01(client: Any, db: Any) -> tuple[dict[str, str], uuid.UUID]:
    """rm01's headers and a customer of theirs."""
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("R-1", name="王芳", owner="rm01", seq=1)])
    customer: uuid.UUID = await db.fetchval("select id from customers where external_id = 'R-1'")
    return await headers_of(client, "rm01"), customer


async def texts(client: Any, headers: dict[str, str], customer: uuid.UUID) -> list[str]:
    return sorted(n["text"] for n in await notes_of(client, headers, customer))


async def test_a_repeated_id_is_applied_once_and_the_rest_of_the_batch_lands(client, db, rm01):
    headers, customer = rm01
    first = note(customer, "拜访记录")
    batch = [(10, "note.add", first), (10, "note.add", first),
             (11, "note.add", note(customer, "电话回访"))]  # fmt: skip
    answer = await push(client, headers, "phone", *batch)
    assert statuses(answer) == [(10, "applied", None), (10, "duplicate", None),
                                (11, "applied", None)]  # fmt: skip
    assert answer["last_mutation_id"] == 11
    assert await texts(client, headers, customer) == ["拜访记录", "电话回访"]
    assert await last_id(db, "rm01", "phone") == 11
    # The same batch again (its answer was lost): nothing runs twice.
    again = await push(client, headers, "phone", *batch)
    assert statuses(again) == [(10, "duplicate", None), (10, "duplicate", None),
                               (11, "duplicate", None)]  # fmt: skip
    assert await texts(client, headers, customer) == ["拜访记录", "电话回访"]


async def test_a_repeated_id_with_other_content_is_rejected_alone(client, rm01):
    headers, customer = rm01
    answer = await push(
        client, headers, "phone",
        (10, "note.add", note(customer, "第一条")),
        (10, "note.add", note(customer, "冒用同一个编号")),
        (11, "task.start", {"task_id": "not-a-uuid"}),
        (11, "task.start", {"task_id": "not-a-uuid"}),
        (12, "note.add", note(customer, "第三条")),
    )  # fmt: skip
    assert statuses(answer) == [
        (10, "applied", None),
        (10, "rejected", "sync.mutation_id_reused"),
        (11, "rejected", "request.invalid"),
        (11, "rejected", "request.invalid"),  # a resend of a rejection: the rejection again
        (12, "applied", None),
    ]
    assert answer["results"][2] == answer["results"][3]
    assert await texts(client, headers, customer) == ["第一条", "第三条"]

"""The intimacy score counts contacts, not entries: each kind of contact once per customer per
bank day (a burst of notes, every reader of a forwarded share link), with its strongest entry's
weight that day; a done call or visit task counts as the contact it records."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.tasks_data import TASKS, create_template, field, issue_tasks
from workbench.db import use_json_codecs
from workbench.timeline import service as timeline

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _customer(client: Any, db: Any, external_id: str = "I-1") -> uuid.UUID:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row(external_id, name="蒋刚", seq=1)])
    return (await customer_ids(db))[external_id]


async def _score(client: Any, headers: dict[str, str], customer: uuid.UUID) -> int:
    view = await client.get(f"{CUSTOMERS}/{customer}", headers=headers)
    assert view.status_code == 200, view.text
    score: int = view.json()["intimacy_score"]
    return score


async def test_a_burst_of_notes_counts_as_one_contact_a_day(client: Any, db: Any) -> None:
    customer = await _customer(client, db)
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{customer}/notes"
    answers = await asyncio.gather(
        *(client.post(path, json={"text": f"电话 {n}", "kind": "call"}, headers=rm01)
          for n in range(30))
    )  # fmt: skip
    assert {a.status_code for a in answers} == {201}
    assert await _score(client, rm01, customer) == 8  # one call today, not thirty
    # Another kind of contact the same day adds its own weight; the stronger of a day's visits
    # counts (a visit note 20, the confirmed visit 25 would replace it).
    await client.post(path, json={"text": "上门拜访", "kind": "visit"}, headers=rm01)
    await client.post(path, json={"text": "又一次拜访", "kind": "visit"}, headers=rm01)
    assert await _score(client, rm01, customer) == 28
    # A call on another day is another contact (a little older, so a little lighter).
    await use_json_codecs(db)
    async with db.transaction():
        await timeline.record_events(
            db,
            source="test",
            events=[
                timeline.Event(customer, "note.call", datetime.now(UTC) - timedelta(days=3),
                               "earlier-call", {})
            ],
        )  # fmt: skip
    assert await _score(client, rm01, customer) == 28 + 7


async def test_every_reader_of_a_forwarded_share_is_one_share_contact(client: Any, db: Any) -> None:
    customer = await _customer(client, db)
    rm01 = await headers_of(client, "rm01")
    share = uuid.uuid4()
    now = datetime.now(UTC)
    await use_json_codecs(db)
    async with db.transaction():
        await timeline.record_events(
            db,
            source="share",
            events=[
                timeline.Event(customer, "share.opened", now, f"{share}:v-{n}:opened",
                               {"share_id": str(share)})
                for n in range(12)
            ],
        )  # fmt: skip
    assert await _score(client, rm01, customer) == 4  # twelve visitors, one share opened today
    async with db.transaction():
        await timeline.record_events(
            db,
            source="share",
            events=[
                timeline.Event(customer, kind, now, f"{share}:v-0:{kind}", {})
                for kind in ("share.engaged", "share.clicked")
            ],
        )
    # Read and asked to be contacted: the strongest step of the day, not the sum of all three.
    assert await _score(client, rm01, customer) == timeline.CONTACTS["share.clicked"][1] == 8


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([field("notes", "text")], 8),  # a call, or any task about the customer done
        ([field("notes", "text"), field("place", "location")], 20),  # a visit: where it was
    ],
)
async def test_a_done_task_counts_as_the_contact_it_records(
    client: Any, db: Any, fields: list[dict[str, Any]], expected: int
) -> None:
    customer = await _customer(client, db)
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    template = await create_template(client, admin, *fields, name="回访")
    [(_, task_id, _)] = await issue_tasks(
        client, db, admin, template["id"], customer_ids=[customer], title="季度回访"
    )
    assert await _score(client, rm01, customer) == 0
    for step, body in (("start", None), ("submit", {"values": {"notes": "客户满意"}})):
        answer = await client.post(f"{TASKS}/{task_id}/{step}", json=body, headers=rm01)
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "done"
    assert await _score(client, rm01, customer) == expected

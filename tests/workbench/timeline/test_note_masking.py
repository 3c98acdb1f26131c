"""A phone or ID number typed into a note reaches no screen: the timeline, the 360° view and
offline sync's notes show every number of six characters or more masked (as survey comments
are), to the RM who wrote it and to the RM a bank feed later hands the customer to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.sync.sync_data import pull_all

pytestmark = pytest.mark.usefixtures("demo_bank")

TEXT = "客户说他手机号是19841140765，家住北京朝阳区，身份证 110105198209210009"
SHOWN = "客户说他手机号是198******65，家住北京朝阳区，身份证 110*************09"


async def _note_texts(client: Any, headers: dict[str, str], customer: Any) -> dict[str, Any]:
    timeline = await client.get(f"{CUSTOMERS}/{customer}/timeline", headers=headers)
    assert timeline.status_code == 200, timeline.text
    view = await client.get(f"{CUSTOMERS}/{customer}", headers=headers)
    assert view.status_code == 200, view.text
    changes, _ = await pull_all(client, headers, schema=4)
    return {
        "timeline": [e["text"] for e in timeline.json()["items"] if e["kind"] == "note.visit"],
        "360": [e["text"] for e in view.json()["timeline"]["items"] if e["kind"] == "note.visit"],
        "sync": [c["data"]["text"] for c in changes if c["entity"] == "note"],
    }


async def test_long_numbers_in_notes_are_masked_for_every_reader(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    row = customer_row("N-1", name="蒋刚", owner="rm01", seq=1)
    await feed(client, admin, "customers", [row])
    customer = (await customer_ids(db))["N-1"]
    rm01 = await headers_of(client, "rm01")
    written = await client.post(
        f"{CUSTOMERS}/{customer}/notes", json={"text": TEXT, "kind": "visit"}, headers=rm01
    )
    assert written.status_code == 201, written.text
    # The writer's app resending the note (a lost answer) still gets the same note, not a 409.
    again = await client.post(
        f"{CUSTOMERS}/{customer}/notes",
        json={"text": TEXT, "kind": "visit", "id": written.json()["id"]},
        headers=rm01,
    )
    assert again.status_code in (200, 201), again.text
    assert again.json()["id"] == written.json()["id"]
    # The answer, kept for an offline push's retry too, is the note as every reader sees it.
    assert written.json()["text"] == again.json()["text"] == SHOWN

    assert await _note_texts(client, rm01, customer) == {
        "timeline": [SHOWN], "360": [SHOWN], "sync": [SHOWN],
    }  # fmt: skip

    # A bank feed hands the customer to rm05: the new RM reads the note masked too.
    await feed(client, admin, "customers", [{**row, "owner_login": "rm05"}])
    rm05 = await headers_of(client, "rm05")
    assert await _note_texts(client, rm05, customer) == {
        "timeline": [SHOWN], "360": [SHOWN], "sync": [SHOWN],
    }  # fmt: skip
    # Short numbers (an amount, a floor) are no phone or ID number: they stay as written.
    short = await client.post(
        f"{CUSTOMERS}/{customer}/notes",
        json={"text": "约了 3 月 15 日，带 50000 元存单", "kind": "call"},
        headers=rm05,
    )
    assert short.status_code == 201, short.text
    timeline = await client.get(f"{CUSTOMERS}/{customer}/timeline", headers=rm05)
    calls = [e["text"] for e in timeline.json()["items"] if e["kind"] == "note.call"]
    assert calls == ["约了 3 月 15 日，带 50000 元存单"]

"""One stored value that cannot be decrypted (its data key dropped too early, a corrupt row) does
not take a list, a 360° view or a timeline down: it shows as `***`, the rest reads as usual, and
the value is logged (column and row, never the value) and counted in
`workbench_undecryptable_values_total`. Real-name verification of such a customer answers 503
without counting the customer's attempt."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from workbench.logs import JsonFormatter
from workbench.security.vault import FieldCipher
from workbench.settings import DataKey

pytestmark = pytest.mark.usefixtures("demo_bank")

LOST = FieldCipher((DataKey("data-lost", b"l" * 32),))


def sample(text: str, name: str, **labels: str) -> float:
    """One Prometheus sample of the /metrics text (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels"))) == labels:
            return float(match.group("value"))
    return 0.0


async def undecryptable(client: Any, column: str, reason: str) -> float:
    metrics = (await client.get("/metrics")).text
    return sample(metrics, "workbench_undecryptable_values_total", column=column, reason=reason)


@pytest.fixture
async def bank(client, db) -> dict[str, Any]:
    admin = await headers_of(client, "admin")
    rows = [
        customer_row("U-1", name="周星星", seq=1, aum=300),
        customer_row("U-2", name="欧阳娜娜", seq=2, aum=200),
        customer_row("U-3", name="李雷", seq=3, aum=100),
    ]
    await feed(client, admin, "customers", rows)
    return await customer_ids(db)


async def test_a_customer_whose_name_cannot_be_decrypted_shows_masked_and_the_list_still_works(
    client, db, bank, caplog
):
    broken = bank["U-2"]
    lost = LOST.encrypt("欧阳娜娜", aad="customer.name:U-2")
    await db.execute("update customers set name_enc = $2 where id = $1", broken, lost)
    before = await undecryptable(client, "customers.name_enc", "unknown_key")
    rm01 = await headers_of(client, "rm01")

    with caplog.at_level(logging.WARNING, logger="workbench.security.vault"):
        listed = await client.get(CUSTOMERS, headers=rm01)
    assert listed.status_code == 200, listed.text
    items = {c["id"]: c for c in listed.json()["items"]}
    assert items[str(broken)]["name"] == "***"
    assert items[str(broken)]["phone"] == "130****0002"  # the readable fields still show
    assert items[str(bank["U-1"])]["name"] == "周*星"
    assert items[str(bank["U-3"])]["name"] == "李*"

    detail = await client.get(f"{CUSTOMERS}/{broken}", headers=rm01)
    assert detail.status_code == 200, detail.text
    assert detail.json()["name"] == "***"

    assert await undecryptable(client, "customers.name_enc", "unknown_key") == before + 2
    # The vault's lines (other loggers' lines reach caplog too, as the run's levels allow).
    vault_records = [r for r in caplog.records if r.name == "workbench.security.vault"]
    written = [JsonFormatter().format(r) for r in vault_records]
    assert written
    assert all(f'"row":"{broken}"' in line for line in written)
    assert all("欧阳" not in JsonFormatter().format(r) for r in caplog.records)


async def test_an_unreadable_note_does_not_break_the_timeline(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    customer = bank["U-1"]
    texts = ["第一次拜访", "电话回访", "第二次拜访"]
    for text in texts:
        response = await client.post(
            f"{CUSTOMERS}/{customer}/notes", json={"kind": "visit", "text": text}, headers=rm01
        )
        assert response.status_code == 201, response.text
    # One byte of the middle note's stored text flipped.
    note = await db.fetchrow(
        "select id, text_enc from customer_timeline where customer_id = $1 and source = 'note'"
        " order by id offset 1 limit 1",
        customer,
    )
    flipped = note["text_enc"][:-1] + bytes([note["text_enc"][-1] ^ 1])
    await db.execute(
        "update customer_timeline set text_enc = $2 where id = $1", note["id"], flipped
    )
    before = await undecryptable(client, "customer_timeline.text_enc", "not_authentic")

    timeline = await client.get(f"{CUSTOMERS}/{customer}/timeline", headers=rm01)
    assert timeline.status_code == 200, timeline.text
    notes = {e["id"]: e["text"] for e in timeline.json()["items"] if e["kind"] == "note.visit"}
    assert notes[str(note["id"])] == "***"
    assert sorted(t for i, t in notes.items() if i != str(note["id"])) == [
        "第一次拜访",
        "第二次拜访",
    ]
    detail = await client.get(f"{CUSTOMERS}/{customer}", headers=rm01)
    assert detail.status_code == 200, detail.text
    assert await undecryptable(client, "customer_timeline.text_enc", "not_authentic") == before + 2


async def test_verification_of_an_unreadable_record_is_503_and_costs_the_customer_nothing(
    client, db, bank
):
    customer = bank["U-1"]
    rm01 = await headers_of(client, "rm01")
    response = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert response.status_code == 201, response.text
    path = "/v/" + response.json()["url"].split("/v/", 1)[1]
    lost = LOST.encrypt("周星星", aad="customer.name:U-1")
    await db.execute("update customers set name_enc = $2 where id = $1", customer, lost)

    answers = {"name": "周星星", "id_number": customer_row("x", name="x", seq=1)["id_number"],
               "phone": customer_row("x", name="x", seq=1)["phone"]}  # fmt: skip
    answer = await client.post(path, data=answers)
    assert answer.status_code == 503, answer.text
    row = await db.fetchrow(
        "select attempts, locked_at, completed_at from verification_invites where customer_id = $1",
        customer,
    )
    assert (row["attempts"], row["locked_at"], row["completed_at"]) == (0, None, None)
    assert await db.fetchval("select verified_at from customers where id = $1", customer) is None


async def test_an_unreadable_note_does_not_break_the_rms_sync(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    customer = bank["U-1"]
    for text in ("可读的拜访", "坏掉的拜访"):
        response = await client.post(
            f"{CUSTOMERS}/{customer}/notes", json={"kind": "visit", "text": text}, headers=rm01
        )
        assert response.status_code == 201, response.text
    note = await db.fetchrow(
        "select id, text_enc from customer_timeline where customer_id = $1 and source = 'note'"
        " order by id desc limit 1",
        customer,
    )
    lost = LOST.encrypt("坏掉的拜访", aad=f"customer_timeline.text:{note['id']}")
    await db.execute("update customer_timeline set text_enc = $2 where id = $1", note["id"], lost)

    pulled = await client.post("/api/v1/sync/pull", json={"schema_version": 2}, headers=rm01)
    assert pulled.status_code == 200, pulled.text
    notes = {c["id"]: c["data"]["text"] for c in pulled.json()["changes"] if c["entity"] == "note"}
    assert notes[str(note["id"])] == "***"
    assert "可读的拜访" in notes.values()

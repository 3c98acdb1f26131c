"""A bank feed that changes a customer's name, ID number or phone changes who the record is: the
verification of the former identity is cleared (and the timeline says why), the RM can invite
the customer to verify again, and a link made for the former identity verifies nobody. After a
handover, the page and the notification speak of the customer's RM now."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.customers_data import id_number as id_number_of
from tests.customers_data import phone as phone_of
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")

ROW = customer_row("V-1", name="张小三", seq=7, aum=1000, tags=["vip"], segment="affluent")
NEW_IDENTITY = {
    "name": {"name": "李大伟"},
    "id_number": {"id_number": id_number_of(8)},
    "phone": {"phone": phone_of(8)},
    "all": {"name": "李大伟", "id_number": id_number_of(8), "phone": phone_of(8)},
}


def _answers(row: dict[str, Any]) -> dict[str, str]:
    return {"name": row["name"], "id_number": row["id_number"], "phone": row["phone"]}


async def _invite(client: Any, rm: dict[str, str], customer: uuid.UUID) -> str:
    made = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm)
    assert made.status_code == 201, made.text
    return "/v/" + made.json()["url"].split("/v/", 1)[1]


async def _shown(client: Any, rm: dict[str, str], customer: uuid.UUID) -> dict[str, Any]:
    detail = await client.get(f"{CUSTOMERS}/{customer}", headers=rm)
    assert detail.status_code == 200, detail.text
    shown: dict[str, Any] = detail.json()
    return shown


async def _timeline_kinds(client: Any, rm: dict[str, str], customer: uuid.UUID) -> list[Any]:
    page = await client.get(f"{CUSTOMERS}/{customer}/timeline", headers=rm)
    assert page.status_code == 200, page.text
    return [(e["kind"], e.get("data", {})) for e in page.json()["items"]]


async def _verified_customer(client: Any, db: Any, admin: Any, rm01: Any) -> uuid.UUID:
    assert (await feed(client, admin, "customers", [ROW]))["inserted"] == 1
    customer = (await customer_ids(db))["V-1"]
    done = await client.post(await _invite(client, rm01, customer), data=_answers(ROW))
    assert done.status_code == 200, done.text
    assert "认证成功" in done.text
    assert (await _shown(client, rm01, customer))["verified"] is True
    return customer


@pytest.mark.parametrize("changed", sorted(NEW_IDENTITY))
async def test_a_feed_changing_the_identity_clears_the_verification_and_allows_a_new_one(
    client, db, changed
):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    customer = await _verified_customer(client, db, admin, rm01)
    first_verified_at = (await _shown(client, rm01, customer))["verified_at"]

    moved = {**ROW, **NEW_IDENTITY[changed]}
    result = await feed(client, admin, "customers", [moved])
    assert (result["updated"], result["unchanged"]) == (1, 0)
    shown = await _shown(client, rm01, customer)
    assert (shown["verified"], shown["verified_at"]) == (False, None)
    listed = await client.get(CUSTOMERS, headers=rm01)
    assert [c["verified"] for c in listed.json()["items"]] == [False]
    cleared = [d for k, d in await _timeline_kinds(client, rm01, customer)
               if k == "verification.cleared"]  # fmt: skip
    parts = ["name", "id_number", "phone"] if changed == "all" else [changed]
    assert cleared == [
        {"reason": "identity_changed", "changed": parts, "verified_at": cleared[0]["verified_at"]}
    ]
    assert cleared[0]["verified_at"][:19] == first_verified_at[:19]
    # The same record again changes (and clears) nothing more.
    assert (await feed(client, admin, "customers", [moved]))["unchanged"] == 1

    # The RM invites the new identity, who verifies; the RM is told again.
    link = await _invite(client, rm01, customer)
    done = await client.post(link, data=_answers(moved))
    assert done.status_code == 200, done.text
    assert "认证成功" in done.text
    shown = await _shown(client, rm01, customer)
    assert shown["verified"] is True
    assert shown["verified_at"] > first_verified_at
    kinds = [k for k, _ in await _timeline_kinds(client, rm01, customer)]
    assert kinds.count("verification.completed") == 2
    told = await db.fetchval(
        "select count(*) from notifications where category = 'customer.verified' and user_id = $1",
        uuid5_for("user:rm01"),
    )
    assert told == 2
    again = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert again.status_code == 409
    assert again.json()["code"] == "customer.already_verified"


@pytest.mark.parametrize(
    "change",
    [
        {"aum": "2000"},
        {"tags": ["vip", "代发"]},
        {"segment": "private"},
        {"owner_login": "rm02"},
        {"name": " 张小三 "},  # the same name, spaced as another system writes it
        {"name": "张 小三"},
        {"phone": "+86 " + phone_of(7)},  # the same number written otherwise
        {"id_number": id_number_of(7).lower()},
    ],
)
async def test_a_feed_changing_anything_else_keeps_the_verification(client, db, change):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    customer = await _verified_customer(client, db, admin, rm01)
    before = (await _shown(client, rm01, customer))["verified_at"]
    await feed(client, admin, "customers", [{**ROW, **change}])
    owner = change.get("owner_login", "rm01")
    shown = await _shown(client, await headers_of(client, owner, "again"), customer)
    assert (shown["verified"], shown["verified_at"]) == (True, before)
    assert "verification.cleared" not in [e["kind"] for e in shown["timeline"]["items"]]


async def test_a_link_made_for_the_former_identity_verifies_nobody(client, db):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [ROW])
    customer = (await customer_ids(db))["V-1"]
    old_link = await _invite(client, rm01, customer)
    assert (await client.get(old_link)).status_code == 200  # open, for the identity fed then

    moved = {**ROW, **NEW_IDENTITY["all"]}
    assert (await feed(client, admin, "customers", [moved]))["updated"] == 1
    page = await client.get(old_link)
    assert page.status_code == 410
    assert "<form" not in page.text
    for answers in (_answers(moved), _answers(ROW)):  # the new identity's or the old one's
        posted = await client.post(old_link, data=answers)
        assert posted.status_code == 410, posted.text
        assert "认证成功" not in posted.text
    shown = await _shown(client, rm01, customer)
    assert shown["verified"] is False
    assert await db.fetchval("select attempts from verification_invites") == 0

    # A link made now is for the identity now.
    done = await client.post(await _invite(client, rm01, customer), data=_answers(moved))
    assert done.status_code == 200, done.text
    assert "认证成功" in done.text
    assert (await _shown(client, rm01, customer))["verified"] is True


async def test_after_a_handover_the_page_and_the_notification_speak_of_the_rm_now(client, db):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [ROW])
    customer = (await customer_ids(db))["V-1"]
    link = await _invite(client, rm01, customer)
    assert "您的客户经理：张伟" in (await client.get(link)).text

    # The bank moves the customer to rm06 (杨磊, West Branch) before they answer.
    await feed(client, admin, "customers", [{**ROW, "owner_login": "rm06"}])
    page = await client.get(link)
    assert page.status_code == 200
    assert "您的客户经理：杨磊" in page.text
    assert "张伟" not in page.text

    done = await client.post(link, data=_answers(ROW))
    assert done.status_code == 200, done.text
    assert "认证成功" in done.text
    told = await db.fetch(
        "select user_id, title, body from notifications where category = 'customer.verified'"
    )
    assert [(r["user_id"], r["body"]) for r in told] == [
        (uuid5_for("user:rm06"), "您的客户 张*三 已完成实名认证。")
    ]
    rm06 = await headers_of(client, "rm06")
    assert (await _shown(client, rm06, customer))["verified"] is True

"""What RMs and branch heads see of customers: masking, search, filters, scope, 360°, notes."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest

from tests.customers_data import (
    CUSTOMERS,
    customer_ids,
    customer_row,
    feed,
    headers_of,
    holding_row,
    id_number,
    product_row,
)
from tests.workbench.customers.lock_waits import until_waiting_for_locks
from workbench.customers import verification
from workbench.customers.personal_data import id_check_digit
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")


def id_ending(last3: str) -> str:
    """A valid ID number ending in `last3` + 'X' (e.g. ...123X)."""
    born = date(1990, 3, 7)
    while True:
        first17 = f"110101{born:%Y%m%d}{last3}"
        if id_check_digit(first17) == "X":
            return first17 + "X"
        born += timedelta(days=1)


@dataclass(frozen=True)
class Person:
    name: str
    owner: str
    phone: str
    id_number: str
    aum: int
    risk_level: str = "C3"
    segment: str | None = None
    tags: tuple[str, ...] = ()


PEOPLE: dict[str, Person] = {
    "C1": Person("张小三", "rm01", "13812345678", id_ending("123"), 500_000, "C4", "private",
                 ("vip", "wechat")),
    "C2": Person("李四", "rm01", "13900001111", id_number(2), 200_000, "C2", "mass", ("wechat",)),
    "C3": Person("欧阳娜娜", "rm01", "13700002222", id_number(3), 1_000_000, "C5", "private",
                 ("vip",)),
    "C4": Person("王五", "rm01", "13600003333", id_number(4), 0, "C1"),
    "C5": Person("张三", "rm01", "13500004444", id_number(5), 0, "C3"),
    "C6": Person("Wang Xiaoming", "rm01", "15000005555", id_number(6), 200_000, "C3", "mass"),
    "E1": Person("赵六", "rm02", "13600006666", id_number(7), 300_000),
    "W1": Person("陈七", "rm05", "18600007777", id_number(8), 800_000),
    "W2": Person("张小三", "rm06", "18600008888", id_number(9), 100),
}  # fmt: skip
RM01 = {k for k, p in PEOPLE.items() if p.owner == "rm01"}
EAST = RM01 | {"E1"}
WEST = {"W1", "W2"}


def user_id(login_name: str) -> str:
    return str(uuid5_for(f"user:{login_name}"))


@pytest.fixture
async def bank(client, db) -> dict[str, str]:
    """The people above, fed through the bank feed, plus two products; key -> customer id."""
    admin = await headers_of(client, "admin")
    rows = [
        customer_row(
            key, name=p.name, owner=p.owner, id_no=p.id_number, mobile=p.phone,
            risk_level=p.risk_level, segment=p.segment, tags=list(p.tags), aum=p.aum,
        )
        for key, p in PEOPLE.items()
    ]  # fmt: skip
    # Banks send these in many shapes; what is stored (and masked) is the normal form.
    rows[0]["id_number"] = rows[0]["id_number"].lower()
    rows[0]["phone"] = "+86 138 1234 5678"
    rows[0]["name"] = " 张小三 "
    result = await feed(client, admin, "customers", rows)
    assert result["inserted"] == len(PEOPLE), result
    products = [
        product_row("FUND-A", name="稳健理财A", category="fund", risk_level="R2"),
        product_row("EQ-B", name="成长股票B", category="equity", risk_level="R4"),
    ]
    await feed(client, admin, "products", products)
    return {k: str(v) for k, v in (await customer_ids(db)).items()}


def keys_of(bank: dict[str, str], items: list[dict[str, Any]]) -> list[str]:
    by_id = {v: k for k, v in bank.items()}
    return [by_id[item["id"]] for item in items]


async def listed(client, headers, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(CUSTOMERS, params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    items: list[dict[str, Any]] = body["items"]
    return items


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.json()


# ---- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rm01", "bh.east"])
async def test_rm_and_branch_head_see_masked_personal_data(client, bank, who):
    headers = await headers_of(client, who)
    c1_id_masked = "110***********123X"
    assert PEOPLE["C1"].id_number.endswith("123X")
    everyone = await listed(client, headers)
    items = dict(zip(keys_of(bank, everyone), everyone, strict=True))
    assert (items["C1"]["name"], items["C1"]["phone"], items["C1"]["id_number"]) == (
        "张*三", "138****5678", c1_id_masked,
    )  # fmt: skip
    assert items["C2"]["name"] == "李*"
    assert items["C3"]["name"] == "欧**娜"
    assert items["C3"]["phone"] == "137****2222"
    c3_id = PEOPLE["C3"].id_number
    assert items["C3"]["id_number"] == c3_id[:3] + "*" * 11 + c3_id[-4:]

    detail = await client.get(f"{CUSTOMERS}/{bank['C1']}", headers=headers)
    assert detail.status_code == 200
    body = detail.json()
    masked = (body["name"], body["phone"], body["id_number"])
    assert masked == ("张*三", "138****5678", c1_id_masked)
    assert body["external_id"] == "C1"

    found = await listed(client, headers, q="张小三")
    assert keys_of(bank, found) == ["C1"]
    assert (found[0]["name"], found[0]["phone"], found[0]["id_number"]) == (
        "张*三", "138****5678", c1_id_masked,
    )  # fmt: skip


def assert_no_plaintext(label: str, text: str) -> None:
    for key, person in PEOPLE.items():
        for secret in (
            person.name,
            person.phone,
            person.id_number,
            person.id_number.lower(),
            person.id_number[:17],
        ):
            assert secret not in text, f"{label} shows {key}'s {secret!r}"


async def test_plaintext_personal_data_never_leaves_the_api(client, bank):
    rm01 = await headers_of(client, "rm01")
    bh = await headers_of(client, "bh.east")
    admin = await headers_of(client, "admin")
    await feed(client, admin, "holdings", [holding_row("C1", "FUND-A", 1000, "2024-06-30")])
    note = await client.post(
        f"{CUSTOMERS}/{bank['C1']}/notes",
        json={"kind": "visit", "text": "客户想了解养老规划"},
        headers=rm01,
    )
    assert note.status_code == 201
    invite = await client.post(f"{CUSTOMERS}/{bank['C1']}/verification-invites", headers=rm01)
    assert invite.status_code == 201
    page_path = "/v/" + invite.json()["url"].split("/v/", 1)[1]
    bodies: dict[str, str] = {}
    form = await client.get(page_path)
    assert form.status_code == 200
    bodies["verification page"] = form.text
    c1 = PEOPLE["C1"]
    done = await client.post(
        page_path, data={"name": c1.name, "id_number": c1.id_number, "phone": c1.phone}
    )
    assert done.status_code == 200, done.text
    bodies["verification answer"] = done.text

    for who, headers in (("rm01", rm01), ("bh.east", bh)):
        for params in ({}, {"q": "张小三"}, {"q": c1.phone}, {"q": c1.id_number}, {"tag": "vip"}):
            response = await client.get(CUSTOMERS, params=params, headers=headers)
            assert response.status_code == 200
            assert response.json()["items"]
            bodies[f"{who} list {params}"] = response.text
        for key in RM01:
            for suffix in ("", "/timeline", "/recommendations"):
                response = await client.get(f"{CUSTOMERS}/{bank[key]}{suffix}", headers=headers)
                assert response.status_code == 200, response.text
                bodies[f"{who} {key}{suffix}"] = response.text
    notifications = await client.get("/api/v1/notifications", headers=rm01)
    assert notifications.status_code == 200
    assert notifications.json()["items"], "the RM is told the customer verified"
    bodies["notifications"] = notifications.text
    bodies["note answer"] = note.text
    bodies["invite answer"] = invite.text

    detail = json.loads(bodies["rm01 C1"])
    assert detail["verified"] is True
    assert detail["holdings"][0]["product_name"] == "稳健理财A"
    assert {e["kind"] for e in detail["timeline"]["items"]} >= {
        "note.visit", "verification.completed",
    }  # fmt: skip
    for label, text in bodies.items():
        assert_no_plaintext(label, text)


@pytest.mark.parametrize("who", ["admin", "marketing", "compliance"])
async def test_other_roles_may_not_read_customers(client, bank, who):
    headers = await headers_of(client, who)
    for path in (
        CUSTOMERS,
        f"{CUSTOMERS}/{bank['C1']}",
        f"{CUSTOMERS}/{bank['C1']}/timeline",
        f"{CUSTOMERS}/{bank['C1']}/recommendations",
    ):
        assert_problem(await client.get(path, headers=headers), 403, "auth.forbidden")
    response = await client.get(CUSTOMERS, params={"q": PEOPLE["C1"].phone}, headers=headers)
    assert_problem(response, 403, "auth.forbidden")


# ---- search through blind indexes -------------------------------------------------------------

C1_ID = PEOPLE["C1"].id_number


@pytest.mark.parametrize(
    ("who", "q", "expected"),
    [
        ("rm01", "张小三", {"C1"}),
        ("rm01", "  张小三 ", {"C1"}),
        ("rm01", "张", {"C1", "C5"}),
        ("rm01", "张三", {"C5"}),
        ("rm01", "李四", {"C2"}),
        ("rm01", "欧阳", {"C3"}),
        ("rm01", "欧阳娜娜", {"C3"}),
        ("rm01", "欧", set()),
        ("rm01", "wang", {"C6"}),
        ("rm01", "WANG  Xiaoming", {"C6"}),
        ("rm01", "13812345678", {"C1"}),
        ("rm01", "+86 138 1234 5678", {"C1"}),
        ("rm01", "138-1234-5678", {"C1"}),
        ("rm01", "+86-138-1234-5678", {"C1"}),
        ("rm01", "008613812345678", {"C1"}),
        ("rm01", C1_ID, {"C1"}),
        ("rm01", C1_ID.lower(), {"C1"}),
        ("rm01", "不存在", set()),
        ("rm01", "13000000000", set()),
        ("rm01", "1381234", set()),
        ("rm01", C1_ID[:-1] + "0", set()),
        # Scope: other RMs' customers are not found, whatever is typed.
        ("rm01", "陈七", set()),
        ("rm01", PEOPLE["W1"].phone, set()),
        ("rm01", PEOPLE["E1"].phone, set()),
        ("rm01", PEOPLE["W2"].id_number, set()),
        ("rm05", PEOPLE["C1"].phone, set()),
        ("rm05", "陈七", {"W1"}),
        ("bh.east", "张小三", {"C1"}),
        ("bh.east", "赵六", {"E1"}),
        ("bh.east", PEOPLE["W1"].phone, set()),
        ("bh.west", "张小三", {"W2"}),
        ("bh.west", "张", {"W2"}),
        ("bh.west", PEOPLE["W1"].phone, {"W1"}),
    ],
)
async def test_search_by_name_surname_phone_and_id_number(client, bank, who, q, expected):
    headers = await headers_of(client, who)
    assert set(keys_of(bank, await listed(client, headers, q=q))) == expected


# ---- filters and pagination ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["C3", "C1", "C6|C2", "C6|C2", "C5|C4", "C5|C4"]),
        ({"tag": "vip"}, ["C3", "C1"]),
        ({"tag": "wechat"}, ["C1", "C2"]),
        ({"tag": "nobody-has-this"}, []),
        ({"segment": "private"}, ["C3", "C1"]),
        ({"segment": "mass"}, ["C6|C2", "C6|C2"]),
        ({"risk_level": "C2"}, ["C2"]),
        ({"risk_level": "C5"}, ["C3"]),
        ({"min_aum": "200000", "max_aum": "1000000"}, ["C1", "C6|C2", "C6|C2"]),
        ({"min_aum": "1000000"}, ["C3"]),
        ({"max_aum": "200000"}, ["C5|C4", "C5|C4"]),
        ({"min_aum": "0.01", "max_aum": "200000"}, []),
        ({"q": "张", "tag": "vip"}, ["C1"]),
        ({"tag": "vip", "segment": "private", "risk_level": "C4"}, ["C1"]),
    ],
)
async def test_filters_richest_first(client, bank, params, expected):
    headers = await headers_of(client, "rm01")
    got = keys_of(bank, await listed(client, headers, **params))
    assert len(got) == len(expected)
    for key, allowed in zip(got, expected, strict=True):
        assert key in allowed.split("|"), (got, expected)


@pytest.mark.parametrize(
    "params",
    [
        {"risk_level": "C9"},
        {"risk_level": "R3"},
        {"min_aum": "lots"},
        {"limit": "0"},
        {"limit": "201"},
    ],
)
async def test_bad_list_parameters_are_rejected(client, bank, params):
    headers = await headers_of(client, "rm01")
    response = await client.get(CUSTOMERS, params=params, headers=headers)
    assert_problem(response, 422, "request.validation_failed")


@pytest.mark.parametrize(("who", "everyone"), [("rm01", RM01), ("bh.east", EAST)])
async def test_keyset_pagination_covers_everyone_exactly_once(client, bank, who, everyone):
    headers = await headers_of(client, who)
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get(CUSTOMERS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    keys = keys_of(bank, seen)
    assert len(keys) == len(set(keys))
    assert set(keys) == everyone
    order = [(float(i["aum"]), uuid.UUID(i["id"])) for i in seen]
    assert order == sorted(order, reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        base64.urlsafe_b64encode(b'{"aum": 1}').decode(),
        base64.urlsafe_b64encode(b'["1000", "not-a-uuid"]').decode(),
        base64.urlsafe_b64encode(b"[1000]").decode(),
    ],
)
async def test_tampered_cursor_is_400(client, bank, cursor):
    headers = await headers_of(client, "rm01")
    response = await client.get(CUSTOMERS, params={"cursor": cursor}, headers=headers)
    assert_problem(response, 400, "request.bad_cursor")
    timeline = await client.get(
        f"{CUSTOMERS}/{bank['C1']}/timeline", params={"cursor": cursor}, headers=headers
    )
    assert_problem(timeline, 400, "request.bad_cursor")


# ---- scope leaks -------------------------------------------------------------------------------


async def assert_hidden(client, headers, customer_id: str) -> None:
    base = f"{CUSTOMERS}/{customer_id}"
    for response in (
        await client.get(base, headers=headers),
        await client.get(f"{base}/timeline", headers=headers),
        await client.get(f"{base}/recommendations", headers=headers),
    ):
        assert_problem(response, 404, "customer.not_found")


@pytest.mark.parametrize("who", ["rm05", "rm02"])
async def test_rm_asking_for_another_rms_customer_gets_404(client, db, bank, who):
    headers = await headers_of(client, who)
    for customer_id in (bank["C1"], str(uuid.uuid4())):
        await assert_hidden(client, headers, customer_id)
        base = f"{CUSTOMERS}/{customer_id}"
        note = await client.post(
            f"{base}/notes", json={"kind": "call", "text": "偷看"}, headers=headers
        )
        assert_problem(note, 404, "customer.not_found")
        invite = await client.post(f"{base}/verification-invites", headers=headers)
        assert_problem(invite, 404, "customer.not_found")
    assert await db.fetchval("select count(*) from customer_timeline where kind like 'note.%'") == 0
    assert await db.fetchval("select count(*) from verification_invites") == 0
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'customer_viewed'") == 0
    )


async def test_branch_head_sees_the_subtree_only_and_cannot_write_notes(client, db, bank):
    east = await headers_of(client, "bh.east")
    assert set(keys_of(bank, await listed(client, east))) == EAST
    for key in ("C1", "E1"):
        assert (await client.get(f"{CUSTOMERS}/{bank[key]}", headers=east)).status_code == 200
    for key in WEST:
        await assert_hidden(client, east, bank[key])
    west = await headers_of(client, "bh.west")
    assert set(keys_of(bank, await listed(client, west))) == WEST
    await assert_hidden(client, west, bank["C1"])

    note = await client.post(
        f"{CUSTOMERS}/{bank['C1']}/notes", json={"kind": "visit", "text": "路过"}, headers=east
    )
    assert_problem(note, 403, "auth.forbidden")
    invite = await client.post(f"{CUSTOMERS}/{bank['C1']}/verification-invites", headers=east)
    assert_problem(invite, 403, "auth.forbidden")
    assert await db.fetchval("select count(*) from customer_timeline") == 0


# ---- the 360° view -----------------------------------------------------------------------------


async def test_360_view_holdings_verified_flag_and_intimacy(client, bank):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    await feed(
        client,
        admin,
        "holdings",
        [
            holding_row("C1", "FUND-A", "1000.50", "2024-06-30"),
            holding_row("C1", "EQ-B", 3000, "2024-05-31"),
            holding_row("C2", "FUND-A", 1, "2024-06-30"),
        ],
    )
    path = f"{CUSTOMERS}/{bank['C1']}"
    body = (await client.get(path, headers=rm01)).json()
    assert body["holdings"] == [
        {"product_code": "EQ-B", "product_name": "成长股票B", "category": "equity",
         "risk_level": "R4", "amount": "3000.00", "as_of": "2024-05-31"},
        {"product_code": "FUND-A", "product_name": "稳健理财A", "category": "fund",
         "risk_level": "R2", "amount": "1000.50", "as_of": "2024-06-30"},
    ]  # fmt: skip
    assert (body["risk_level"], body["segment"], body["aum"]) == ("C4", "private", "500000.00")
    assert sorted(body["tags"]) == ["vip", "wechat"]
    assert body["owner_id"] == user_id("rm01")
    assert (body["verified"], body["verified_at"]) == (False, None)
    assert body["intimacy_score"] == 0
    assert body["timeline"]["items"] == []

    note = await client.post(
        f"{path}/notes", json={"kind": "visit", "text": "上门拜访"}, headers=rm01
    )
    assert note.status_code == 201
    after_visit = (await client.get(path, headers=rm01)).json()["intimacy_score"]
    assert after_visit > 0
    await client.post(f"{path}/notes", json={"kind": "call", "text": "电话回访"}, headers=rm01)
    assert (await client.get(path, headers=rm01)).json()["intimacy_score"] > after_visit
    # Other customers are not warmed by it.
    assert (await client.get(f"{CUSTOMERS}/{bank['C2']}", headers=rm01)).json()[
        "intimacy_score"
    ] == 0

    invite = await client.post(f"{path}/verification-invites", headers=rm01)
    page_path = "/v/" + invite.json()["url"].split("/v/", 1)[1]
    c1 = PEOPLE["C1"]
    answer = await client.post(
        page_path,
        data={"name": c1.name, "id_number": c1.id_number.lower(), "phone": "+86 " + c1.phone},
    )
    assert answer.status_code == 200, answer.text
    verified = (await client.get(path, headers=rm01)).json()
    assert verified["verified"] is True
    assert verified["verified_at"] is not None
    listed_c1 = next(i for i in await listed(client, rm01) if i["id"] == bank["C1"])
    assert listed_c1["verified"] is True


async def test_timeline_is_newest_first_and_paginated(client, bank):
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{bank['C1']}"
    texts = [f"第{i}次联系" for i in range(5)]
    for i, text in enumerate(texts):
        kind = ["visit", "call", "chat", "other", "call"][i]
        response = await client.post(
            f"{path}/notes", json={"kind": kind, "text": text}, headers=rm01
        )
        assert response.status_code == 201
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{path}/timeline", params=params, headers=rm01)).json()
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["text"] for e in seen] == list(reversed(texts))
    assert len({e["id"] for e in seen}) == 5
    assert all(e["actor_id"] == user_id("rm01") for e in seen)
    detail = (await client.get(path, headers=rm01)).json()
    assert [e["text"] for e in detail["timeline"]["items"]] == list(reversed(texts))
    # The branch head reads the same timeline; another RM does not.
    east = await headers_of(client, "bh.east")
    east_page = (await client.get(f"{path}/timeline", headers=east)).json()
    assert [e["text"] for e in east_page["items"]] == list(reversed(texts))


async def test_every_detail_view_is_audited_without_personal_data(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    east = await headers_of(client, "bh.east")
    for headers in (rm01, rm01, east):
        assert (await client.get(f"{CUSTOMERS}/{bank['C1']}", headers=headers)).status_code == 200
    assert (await client.get(f"{CUSTOMERS}/{bank['C2']}", headers=rm01)).status_code == 200
    rows = await db.fetch(
        "select actor_id::text as actor, subject from audit_events"
        " where action = 'customer_viewed' order by id"
    )
    assert [(r["actor"], r["subject"]) for r in rows] == [
        (user_id("rm01"), f"customer:{bank['C1']}"),
        (user_id("rm01"), f"customer:{bank['C1']}"),
        (user_id("bh.east"), f"customer:{bank['C1']}"),
        (user_id("rm01"), f"customer:{bank['C2']}"),
    ]
    # Lists and searches are not detail views.
    await listed(client, rm01, q=PEOPLE["C1"].phone)
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'customer_viewed'") == 4
    )
    everything = await db.fetch("select a::text as row from audit_events a")
    for row in everything:
        assert_no_plaintext("audit_events", row["row"])


# ---- notes -------------------------------------------------------------------------------------


async def test_owning_rm_adds_notes_idempotently_and_their_text_is_encrypted(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{bank['C2']}/notes"
    texts = {
        "visit": "到访网点，聊了理财",
        "call": "电话确认预约",
        "chat": "微信沟通",
        "other": "其他",
    }
    for kind, text in texts.items():
        response = await client.post(path, json={"kind": kind, "text": text}, headers=rm01)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["kind"], body["text"], body["actor_id"]) == (
            f"note.{kind}", text, user_id("rm01"),
        )  # fmt: skip

    note_id = str(uuid.uuid4())
    offline = {"id": note_id, "kind": "visit", "text": "离线记录的拜访"}
    first = await client.post(path, json=offline, headers=rm01)
    assert first.status_code == 201
    assert first.json()["id"] == note_id
    count = await db.fetchval("select count(*) from customer_timeline")
    assert count == 5
    again = await client.post(path, json=offline, headers=rm01)
    assert again.status_code in (200, 201)
    assert again.json()["id"] == note_id
    assert again.json()["occurred_at"] == first.json()["occurred_at"]  # the stored note
    assert await db.fetchval("select count(*) from customer_timeline") == count
    # The same id with other content is a conflict, not a silent overwrite or a second note.
    clash = await client.post(path, json={**offline, "text": "另一条"}, headers=rm01)
    assert clash.status_code == 409
    assert clash.json()["code"] == "note.id_taken"
    assert await db.fetchval("select count(*) from customer_timeline") == count
    timeline = (await client.get(f"{CUSTOMERS}/{bank['C2']}/timeline", headers=rm01)).json()
    assert [e["text"] for e in timeline["items"]].count("离线记录的拜访") == 1

    rows = await db.fetch("select text_enc, data::text as data, kind from customer_timeline")
    stored_texts = [*texts.values(), offline["text"]]
    for row in rows:
        assert row["text_enc"] is not None
        for text in stored_texts:
            assert text.encode() not in bytes(row["text_enc"])
            assert text not in row["data"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "meeting", "text": "x"},
        {"kind": "visit", "text": ""},
        {"kind": "visit", "text": "长" * 2001},
        {"kind": "visit"},
        {"kind": "visit", "text": "x", "id": "not-a-uuid"},
    ],
)
async def test_bad_notes_are_422(client, db, bank, body):
    rm01 = await headers_of(client, "rm01")
    response = await client.post(f"{CUSTOMERS}/{bank['C1']}/notes", json=body, headers=rm01)
    assert_problem(response, 422, "request.validation_failed")
    assert await db.fetchval("select count(*) from customer_timeline") == 0


@pytest.mark.parametrize("text", [" ", "\n\t", "\u3000\u3000", "\u200b"])
async def test_a_blank_note_is_422_naming_the_text_and_warms_nobody(client, db, bank, text):
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{bank['C1']}"
    response = await client.post(
        f"{path}/notes", json={"kind": "visit", "text": text}, headers=rm01
    )
    assert_problem(response, 422, "note.blank_text")
    assert [e["path"] for e in response.json()["errors"]] == ["$.text"]
    assert await db.fetchval("select count(*) from customer_timeline") == 0
    assert (await client.get(path, headers=rm01)).json()["intimacy_score"] == 0
    # Text around the spaces is a note.
    kept = await client.post(
        f"{path}/notes", json={"kind": "visit", "text": " 到访 \n"}, headers=rm01
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["text"] == " 到访 \n"


async def test_a_note_id_resent_with_another_kind_is_409_and_the_note_stays(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{bank['C2']}/notes"
    note = {"id": str(uuid.uuid4()), "kind": "call", "text": "hello"}
    first = await client.post(path, json=note, headers=rm01)
    assert first.status_code == 201, first.text
    for changed in ({"kind": "visit"}, {"kind": "visit", "text": "hello!"}):
        clash = await client.post(path, json={**note, **changed}, headers=rm01)
        assert_problem(clash, 409, "note.id_taken")
    # The same id for another customer of the same RM is taken as well.
    elsewhere = await client.post(f"{CUSTOMERS}/{bank['C3']}/notes", json=note, headers=rm01)
    assert_problem(elsewhere, 409, "note.id_taken")
    again = await client.post(path, json=note, headers=rm01)
    assert again.status_code in (200, 201)
    assert again.json() == first.json()
    rows = await db.fetch("select customer_id::text as customer, kind from customer_timeline")
    assert [(r["customer"], r["kind"]) for r in rows] == [(bank["C2"], "note.call")]


# ---- real-name verification ------------------------------------------------------------------


async def invite_path(client: Any, headers: dict[str, str], customer: str) -> str:
    response = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=headers)
    assert response.status_code == 201, response.text
    return "/v/" + response.json()["url"].split("/v/", 1)[1]


def right_answers(key: str) -> dict[str, str]:
    person = PEOPLE[key]
    return {"name": person.name, "id_number": person.id_number, "phone": person.phone}


async def verification_record(db: Any, customer: str) -> tuple[Any, ...]:
    """What verifying a customer records: the verified time, timeline entries, notifications
    (each one is also the RM's push)."""
    return (
        await db.fetchval("select verified_at from customers where id = $1", uuid.UUID(customer)),
        await db.fetchval(
            "select count(*) from customer_timeline where kind = 'verification.completed'"
        ),
        await db.fetchval(
            "select count(*) from notifications where category = 'customer.verified'"
        ),
    )


async def test_a_customer_is_verified_once_whichever_link_they_answer(client, db, bank):
    rm01 = await headers_of(client, "rm01")
    customer = bank["C2"]
    # Two links (the RM tapped twice); the customer answers the first, then the second.
    first, second = [await invite_path(client, rm01, customer) for _ in range(2)]
    answered = await client.post(first, data=right_answers("C2"))
    assert answered.status_code == 200, answered.text
    assert "认证成功" in answered.text
    verified = await verification_record(db, customer)
    assert verified[0] is not None
    assert verified[1:] == (1, 1)
    score = (await client.get(f"{CUSTOMERS}/{customer}", headers=rm01)).json()["intimacy_score"]

    shown = await client.get(second)
    assert shown.status_code == 410
    assert "已完成实名认证" in shown.text
    assert "<form" not in shown.text
    again = await client.post(second, data=right_answers("C2"))
    assert again.status_code == 410, again.text
    assert "已完成实名认证" in again.text
    assert "认证成功" not in again.text
    assert await verification_record(db, customer) == verified
    detail = (await client.get(f"{CUSTOMERS}/{customer}", headers=rm01)).json()
    assert detail["intimacy_score"] == score
    # The second link is closed; no new one is made for a verified customer.
    still_open = await db.fetchval(
        "select count(*) from verification_invites where completed_at is null"
        " and expires_at > now()"
    )
    assert still_open == 0
    refused = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert_problem(refused, 409, "customer.already_verified")
    assert await db.fetchval("select count(*) from verification_invites") == 2


async def test_two_links_answered_at_once_verify_the_customer_once(client, db, settings, bank):
    # Both answers are checked at the same moment (two API processes): the customer's row is
    # held until both wait for it. One verifies; the other finds the customer verified.
    rm01 = await headers_of(client, "rm01")
    customer = bank["C3"]
    tokens = [(await invite_path(client, rm01, customer)).removeprefix("/v/") for _ in range(2)]
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    keyring = client.app.state.auth.keyring

    async def answer(conn: Any, token: str) -> str:
        async with conn.transaction():
            state, row = await verification.open_invite(
                conn, vault=vault, keyring=keyring, token=token, lock=True
            )
            if state is not verification.InviteState.OPEN or row is None:
                return state.value
            answers = verification.Answers(**right_answers("C3"))
            return (
                await verification.submit(conn, vault=vault, invite_row=row, answers=answers)
            ).value

    first, second = [await asyncpg.connect(settings.database_url) for _ in range(2)]
    try:
        for conn in (first, second):
            await use_json_codecs(conn)
        async with db.transaction():
            await db.execute(
                "select 1 from customers where id = $1 for update", uuid.UUID(customer)
            )
            answering = asyncio.gather(answer(first, tokens[0]), answer(second, tokens[1]))
            await until_waiting_for_locks(db, 2)
        outcomes = await answering
    finally:
        await first.close()
        await second.close()
    assert sorted(outcomes) == ["used", "verified"]
    record = await verification_record(db, customer)
    assert record[0] is not None
    assert record[1:] == (1, 1)


@pytest.mark.parametrize(
    "text",
    ["😀\u202e反向文本", "见了\u202d客户", "到访\u2067客户\u2069", "客户\u202b说", "备注\x1b[2J"],
)
async def test_a_note_that_would_read_otherwise_is_422_and_stores_nothing(client, db, bank, text):
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{bank['C1']}"
    response = await client.post(f"{path}/notes", json={"kind": "chat", "text": text}, headers=rm01)
    assert_problem(response, 422, "request.validation_failed")
    assert [e["path"] for e in response.json()["errors"]] == ["$.text"]
    assert await db.fetchval("select count(*) from customer_timeline") == 0
    timeline = await client.get(f"{path}/timeline", headers=rm01)
    assert timeline.json()["items"] == []


async def test_a_note_keeps_its_line_breaks_and_tabs(client, bank):
    rm01 = await headers_of(client, "rm01")
    text = "第一行\r\n第二行\n\t缩进\u2028第四行"
    kept = await client.post(
        f"{CUSTOMERS}/{bank['C1']}/notes", json={"kind": "visit", "text": text}, headers=rm01
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["text"] == text

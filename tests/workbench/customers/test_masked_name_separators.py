"""A name's mask counts the characters a reader counts: the separators between its parts (a
space of any width, a dot, a dash, a zero-width space), which search drops too, are not
characters of the name, so a two-character name typed with one is masked as one without."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from workbench.customers.personal_data import mask_name
from workbench.ids import uuid5_for

TWO_CHARACTERS = [
    "李四",
    "李 四",
    "李·四",
    "李\u200b四",
    "李\u3000四",
    "李-四",
    "李 · 四",
    "李．四",
]


@pytest.mark.parametrize("name", TWO_CHARACTERS)
def test_a_two_character_name_with_a_separator_shows_only_its_surname(name):
    assert mask_name(name) == "李*"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("阿依古丽·买买提", "阿*****提"),
        ("王 小 明", "王*明"),
        ("王\u3000小明", "王*明"),
        ("欧阳\u200b娜娜", "欧**娜"),
        ("张\u00ad小三", "张*三"),  # a soft hyphen shows nothing
        ("Wang Xiaoming", "W**********g"),
        ("·", "*"),
        (" \u3000 ", "*"),
    ],
)
def test_a_longer_name_keeps_only_its_ends_whatever_separates_its_parts(name, masked):
    assert mask_name(name) == masked


@pytest.mark.usefixtures("demo_bank")
async def test_the_list_the_360_view_and_the_verification_notice_mask_such_names_alike(
    client: Any, db: Any
) -> None:
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    rows = [customer_row(f"M-{n}", name=name, seq=40 + n) for n, name in enumerate(TWO_CHARACTERS)]
    assert (await feed(client, admin, "customers", rows))["inserted"] == len(rows)
    ids = await customer_ids(db)

    listed = await client.get(CUSTOMERS, params={"limit": 200}, headers=rm01)
    assert listed.status_code == 200, listed.text
    shown = {item["id"]: item["name"] for item in listed.json()["items"]}
    assert {shown[str(ids[row["external_id"]])] for row in rows} == {"李*"}
    for row in rows:
        detail = await client.get(f"{CUSTOMERS}/{ids[row['external_id']]}", headers=rm01)
        assert detail.status_code == 200, detail.text
        assert "李*四" not in detail.text
        assert detail.json()["name"] == "李*"

    spaced = rows[1]  # 李 四, answered on the page as the bank sent it
    customer: uuid.UUID = ids[spaced["external_id"]]
    made = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert made.status_code == 201, made.text
    link = "/v/" + made.json()["url"].split("/v/", 1)[1]
    answers = {k: spaced[k] for k in ("name", "id_number", "phone")}
    done = await client.post(link, data=answers)
    assert done.status_code == 200, done.text
    told = await db.fetch(
        "select user_id, body from notifications where category = 'customer.verified'"
    )
    assert [(r["user_id"], r["body"]) for r in told] == [
        (uuid5_for("user:rm01"), "您的客户 李* 已完成实名认证。")
    ]

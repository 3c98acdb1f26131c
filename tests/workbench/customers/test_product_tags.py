"""Tags the product adds (a survey answer's option tags) and the bank's own tags are kept apart:
a bank feed replaces only the bank's, the customer shows both (list, filter, 360° view, offline
sync), and a bank record sent again unchanged is counted unchanged and rewrites nothing."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest

from mobile_contracts.v1 import customers as wire
from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of, phone
from tests.customers_data import id_number as id_number_of
from tests.sync.sync_data import fresh_state, of, ops, pull_all
from tests.workbench.surveys.delivery_data import SURVEYS, opts, publish, q, unit, user
from workbench import migrate
from workbench.customers import feeds
from workbench.customers.feeds import NAME_CHECK, personal_data_aad
from workbench.db import create_pool, use_json_codecs
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.seed import seed_demo_bank
from workbench.surveys import delivery, delivery_jobs

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
INTEREST = [
    q("interest", "single", "您对哪类产品感兴趣？", required=True,
      options=opts(("wealth", "理财", "理财意向"), ("deposit", "存款", "存款意向"))),
]  # fmt: skip
BANK_ROW = customer_row("T-1", name="张小三", seq=41, tags=["payroll"], segment="affluent")


async def _answer(
    client: Any, db: Any, settings: Any, rm01: dict[str, str], customer: uuid.UUID, choice: str
) -> None:
    """rm01 sends a survey with tagged options to the customer, who answers `choice`."""
    survey = await publish(db, questions=INTEREST, title=f"产品意向 {choice}")
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries", json={"customer_ids": [str(customer)]}, headers=rm01
    )
    assert sent.status_code == 201, sent.text
    path = sent.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    answered = await client.post(
        path, content=urlencode([("interest", choice)]), headers=FORM, follow_redirects=False
    )
    assert answered.status_code == 303, answered.text


async def _shown_tags(client: Any, headers: dict[str, str], customer: uuid.UUID) -> list[str]:
    detail = await client.get(f"{CUSTOMERS}/{customer}", headers=headers)
    assert detail.status_code == 200, detail.text
    tags: list[str] = detail.json()["tags"]
    return tags


async def _listed(client: Any, headers: dict[str, str], **params: str) -> set[str]:
    response = await client.get(CUSTOMERS, params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_a_survey_tag_survives_the_next_feed_which_counts_an_unchanged_record_unchanged(
    client, db, settings
):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    assert (await feed(client, admin, "customers", [BANK_ROW]))["inserted"] == 1
    customer = (await customer_ids(db))["T-1"]
    await _answer(client, db, settings, rm01, customer, "wealth")
    assert await _shown_tags(client, rm01, customer) == ["payroll", "理财意向"]
    local = await fresh_state(client, rm01, db=db)
    assert of(local, "customer")[str(customer)]["tags"] == ["payroll", "理财意向"]
    _, cursor = await pull_all(client, rm01, db=db)
    stamp = await db.fetchval("select updated_at from customers where id = $1", customer)

    # The bank sends the same record again (tonight's feed): nothing changed, nothing written.
    again = await feed(client, admin, "customers", [BANK_ROW])
    assert again == {"inserted": 0, "updated": 0, "unchanged": 1, "rejected": []}
    assert await _shown_tags(client, rm01, customer) == ["payroll", "理财意向"]
    assert await db.fetchval("select updated_at from customers where id = $1", customer) == stamp
    changes, cursor = await pull_all(client, rm01, cursor, db=db)
    assert ops(changes, "customer") == []  # the app downloads nothing again

    # The bank's own tags change: they are replaced, the survey's stays.
    changed = await feed(client, admin, "customers", [{**BANK_ROW, "tags": ["vip", "代发"]}])
    assert (changed["updated"], changed["unchanged"]) == (1, 0)
    assert await _shown_tags(client, rm01, customer) == ["vip", "代发", "理财意向"]
    changes, _ = await pull_all(client, rm01, cursor, db=db)
    assert [c["data"]["tags"] for c in changes if c["entity"] == "customer"] == [
        ["vip", "代发", "理财意向"]
    ]
    # Filtering by tag sees both kinds; the bank's dropped tag is gone.
    assert await _listed(client, rm01, tag="理财意向") == {str(customer)}
    assert await _listed(client, rm01, tag="vip") == {str(customer)}
    assert await _listed(client, rm01, tag="payroll") == set()
    listed = await client.get(CUSTOMERS, params={"tag": "理财意向"}, headers=rm01)
    assert listed.json()["items"][0]["tags"] == ["vip", "代发", "理财意向"]
    # A branch head sees the same.
    bh = await headers_of(client, "bh.east")
    assert await _shown_tags(client, bh, customer) == ["vip", "代发", "理财意向"]


async def test_a_tag_both_the_bank_and_a_survey_gave_stays_when_the_bank_drops_it(
    client, db, settings
):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    row = {**BANK_ROW, "tags": ["payroll", "理财意向"]}
    await feed(client, admin, "customers", [row])
    customer = (await customer_ids(db))["T-1"]
    await _answer(client, db, settings, rm01, customer, "wealth")
    assert await _shown_tags(client, rm01, customer) == ["payroll", "理财意向"]
    assert (await feed(client, admin, "customers", [row]))["unchanged"] == 1

    dropped = await feed(client, admin, "customers", [{**row, "tags": []}])
    assert dropped["updated"] == 1
    assert await _shown_tags(client, rm01, customer) == ["理财意向"]
    # A second survey's tag joins the first; the bank's next record keeps both.
    await _answer(client, db, settings, rm01, customer, "deposit")
    await feed(client, admin, "customers", [{**row, "tags": ["vip"]}])
    assert await _shown_tags(client, rm01, customer) == ["vip", "理财意向", "存款意向"]
    assert await _listed(client, rm01, tag="存款意向") == {str(customer)}


async def test_survey_recipients_chosen_by_tag_include_survey_tagged_customers(
    client, db, settings
):
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [BANK_ROW, customer_row("T-2", name="李四", seq=42)])
    customer = (await customer_ids(db))["T-1"]
    await _answer(client, db, settings, rm01, customer, "wealth")
    await feed(client, admin, "customers", [BANK_ROW])  # the nightly feed
    survey = await publish(db, questions=INTEREST, title="理财回访")
    bh = await headers_of(client, "bh.east")
    made = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"org_unit_id": str(unit("team-east-1")), "tag": "理财意向"},
        headers=bh,
    )
    assert made.status_code == 202, made.text
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        job = {"pool": pool, "settings": settings, "survey_chunk": 1000,
               "survey_rules": delivery.Rules.from_settings(settings)}  # fmt: skip
        await delivery_jobs.deliver_surveys(job)
    finally:
        await pool.close()
    invited = await db.fetch(
        "select customer_id from survey_invitations where survey_id = $1", survey
    )
    assert [r["customer_id"] for r in invited] == [customer]


# ---- customers stored before the bank's and the product's tags were apart ---------------------

BEFORE = 39  # the last migration before the tags were kept apart


def _migrations_up_to(target: Path, last: int) -> Path:
    target.mkdir()
    for path in sorted(migrate.default_directory().glob("*.sql")):
        if int(path.name[:4]) <= last:
            shutil.copy(path, target / path.name)
    return target


async def _legacy_customer(
    conn: Any, vault: Vault, external_id: str, seq: int, tags: list[str]
) -> uuid.UUID:
    """A customer as the feed stored it before: one `tags` column, survey tags appended."""
    name, id_number, mobile = "王芳", id_number_of(seq), phone(seq)
    cipher, bidx = vault.cipher, vault.blind_index
    customer = uuid7()
    await conn.execute(
        """insert into customers (id, external_id, owner_id, name_enc, id_number_enc, phone_enc,
                                  name_bidx, surname_bidx, id_number_bidx, phone_bidx,
                                  risk_level, segment, tags, aum, name_check)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 3, null, $11, 0, $12)""",
        customer, external_id, user("rm01"),
        cipher.encrypt(name, aad=personal_data_aad("name", external_id)),
        cipher.encrypt(id_number, aad=personal_data_aad("id_number", external_id)),
        cipher.encrypt(mobile, aad=personal_data_aad("phone", external_id)),
        bidx("name", name), bidx("surname", name[0]), bidx("id_number", id_number),
        bidx("phone", mobile), tags, bidx(NAME_CHECK, name),
    )  # fmt: skip
    return customer


async def _legacy_answer(
    conn: Any, survey: uuid.UUID, customer: uuid.UUID, answers: dict[str, Any]
) -> None:
    invitation = uuid7()
    await conn.execute(
        """insert into survey_invitations (id, survey_id, version, customer_id, org_unit_id,
                                           sent_by, expires_at, responded_at)
           values ($1, $2, 1, $3, $4, $5, now() + interval '1 day', now())""",
        invitation, survey, customer, unit("team-east-1"), user("rm01"),
    )  # fmt: skip
    await conn.execute(
        """insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                         org_unit_id, answers)
           values ($1, $2, $3, 1, $4, $5, $6::jsonb)""",
        uuid7(), invitation, survey, customer, unit("team-east-1"), json.dumps(answers),
    )  # fmt: skip


async def test_the_migration_sets_survey_tags_apart_and_restores_those_a_feed_wiped(
    scratch_db, settings, tmp_path
):
    folder = _migrations_up_to(tmp_path / "migrations", BEFORE)
    await migrate.migrate(scratch_db, folder)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await asyncpg.connect(scratch_db)
    try:
        await seed_demo_bank(conn, passwords=Passwords(memory_kib=1024, iterations=1))
        questions = [
            *INTEREST,
            q("channels", "multi", "您常用的渠道", options=opts(("app", "手机银行", "线上客户"),
                                                            "branch")),
        ]  # fmt: skip
        survey = await publish(conn, questions=questions)
        kept = await _legacy_customer(conn, vault, "L-1", 1, ["payroll", "理财意向"])
        wiped = await _legacy_customer(conn, vault, "L-2", 2, ["payroll"])  # a feed wiped it
        plain = await _legacy_customer(conn, vault, "L-3", 3, ["vip"])
        await _legacy_answer(conn, survey, kept, {"interest": "wealth"})
        await _legacy_answer(conn, survey, wiped, {"interest": "wealth", "channels": ["app"]})
        await _legacy_answer(conn, survey, plain, {"interest": "deposit", "channels": ["branch"]})
        plain_tags = ["vip", "存款意向"]
        await conn.execute("update customers set tags = $2 where id = $1", plain, plain_tags)

        for path in sorted(migrate.default_directory().glob("*.sql")):
            if int(path.name[:4]) > BEFORE:
                shutil.copy(path, folder / path.name)
        await migrate.migrate(scratch_db, folder)
        tags = {r["id"]: r["tags"] for r in await conn.fetch("select id, tags from customers")}
        assert tags == {
            kept: ["payroll", "理财意向"],
            wiped: ["payroll", "理财意向", "线上客户"],
            plain: ["vip", "存款意向"],
        }

        # Tonight's feed sends the bank's records as they were: all unchanged, tags kept.
        await use_json_codecs(conn)
        rows = [
            wire.CustomerFeedRow(
                external_id=ext, name="王芳", id_number=id_number_of(seq), phone=phone(seq),
                owner_login="rm01", risk_level="C3", tags=bank_tags,
            )
            for ext, seq, bank_tags in (("L-1", 1, ["payroll"]), ("L-2", 2, ["payroll"]),
                                        ("L-3", 3, ["vip"]))
        ]  # fmt: skip
        async with conn.transaction():
            result = await feeds.upsert_customers(conn, vault=vault, rows=rows)
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, 3)
        after = {r["id"]: r["tags"] for r in await conn.fetch("select id, tags from customers")}
        assert after == tags
        # The bank drops a tag: the survey's stay.
        without = wire.CustomerFeedRow(
            external_id="L-2", name="王芳", id_number=id_number_of(2), phone=phone(2),
            owner_login="rm01", risk_level="C3", tags=[],
        )  # fmt: skip
        async with conn.transaction():
            result = await feeds.upsert_customers(conn, vault=vault, rows=[without])
        assert result.updated == 1
        assert await conn.fetchval("select tags from customers where id = $1", wiped) == [
            "理财意向",
            "线上客户",
        ]
    finally:
        await conn.close()

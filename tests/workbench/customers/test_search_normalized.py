"""Search finds what the rest of the product accepts: an ID number typed in groups, a name typed
with or without the spaces (of any width) and dots between its parts, whatever the bank sent.
Blind indexes stored before are rewritten by the next feed of the customer, or by `reindex`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from workbench.customers import reindex
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import normalize_name, surname
from workbench.db import create_pool
from workbench.security.vault import Vault
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

JIANG_ID = "110105198209210009"  # the README's demo customer
ROWS = [
    customer_row("S-1", name="蒋刚", id_no=JIANG_ID, mobile="19841140765"),
    customer_row("S-2", name="\u3000王\u3000小明\u3000", seq=2),  # full-width spaces
    customer_row("S-3", name="阿依古丽·买买提", seq=3),
    customer_row("S-4", name="Zhang  Wei", seq=4),
    customer_row("S-5", name="王小", seq=5),
]


@pytest.fixture
async def fed(client: Any, db: Any) -> dict[str, uuid.UUID]:
    admin = await headers_of(client, "admin")
    assert (await feed(client, admin, "customers", ROWS))["inserted"] == len(ROWS)
    return await customer_ids(db)


async def found(
    client: Any, headers: dict[str, str], q: str, fed: dict[str, uuid.UUID]
) -> set[str]:
    response = await client.get(CUSTOMERS, params={"q": q, "limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    by_id = {str(v): k for k, v in fed.items()}
    return {by_id[item["id"]] for item in response.json()["items"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (JIANG_ID, {"S-1"}),
        ("110105 19820921 0009", {"S-1"}),  # as the verification page takes it
        ("110105\u300019820921\u30000009", {"S-1"}),
        (" 1101 0519 8209 2100 09 ", {"S-1"}),
        ("蒋刚", {"S-1"}),
        ("蒋 刚", {"S-1"}),
        ("蒋\u3000刚", {"S-1"}),
        ("蒋", {"S-1"}),
        ("王小明", {"S-2"}),
        ("王 小明", {"S-2"}),
        ("\u3000王\u3000小明\u3000", {"S-2"}),
        ("王", {"S-2", "S-5"}),
        ("王小", {"S-5"}),
        ("阿依古丽买买提", {"S-3"}),
        ("阿依古丽·买买提", {"S-3"}),
        ("阿依古丽•买买提", {"S-3"}),
        ("阿依古丽・买买提", {"S-3"}),
        ("阿依古丽 买买提", {"S-3"}),
        ("阿依古丽买买", set()),
        ("zhang wei", {"S-4"}),
        ("ZhangWei", {"S-4"}),
        ("zhang", {"S-4"}),
    ],
)
async def test_search_normalizes_as_the_product_does(client, fed, q, expected):
    rm01 = await headers_of(client, "rm01")
    assert await found(client, rm01, q, fed) == expected


async def test_the_name_shown_keeps_what_the_bank_sent_trimmed(client, db, settings, fed):
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    row = await db.fetchrow("select name_enc from customers where external_id = 'S-2'")
    name = vault.cipher.decrypt(row["name_enc"], aad=personal_data_aad("name", "S-2"))
    assert name == "王 小明"  # NFKC makes the full-width space " "; the space stays
    assert (
        vault.cipher.decrypt(
            (await db.fetchrow("select name_enc from customers where external_id = 'S-3'"))[0],
            aad=personal_data_aad("name", "S-3"),
        )
        == "阿依古丽·买买提"
    )


async def _as_stored_before(db: Any, vault: Vault, external_id: str, name: str) -> None:
    """The customer's name indexes as the feed wrote them before: spaces folded, dots kept."""
    normalized = normalize_name(name)
    await db.execute(
        "update customers set name_bidx = $2, surname_bidx = $3, verified_at = now()"
        " where external_id = $1",
        external_id,
        vault.blind_index("name", normalized),
        vault.blind_index("surname", surname(normalized)),
    )


async def test_the_next_feed_rewrites_an_index_stored_before_and_keeps_the_verification(
    client, db, settings, fed
):
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    await _as_stored_before(db, vault, "S-2", "王 小明")
    rm01 = await headers_of(client, "rm01")
    assert await found(client, rm01, "王 小明", fed) == {"S-2"}  # found as before
    assert await found(client, rm01, "王小明", fed) == set()  # not yet
    verified_at = await db.fetchval("select verified_at from customers where external_id = 'S-2'")

    admin = await headers_of(client, "admin")
    again = await feed(client, admin, "customers", ROWS)
    assert (again["updated"], again["unchanged"]) == (1, len(ROWS) - 1)
    assert await found(client, rm01, "王小明", fed) == {"S-2"}
    assert await found(client, rm01, "王", fed) == {"S-2", "S-5"}
    shown = (await client.get(f"{CUSTOMERS}/{fed['S-2']}", headers=rm01)).json()
    assert shown["verified"] is True  # the same name: the same person
    assert (
        await db.fetchval("select verified_at from customers where external_id = 'S-2'")
        == verified_at
    )
    assert "verification.cleared" not in [e["kind"] for e in shown["timeline"]["items"]]
    assert (await feed(client, admin, "customers", ROWS))["unchanged"] == len(ROWS)


async def test_reindex_rewrites_the_indexes_stored_before(client, db, settings, fed):
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    await _as_stored_before(db, vault, "S-3", "阿依古丽·买买提")
    await _as_stored_before(db, vault, "S-2", "王 小明")
    rm01 = await headers_of(client, "rm01")
    assert await found(client, rm01, "阿依古丽买买提", fed) == set()
    stamps = dict(await db.fetch("select external_id, updated_at from customers"))

    pool = await create_pool(settings.database_url, max_size=2)
    try:
        done = await reindex.reindex_names(pool, vault=vault, batch_size=2)
        assert (done.rewritten, done.unreadable) == (2, 0)
        assert await found(client, rm01, "阿依古丽买买提", fed) == {"S-3"}
        assert await found(client, rm01, "王小明", fed) == {"S-2"}
        again = await reindex.reindex_names(pool, vault=vault, batch_size=2)
        assert (again.rewritten, again.unreadable) == (0, 0)
    finally:
        await pool.close()
    assert dict(await db.fetch("select external_id, updated_at from customers")) == stamps
    # The operator's command (README: once after upgrading) finds nothing left to rewrite.
    await _as_stored_before(db, vault, "S-2", "王 小明")
    command = _reindex_command(settings)
    assert command.returncode == 0, command.stdout + command.stderr
    assert command.stdout.strip() == "re-indexed the names of 1 customer(s)"
    verified = await db.fetch("select external_id from customers where verified_at is not null")
    assert sorted(r[0] for r in verified) == ["S-2", "S-3"]
    admin = await headers_of(client, "admin")
    assert (await feed(client, admin, "customers", ROWS))["unchanged"] == len(ROWS)


def _reindex_command(settings: Settings) -> subprocess.CompletedProcess[str]:
    def encoded(key: bytes) -> str:
        return base64.b64encode(key).decode()

    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        WORKBENCH_JWT_KEYS="k:" + encoded(settings.jwt_keys[0].seed),
        WORKBENCH_DATA_KEYS=",".join(f"{k.kid}:{encoded(k.key)}" for k in settings.data_keys),
        WORKBENCH_BLIND_INDEX_KEY=encoded(settings.blind_index_key),
    )
    return subprocess.run(
        [sys.executable, "-m", "workbench", "reindex-customers"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

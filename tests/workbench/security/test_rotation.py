"""`workbench rotate-keys` re-encrypts every encrypted value of the schema.

- The live schema is held to the rotation registry: every `bytea` column (and any column named like
  ciphertext) is either declared as encrypted, with its table's primary key to walk by, or listed
  as not secret with the reason; a new one fails here until it is classified.
- End to end, as an operator does it: customers, notes, push registrations, work order notes,
  survey and task answers written under key A; `rotate-keys` with keys (B, A) rewrites them
  all, reports per kind and gives the apps nothing to pull; a second run finds nothing left;
  with A dropped, the API shows every value and push still reaches every device (the worker's
  delivery and `workbench push test`).
- A value that cannot be decrypted is reported, counted, left as it is, and the rest rotates.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from push import providers
from push.delivery import Deliverer
from push.fakes import FakeCredentials, FakePushServer
from push.jobs import options
from push.metrics import PushMetrics
from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.push.conftest import settings_for
from tests.push.test_push_cli import push_test
from tests.push_data import register
from tests.tasks_data import TASKS, create_template, field, issue
from tests.workbench.surveys.delivery_data import SURVEYS, publish
from tests.workbench.workorders.wo_setup import write_work_order_note
from workbench.db import create_pool
from workbench.ids import uuid5_for
from workbench.notifications.service import notify
from workbench.security.rotation import NOT_ENCRYPTED, registry
from workbench.security.vault import UNREADABLE, FieldCipher, Vault, key_id
from workbench.settings import DataKey, Settings

ROOT = Path(__file__).resolve().parents[3]
NEW = DataKey("data-2", b"n" * 32)
# A column whose name says it holds ciphertext, whatever its type.
CIPHER_NAME = re.compile(r"(_enc$|cipher|encrypt|secret)")

COLUMNS = """
    select c.relname as table_name, a.attname as column_name,
           format_type(a.atttypid, a.atttypmod) as type
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
       and a.attnum > 0 and not a.attisdropped
"""
PRIMARY_KEY = """
    select a.attname, format_type(a.atttypid, a.atttypmod) as type
      from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = $1::regclass and i.indisprimary
"""


def declared() -> set[tuple[str, str]]:
    return {(d.table, column) for d in registry() for column in d.aad}


async def unclassified(db: Any) -> set[tuple[str, str]]:
    """Columns that may hold ciphertext and are neither rotated nor listed as not secret."""
    candidates = {
        (r["table_name"], r["column_name"])
        for r in await db.fetch(COLUMNS)
        if r["type"] in ("bytea", "bytea[]") or CIPHER_NAME.search(r["column_name"])
    }
    return candidates - declared() - set(NOT_ENCRYPTED)


async def test_every_encrypted_column_of_the_schema_is_rotated(db):
    assert await unclassified(db) == set(), (
        "declare these in an EncryptedColumns of their feature (workbench.security.rotation"
        " registry) or, if they hold nothing secret, in NOT_ENCRYPTED with the reason"
    )
    types = {(r["table_name"], r["column_name"]): r["type"] for r in await db.fetch(COLUMNS)}
    for table, column in declared():
        assert types.get((table, column)) == "bytea", f"{table}.{column} is declared but not bytea"
    for table, column in NOT_ENCRYPTED:
        assert (table, column) in types, f"NOT_ENCRYPTED lists {table}.{column}, which is gone"
    assert not declared() & set(NOT_ENCRYPTED)
    for d in registry():
        key = await db.fetch(PRIMARY_KEY, d.table)
        assert [(k["attname"], k["type"]) for k in key] == [(d.key, d.key_type)], d.table
        for column in d.reads:
            assert (d.table, column) in types, f"{d.table}.{column}"


async def test_a_new_bytea_column_is_caught_until_it_is_classified(db):
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute("alter table customers add column passport_enc bytea")
        await db.execute("create table visit_recordings (id uuid primary key, audio bytea)")
        await db.execute("alter table users add column otp_secret text")
        assert await unclassified(db) == {
            ("customers", "passport_enc"),
            ("visit_recordings", "audio"),
            ("users", "otp_secret"),
        }
    finally:
        await transaction.rollback()
    assert await unclassified(db) == set()


# ---- end to end --------------------------------------------------------------------------------


def data_keys(*keys: DataKey) -> str:
    return ",".join(f"{k.kid}:{base64.b64encode(k.key).decode()}" for k in keys)


def rotate_keys(settings: Settings, *keys: DataKey) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        WORKBENCH_JWT_KEYS="k:" + base64.b64encode(settings.jwt_keys[0].seed).decode(),
        WORKBENCH_DATA_KEYS=data_keys(*keys),
        WORKBENCH_BLIND_INDEX_KEY=base64.b64encode(settings.blind_index_key).decode(),
    )
    return subprocess.run(
        [sys.executable, "-m", "workbench", "rotate-keys", "--batch", "2"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def key_ids(db: Any) -> set[tuple[str, str, str]]:
    """(table, column, key id) of every encrypted value the registry names."""
    found = set()
    for d in registry():
        for column in d.aad:
            sql = f"select {column} from {d.table} where {column} is not null"  # noqa: S608
            found |= {(d.table, column, key_id(bytes(row[0]))) for row in await db.fetch(sql)}
    return found


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakePushServer]:
    server = FakePushServer(FakeCredentials.generate(tmp_path / "push-credentials"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Any]:
    created = await create_pool(settings.database_url, max_size=4)
    try:
        yield created
    finally:
        await created.close()


async def deliver_once(pool: Any, settings: Settings) -> int:
    """One delivery round of a worker configured with `settings`."""
    redis = Redis.from_url(settings.redis_url)
    senders = providers.build(settings, redis)
    try:
        vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        deliverer = Deliverer(pool, senders, vault, PushMetrics(), options(settings))
        return await deliverer.run_round()
    finally:
        for sender in senders.values():
            await sender.aclose()
        await redis.aclose()


NAMES = {"ROT-1": "周星星", "ROT-2": "欧阳娜娜", "ROT-3": "李雷"}


async def answer_with_text(
    client: Any, db: Any, settings: Settings, customer: Any, rm: Any
) -> None:
    """The customer answers a survey with a text answer (stored encrypted)."""
    survey = await publish(db, questions=[{"key": "note", "type": "text", "text": "建议"}])
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]}, headers=rm)  # fmt: skip
    link = sent.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    answered = await client.post(link, json={"answers": {"note": "服务很周到"}})
    assert answered.status_code == 201, answered.text


async def task_with_text(client: Any, db: Any, admin: Any, rm: Any) -> Any:
    """rm01 submits a task whose text answer holds a phone number (stored encrypted); its id."""
    template = await create_template(client, admin, field("notes", "text"), name="电话回访")
    task_id = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    assert (await client.post(f"{TASKS}/{task_id}/start", headers=rm)).status_code == 200
    submitted = await client.post(
        f"{TASKS}/{task_id}/submit", json={"values": {"notes": "新手机 13712345678"}}, headers=rm
    )
    assert submitted.status_code == 200, submitted.text
    return task_id


@pytest.mark.usefixtures("demo_bank")
async def test_rotate_then_drop_the_old_key_and_everything_still_reads_and_pushes(
    settings, db, pool, make_client, client, fake
):
    old = settings.data_keys[0]
    # Written under the old key: customers, notes, push registrations (one switched off).
    admin = await headers_of(client, "admin")
    rows = [customer_row(ext, name=name, seq=i) for i, (ext, name) in enumerate(NAMES.items())]
    assert (await feed(client, admin, "customers", rows))["inserted"] == 3
    ids = await customer_ids(db)
    rm01 = await headers_of(client, "rm01")
    for ext, cid in ids.items():
        response = await client.post(
            f"{CUSTOMERS}/{cid}/notes", json={"kind": "visit", "text": f"拜访 {ext}"}, headers=rm01
        )
        assert response.status_code == 201, response.text
    await write_work_order_note(settings, ids["ROT-1"], "已回访客户")
    await answer_with_text(client, db, settings, ids["ROT-1"], rm01)
    task_id = await task_with_text(client, db, admin, rm01)
    devices = {
        await register(client, "rm01", platform="ios", provider="apns", token="a" * 64): "a" * 64,
        await register(client, "rm01", platform="android", provider="fcm", token="fcm-rot-1"):
            "fcm-rot-1",
        await register(client, "rm01", platform="harmony", provider="hms", token="hms-rot-1"):
            "hms-rot-1",
    }  # fmt: skip
    gone = await register(client, "rm02", platform="ios", provider="apns", token="b" * 64)
    await db.execute(
        "update push_registrations set active = false, deactivated_at = now(),"
        " deactivated_reason = 'unregistered' where device_id = $1",
        gone,
    )
    assert {kid for _, _, kid in await key_ids(db)} == {old.kid}
    changes = await db.fetchval("select count(*) from sync_log")

    result = rotate_keys(settings, NEW, old)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "re-encrypted under data-2: 3 customers, 3 timeline entries, 4 push registrations,"
        " 1 work order notes, 1 survey responses, 1 task forms"
    ]
    after = await key_ids(db)
    assert {kid for _, _, kid in after} == {NEW.kid}
    assert {(t, c) for t, c, _ in after} == declared()  # every declared column had values here
    # Only ciphertext changed: nothing for the apps to pull.
    assert await db.fetchval("select count(*) from sync_log") == changes
    again = rotate_keys(settings, NEW, old)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "re-encrypted under data-2: 0 customers, 0 timeline entries, 0 push registrations,"
        " 0 work order notes, 0 survey responses, 0 task forms",
        "nothing left under older keys: they can be removed from WORKBENCH_DATA_KEYS",
    ]

    # The old key is dropped.
    only_new = replace(settings, data_keys=(NEW,))
    api = await make_client(data_keys=(NEW,))
    rm01 = await headers_of(api, "rm01")
    listed = (await api.get(CUSTOMERS, headers=rm01)).json()["items"]
    assert sorted(c["name"] for c in listed) == ["周*星", "李*", "欧**娜"]
    assert UNREADABLE not in {v for c in listed for v in (c["name"], c["phone"], c["id_number"])}
    found = await api.get(CUSTOMERS, params={"q": "欧阳娜娜"}, headers=rm01)
    assert [c["id"] for c in found.json()["items"]] == [str(ids["ROT-2"])]
    for ext, cid in ids.items():
        timeline = (await api.get(f"{CUSTOMERS}/{cid}/timeline", headers=rm01)).json()["items"]
        assert [e["text"] for e in timeline if e["kind"] == "note.visit"] == [f"拜访 {ext}"]
    task = (await api.get(f"{TASKS}/{task_id}", headers=rm01)).json()
    assert task["values"] == {"notes": "新手机 137******78"}

    async with pool.acquire() as conn:
        nid = await notify(
            conn, user_id=uuid5_for("user:rm01"), category="task.confirmed",
            title="客户已确认拜访", body="您的拜访已确认。", dedupe_key="rotated",
        )  # fmt: skip
    assert await deliver_once(pool, settings_for(only_new, fake)) == 1
    assert sorted(d.token for d in fake.sent) == sorted(devices.values())
    status = await db.fetchval("select push_status from notifications where id = $1", nid)
    assert status == "sent"

    code, out, err = await push_test(only_new, fake, "rm01")
    assert code == 0, out + err
    assert {line.split()[0]: line.split()[1:] for line in out.splitlines()} == {
        device: [token_provider, "sent"]
        for device, token_provider in zip(devices, ("apns", "fcm", "hms"), strict=True)
    }


@pytest.mark.usefixtures("demo_bank")
async def test_a_value_that_cannot_be_decrypted_is_reported_and_the_rest_rotates(
    settings, db, client
):
    old = settings.data_keys[0]
    admin = await headers_of(client, "admin")
    rows = [customer_row(ext, name=name, seq=i) for i, (ext, name) in enumerate(NAMES.items())]
    await feed(client, admin, "customers", rows)
    broken = (await customer_ids(db, ["ROT-2"]))["ROT-2"]
    lost = FieldCipher((DataKey("data-lost", b"l" * 32),)).encrypt(
        "13800000000", aad="customer.phone:ROT-2"
    )
    await db.execute("update customers set phone_enc = $2 where id = $1", broken, lost)

    result = rotate_keys(settings, NEW, old)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "re-encrypted under data-2: 3 customers, 0 timeline entries, 0 push registrations,"
        " 0 work order notes, 0 survey responses, 0 task forms",
        "cannot decrypt 1 value(s) of customers: left as they are (the log names each)",
        "keep every older key until those are resolved, then run rotate-keys again",
    ]
    assert f'"row":"{broken}"' in result.stderr
    assert '"column":"customers.phone_enc"' in result.stderr
    assert '"reason":"unknown_key"' in result.stderr
    assert "13800000000" not in result.stderr
    stored = await db.fetchrow(
        "select name_enc, phone_enc, id_number_enc from customers where id = $1", broken
    )
    # The readable values of that customer moved; the unreadable one is untouched.
    assert key_id(stored["name_enc"]) == key_id(stored["id_number_enc"]) == NEW.kid
    assert stored["phone_enc"] == lost
    assert rotate_keys(settings, NEW, old).returncode == 1  # still reported, never "done"

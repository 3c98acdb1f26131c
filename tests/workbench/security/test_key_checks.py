"""A wrong data key under a right key id is refused before anything is written.

- Each kid gets a key check the first time a command sees it; the same key passes ever after,
  another key under that kid is refused, naming the kid and never the key.
- A kid without a check (a database upgraded to the checks, already holding values) is tried on
  its stored values first: a wrong key is refused and no check is recorded for it.
- Two processes seeing a new kid at once with different keys: one check is kept, the other
  refused.
- As an operator runs them: `serve`, `worker` and `rotate-keys` with another key's bytes under
  the current kid stop with one line and exit 2, having written nothing; `rotate-keys` reports a
  value under the current kid that its key does not open, and never calls the old keys removable.
- The "can be removed" verdict comes from counting what is left under older keys, not from the
  walk ending.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.security.test_rotation import NEW, data_keys, key_ids, rotate_keys
from tests.workbench.test_cli import assert_one_line, run_cli, service_env
from workbench.db import create_pool
from workbench.embedded import free_port
from workbench.security import queries
from workbench.security.key_checks import DataKeyMismatch, verify_data_keys
from workbench.security.rotation import rotate
from workbench.security.vault import FieldCipher
from workbench.settings import DataKey, Settings

NAMES = {"KC-1": "周星星", "KC-2": "欧阳娜娜", "KC-3": "李雷"}


def impostor(kid: str, key: DataKey) -> DataKey:
    """Another key's bytes under `kid`: what an operator pastes by mistake after a rotation."""
    return DataKey(kid, key.key)


async def stored_checks(db: Any) -> dict[str, bytes]:
    rows = await db.fetch("select kid, sealed from data_key_checks")
    return {r["kid"]: bytes(r["sealed"]) for r in rows}


async def stored_values(db: Any) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "select id, name_enc, id_number_enc, phone_enc from customers order by id"
    )
    return [tuple(r.values()) for r in rows]


@pytest.fixture
async def customers(settings: Settings, client: Any, demo_bank: Any, db: Any) -> dict[str, Any]:
    """Three customers fed through the API, under the settings' key (data-1); no key check is
    recorded by that (the API's start does not record them)."""
    admin = await headers_of(client, "admin")
    rows = [customer_row(ext, name=name, seq=i) for i, (ext, name) in enumerate(NAMES.items())]
    assert (await feed(client, admin, "customers", rows))["inserted"] == 3
    return await customer_ids(db)


# ---- the checks --------------------------------------------------------------------------------


async def test_a_kid_seen_first_gets_a_check_and_another_key_under_it_is_refused(db, settings):
    current = settings.data_keys[0]
    await verify_data_keys(db, (NEW, current))
    checks = await stored_checks(db)
    assert set(checks) == {NEW.kid, current.kid}
    await verify_data_keys(db, (NEW, current))  # the same keys pass again
    assert await stored_checks(db) == checks

    with pytest.raises(DataKeyMismatch) as refused:
        await verify_data_keys(db, (impostor(NEW.kid, current), current))
    assert refused.value.kids == [NEW.kid]
    message = str(refused.value)
    assert f"kid {NEW.kid!r}" in message
    assert "\n" not in message
    assert base64.b64encode(current.key).decode() not in message
    assert await stored_checks(db) == checks  # the wrong key changed nothing


@pytest.mark.usefixtures("customers")
async def test_a_kid_without_a_check_is_tried_on_its_stored_values_first(db, settings):
    """A database upgraded to the checks holds values and no check: a wrong key must not be
    recorded as the kid's key (the right one would be refused ever after)."""
    current = settings.data_keys[0]
    assert await stored_checks(db) == {}

    with pytest.raises(DataKeyMismatch) as refused:
        await verify_data_keys(db, (DataKey(current.kid, b"x" * 32),))
    assert refused.value.kids == [current.kid]
    assert "value(s) stored under this kid" in str(refused.value)
    assert await stored_checks(db) == {}

    # A right key beside a wrong one: nothing is recorded until every key passes.
    with pytest.raises(DataKeyMismatch):
        await verify_data_keys(db, (impostor(NEW.kid, NEW), DataKey(current.kid, b"x" * 32)))
    assert await stored_checks(db) == {}

    await verify_data_keys(db, (current,))
    assert set(await stored_checks(db)) == {current.kid}


async def test_two_processes_seeing_a_new_kid_at_once_keep_one_key(settings):
    one, other = DataKey("data-9", b"1" * 32), DataKey("data-9", b"2" * 32)
    first = await asyncpg.connect(settings.database_url)
    second = await asyncpg.connect(settings.database_url)
    try:
        outcomes = await asyncio.gather(
            verify_data_keys(first, (one,)),
            verify_data_keys(second, (other,)),
            return_exceptions=True,
        )
        checks = await queries.key_checks(first, ["data-9"])
    finally:
        await first.close()
        await second.close()
    refused = [o for o in outcomes if isinstance(o, DataKeyMismatch)]
    assert len(refused) == 1, outcomes
    assert outcomes.count(None) == 1, outcomes
    kept = one if outcomes[0] is None else other
    assert FieldCipher((kept,)).decrypt(checks["data-9"], aad="data_key_checks:data-9")


# ---- as an operator runs them ----------------------------------------------------------------


@pytest.fixture
async def rotated(settings: Settings, customers: Any, db: Any) -> dict[str, Any]:
    """The customers rotated to data-2 by `rotate-keys` (which recorded both kids' checks)."""
    result = rotate_keys(settings, NEW, settings.data_keys[0])
    assert result.returncode == 0, result.stdout + result.stderr
    assert {kid for _, _, kid in await key_ids(db)} == {NEW.kid}
    return customers


@pytest.mark.parametrize("command", ["serve", "worker", "rotate-keys"])
@pytest.mark.parametrize("checks", ["recorded", "not yet recorded"])
async def test_a_wrong_key_under_the_current_kid_stops_the_start_and_writes_nothing(
    settings, db, rotated, command, checks
):
    old = settings.data_keys[0]
    if checks == "not yet recorded":  # as on the first start after upgrading
        await db.execute("delete from data_key_checks")
    before = (await stored_checks(db), await stored_values(db))
    # After rotating to data-2, the old key's bytes pasted under data-2.
    env = service_env(
        settings.database_url,
        WORKBENCH_DATA_KEYS=data_keys(impostor(NEW.kid, old), old),
        WORKBENCH_REDIS_PREFIX=settings.redis_prefix,
    )
    args = {"serve": ["serve", "--port", str(free_port())], "worker": ["worker"]}
    result = run_cli(*args.get(command, [command]), env=env, timeout=60)

    line = assert_one_line(result, "workbench: WORKBENCH_DATA_KEYS: wrong key for kid 'data-2'")
    assert "'data-1'" not in line
    for key in (old, NEW):
        assert base64.b64encode(key.key).decode() not in result.stdout + result.stderr
    assert "re-encrypted" not in result.stdout
    assert (await stored_checks(db), await stored_values(db)) == before

    # The right keys start as before.
    if command == "rotate-keys":
        again = rotate_keys(settings, NEW, old)
        assert again.returncode == 0, again.stdout + again.stderr
        assert set(await stored_checks(db)) == {NEW.kid, old.kid}


async def test_rotate_keys_reports_a_value_under_the_current_kid_its_key_does_not_open(
    settings, db, rotated
):
    """What a start with the wrong key left behind before the checks: a value stored under the
    current kid with another key. It is reported, never taken for rotated."""
    old = settings.data_keys[0]
    written = FieldCipher((impostor(NEW.kid, old),)).encrypt(
        "13900000000", aad="customer.phone:KC-2"
    )
    await db.execute("update customers set phone_enc = $2 where id = $1", rotated["KC-2"], written)

    for _ in range(2):
        result = rotate_keys(settings, NEW, old)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.splitlines()[1:] == [
            "cannot decrypt 1 value(s) of customers: left as they are (the log names each)",
            "keep every older key until those are resolved, then run rotate-keys again",
        ]
        assert "can be removed" not in result.stdout
        assert f'"row":"{rotated["KC-2"]}"' in result.stderr
        assert '"column":"customers.phone_enc"' in result.stderr
        assert "13900000000" not in result.stderr


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Any]:
    created = await create_pool(settings.database_url, max_size=2)
    try:
        yield created
    finally:
        await created.close()


async def test_the_verdict_counts_what_is_left_not_how_the_walk_ended(
    settings, db, customers, pool, monkeypatch
):
    """A walk that rewrote nothing (LIMIT 0 did that) must not call the old keys removable
    while values are still under them."""
    cipher = FieldCipher((NEW, settings.data_keys[0]))

    async def rewrites_nothing(*args: Any, **kwargs: Any) -> int:
        return 0

    monkeypatch.setattr(queries, "store_reencrypted", rewrites_nothing)
    report = await rotate(pool, cipher=cipher, batch_size=2)

    assert report.kinds["customers"].rewritten == 0
    assert report.kinds["customers"].left == 9  # 3 customers, 3 values each
    assert not report.done
    with pytest.raises(ValueError, match="at least 1"):
        await rotate(pool, cipher=cipher, batch_size=0)

    monkeypatch.undo()
    first = await rotate(pool, cipher=cipher, batch_size=2)
    assert (first.kinds["customers"].rewritten, first.kinds["customers"].left) == (3, 0)
    assert not first.done  # a run that rewrote something: run it again to be sure
    assert (await rotate(pool, cipher=cipher, batch_size=2)).done

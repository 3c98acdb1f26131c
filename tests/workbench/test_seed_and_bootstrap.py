"""The demo bank seed and the bootstrap admin: idempotent, non-destructive, compatible."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from tests.helpers import bearer, device, login
from workbench.db import create_pool
from workbench.identity import staff
from workbench.ids import uuid5_for
from workbench.security.passwords import Passwords
from workbench.seed import seed_demo_bank

BOOTSTRAP = ("ops", "ops-password-1")


def passwords(settings) -> Passwords:
    return Passwords(
        memory_kib=settings.password_hash_memory_kib, iterations=settings.password_hash_iterations
    )


async def seed(db, settings) -> dict[str, int]:
    async with db.transaction():
        return await seed_demo_bank(db, passwords=passwords(settings))


async def counts(db) -> tuple[int, int]:
    return (
        await db.fetchval("select count(*) from org_units"),
        await db.fetchval("select count(*) from users"),
    )


async def test_seed_creates_the_demo_bank_once(settings, db, client):
    assert await seed(db, settings) == {"org_units": 7, "users": 13}
    assert await counts(db) == (7, 13)

    assert await seed(db, settings) == {"org_units": 0, "users": 0}
    assert await counts(db) == (7, 13)

    # The tree: one head office, two branches under it, two teams under each branch.
    east = uuid5_for("org:branch-east")
    assert await db.fetchval("select count(*) from org_units where parent_id is null") == 1
    assert await db.fetchval("select count(*) from org_units where parent_id = $1", east) == 2
    roles = dict(await db.fetch("select role, count(*) from users group by role"))
    assert roles == {"admin": 1, "marketing": 1, "compliance": 1, "branch_head": 2, "rm": 8}
    bh_east = await db.fetchrow("select role, org_unit_id from users where login = 'bh.east'")
    assert (bh_east["role"], bh_east["org_unit_id"]) == ("branch_head", east)

    tokens = await login(client, "rm01")
    assert tokens["user"]["role"] == "rm"


async def test_reseeding_keeps_changes_made_to_demo_users(settings, db, client):
    await seed(db, settings)
    admin = await login(client, "admin", device_no="admin")
    rm01 = await db.fetchrow("select id, org_unit_id from users where login = 'rm01'")
    changed = await client.post(
        "/api/v1/admin/users",
        headers=bearer(admin),
        json={
            "id": str(rm01["id"]),
            "login": "rm01",
            "name": "张伟 (renamed)",
            "role": "rm",
            "org_unit_id": str(rm01["org_unit_id"]),
            "password": "a-new-password-1",
        },
    )
    assert changed.status_code == 200, changed.text

    assert await seed(db, settings) == {"org_units": 0, "users": 0}

    assert await db.fetchval("select name from users where login = 'rm01'") == "张伟 (renamed)"
    # The new password still works; the demo password was not put back.
    await login(client, "rm01", password="a-new-password-1")
    refused = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm01", "password": "workbench-demo", "device": device(2)},
    )
    assert refused.status_code == 401


async def test_bootstrap_admin_on_an_empty_database(make_client, db):
    assert await counts(db) == (0, 0)
    client = await make_client(bootstrap_admin=BOOTSTRAP)

    assert await counts(db) == (1, 1)
    user = await db.fetchrow("select login, role, org_unit_id from users")
    root = await db.fetchval("select id from org_units where parent_id is null")
    assert (user["login"], user["role"], user["org_unit_id"]) == ("ops", "admin", root)

    tokens = await login(client, "ops", password="ops-password-1")
    assert tokens["user"]["role"] == "admin"
    created = await client.post(
        "/api/v1/admin/org-units",
        headers=bearer(tokens),
        json={"name": "North Branch", "parent_id": str(root)},
    )
    assert created.status_code == 201, created.text
    assert created.json()["parent_id"] == str(root)


async def test_bootstrap_admin_is_created_only_once(make_client, db):
    first = await make_client(bootstrap_admin=BOOTSTRAP)
    await make_client(bootstrap_admin=BOOTSTRAP)
    assert await counts(db) == (1, 1)

    # Even after the admin changed their password, a restart does not recreate or reset it.
    user_id = await db.fetchval("select id from users where login = 'ops'")
    root = await db.fetchval("select id from org_units where parent_id is null")
    tokens = await login(first, "ops", password="ops-password-1")
    changed = await first.post(
        "/api/v1/admin/users",
        headers=bearer(tokens),
        json={
            "id": str(user_id),
            "login": "ops",
            "name": "Operations",
            "role": "admin",
            "org_unit_id": str(root),
            "password": "changed-password-2",
        },
    )
    assert changed.status_code == 200, changed.text
    restarted = await make_client(bootstrap_admin=BOOTSTRAP)
    assert await counts(db) == (1, 1)
    await login(restarted, "ops", password="changed-password-2", device_no=2)


async def test_processes_bootstrapping_at_once_all_start_with_one_admin(settings, db):
    # `workbench serve --workers 3` with WORKBENCH_BOOTSTRAP_ADMIN on an empty database: every
    # process runs the start-up bootstrap (pool.acquire + transaction + ensure_admin) at once.
    # In one event loop the app start-ups serialize, so run that step itself concurrently.
    auth = SimpleNamespace(passwords=passwords(settings))

    async def bootstrap() -> bool:
        pool = await create_pool(settings.database_url, max_size=1)
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await staff.ensure_admin(
                    conn, auth=auth, login=BOOTSTRAP[0], password=BOOTSTRAP[1]
                )
        finally:
            await pool.close()

    results = await asyncio.gather(*(bootstrap() for _ in range(3)), return_exceptions=True)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], f"a process would fail to start: {errors!r}"
    assert sorted(results) == [False, False, True]
    assert await counts(db) == (1, 1)


async def test_demo_bank_hangs_under_the_bootstrapped_head_office(make_client, settings, db):
    client = await make_client(bootstrap_admin=BOOTSTRAP)
    root = await db.fetchval("select id from org_units where parent_id is null")

    added = await seed(db, settings)

    assert added == {"org_units": 6, "users": 13}
    assert await counts(db) == (7, 14)
    assert await db.fetchval("select count(*) from org_units where parent_id is null") == 1
    for branch in ("branch-east", "branch-west"):
        parent = await db.fetchval(
            "select parent_id from org_units where id = $1", uuid5_for(f"org:{branch}")
        )
        assert parent == root
    demo_admin = await db.fetchval("select org_unit_id from users where login = 'admin'")
    assert demo_admin == root
    await login(client, "rm05")
    await login(client, "ops", password="ops-password-1", device_no=2)
    assert await seed(db, settings) == {"org_units": 0, "users": 0}

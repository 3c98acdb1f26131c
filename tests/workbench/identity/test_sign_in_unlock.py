"""Lifting the lock that wrong passwords put on a login: anyone who knows an RM's login can lock
them out for the window by guessing, and the help desk must be able to let them in again.

An admin (any user) or the branch head of the user's subtree (others: 404) unlocks the login
(`POST /api/v1/admin/users/{id}/unlock-sign-in`, audited with their address); a new password set
by an admin unlocks it too. The counts per client address stay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import bearer, device, login
from tests.workbench.identity.test_admin_audit import ADMIN_IP, PROXY, audit_of, behind_the_proxy
from tests.workbench.identity.test_org_scope import assert_problem, user_id
from workbench.app import create_redis_client
from workbench.identity.rate_limit import LoginLimiter
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

LIMIT = 3  # failed sign-ins per login per window, in these tests
LOGIN = "/api/v1/auth/login"


def unlock_path(login_name: str) -> str:
    return f"/api/v1/admin/users/{user_id(login_name)}/unlock-sign-in"


@pytest.fixture
async def api(make_client: Any) -> AsyncTestClient[Litestar]:
    """The API with a low limit per login, reached through the bank's proxy (the admin's
    address is recorded)."""
    client = await make_client(login_limit_per_login=LIMIT, trusted_proxies=(f"{PROXY}/32",))
    behind_the_proxy(client)
    return client


@pytest.fixture
async def limiter(settings: Any) -> AsyncIterator[LoginLimiter]:
    redis = create_redis_client(settings)
    try:
        yield LoginLimiter(
            redis, prefix=settings.redis_prefix, per_login=LIMIT,
            per_ip=settings.login_limit_per_ip, window_seconds=settings.login_window_seconds,
        )  # fmt: skip
    finally:
        await redis.aclose()


async def sign_in(client: Any, who: str, password: str = DEMO_PASSWORD) -> Any:
    return await client.post(
        LOGIN, json={"login": who, "password": password, "device": device(f"{who}-phone")}
    )


async def lock_out(client: Any, who: str) -> None:
    """Wrong passwords up to the limit: the login is locked, even against the right one."""
    for _ in range(LIMIT):
        assert (await sign_in(client, who, "guessed-wrong")).status_code == 401
    assert_problem(await sign_in(client, who), 429, "auth.rate_limited")


async def as_(client: Any, who: str) -> dict[str, str]:
    return bearer(await login(client, who, device_no=f"{who}-desk"))


async def test_an_admin_unlocks_a_locked_login_and_the_right_password_signs_in(api, db):
    await lock_out(api, "rm01")
    admin = await as_(api, "admin")

    unlocked = await api.post(unlock_path("rm01"), headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"was_locked": True}
    assert (await sign_in(api, "rm01")).status_code == 200

    rows = await audit_of(db, f"user:{user_id('rm01')}")
    assert [(r["action"], r["actor_id"], r["ip"], r["detail"]) for r in rows] == [
        ("user.sign_in_unlocked", user_id("admin"), ADMIN_IP, {"was_locked": True})
    ]

    # Nothing locked: nothing to lift, and it says so (still audited: the help desk acted).
    again = await api.post(unlock_path("rm01"), headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {"was_locked": False}
    rows = await audit_of(db, f"user:{user_id('rm01')}")
    assert [r["detail"] for r in rows] == [{"was_locked": True}, {"was_locked": False}]


async def test_unlocking_forgets_the_failures_so_far_and_counts_anew(api):
    for _ in range(LIMIT - 1):
        assert (await sign_in(api, "rm02", "guessed-wrong")).status_code == 401
    admin = await as_(api, "admin")
    assert (await api.post(unlock_path("rm02"), headers=admin)).json() == {"was_locked": False}
    # A whole limit of wrong passwords again before the login locks.
    await lock_out(api, "rm02")


async def test_the_branch_head_of_the_users_subtree_may_unlock_it(api, db):
    await lock_out(api, "rm03")  # East Branch
    east = await as_(api, "bh.east")
    unlocked = await api.post(unlock_path("rm03"), headers=east)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"was_locked": True}
    assert (await sign_in(api, "rm03")).status_code == 200
    [row] = await audit_of(db, f"user:{user_id('rm03')}")
    assert (row["action"], row["actor_id"]) == ("user.sign_in_unlocked", user_id("bh.east"))


async def test_a_branch_head_of_another_branch_gets_404_and_the_lock_stays(api, db):
    await lock_out(api, "rm01")  # East Branch
    west = await as_(api, "bh.west")
    assert_problem(await api.post(unlock_path("rm01"), headers=west), 404, "user.not_found")
    assert_problem(await sign_in(api, "rm01"), 429, "auth.rate_limited")
    assert await audit_of(db, f"user:{user_id('rm01')}") == []
    # Nor an admin: they are above the branch. And an unknown user is the same 404.
    assert_problem(await api.post(unlock_path("admin"), headers=west), 404, "user.not_found")
    unknown = f"/api/v1/admin/users/{uuid.uuid4()}/unlock-sign-in"
    assert_problem(await api.post(unknown, headers=west), 404, "user.not_found")


@pytest.mark.parametrize("who", ["rm02", "marketing", "compliance"])
async def test_others_are_forbidden_and_the_lock_stays(api, db, who):
    await lock_out(api, "rm01")
    caller = await as_(api, who)
    assert_problem(await api.post(unlock_path("rm01"), headers=caller), 403, "auth.forbidden")
    assert_problem(await sign_in(api, "rm01"), 429, "auth.rate_limited")
    assert await audit_of(db, f"user:{user_id('rm01')}") == []


async def test_a_new_password_set_by_an_admin_unlocks_the_login(api, db):
    await lock_out(api, "rm04")
    admin = await as_(api, "admin")
    response = await api.post(
        f"/api/v1/admin/users/{user_id('rm04')}/password",
        headers=admin,
        json={"password": "a-new-one-2024"},
    )
    assert response.status_code == 200, response.text
    assert (await sign_in(api, "rm04", "a-new-one-2024")).status_code == 200
    rows = await audit_of(db, f"user:{user_id('rm04')}")
    assert [(r["action"], r["ip"], r["detail"]) for r in rows] == [
        ("user_password_set", ADMIN_IP, {"sessions_ended": 0}),
        ("user.sign_in_unlocked", ADMIN_IP, {"was_locked": True, "by": "password_set"}),
    ]


async def test_the_limit_per_address_is_left_as_it_was(make_client):
    # One address's failures across logins: unlocking one login does not reset the address.
    client = await make_client(login_limit_per_login=LIMIT, login_limit_per_ip=LIMIT + 2)
    admin = await as_(client, "admin")
    await lock_out(client, "rm05")  # the address has LIMIT + 1 attempts counted now
    assert (await client.post(unlock_path("rm05"), headers=admin)).status_code == 200
    assert (await sign_in(client, "rm06", "guessed-wrong")).status_code == 401  # LIMIT + 2
    assert_problem(await sign_in(client, "rm05"), 429, "auth.rate_limited")


async def test_locked_for_tells_the_seconds_left_by_the_logins_key(limiter):
    assert await limiter.locked_for("rm07") == 0
    for _ in range(LIMIT - 1):
        await limiter.count_attempt(login="rm07", client_ip="198.51.100.1")
    assert await limiter.locked_for("rm07") == 0  # one more try left
    await limiter.count_attempt(login=" RM07 ", client_ip="198.51.100.1")  # the same login
    seconds = await limiter.locked_for("rm07")
    assert 0 < seconds <= 900
    assert await limiter.locked_for(" Rm07") > 0  # trimmed, any case: the login's own key
    assert await limiter.locked_logins(["rm07", "rm08"]) == {"rm07"}

    assert await limiter.unlock("RM07 ") is True
    assert await limiter.locked_for("rm07") == 0
    assert await limiter.locked_logins(["rm07", "rm08"]) == set()
    assert await limiter.unlock("rm07") is False

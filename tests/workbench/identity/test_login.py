"""Signing in: credentials, device binding, rate limits."""

from __future__ import annotations

import pytest

from tests.helpers import bearer, device, login

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_login_returns_tokens_and_user(client):
    tokens = await login(client, "rm01")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("wbr_")
    assert tokens["user"]["role"] == "rm"
    me = await client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["login"] == "rm01"
    assert me.json()["device_id"] == "device-00000001"


async def test_login_is_case_insensitive_on_login(client):
    tokens = await login(client, "RM01")
    assert tokens["user"]["name"] == "张伟"


async def test_wrong_password_is_401_problem(client, db):
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm01", "password": "wrong-password", "device": device()},
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "auth.invalid_credentials"
    assert body["status"] == 401
    # An unknown login answers exactly the same, so logins cannot be enumerated.
    unknown = await client.post(
        "/api/v1/auth/login",
        json={"login": "nobody", "password": "wrong-password", "device": device()},
    )
    assert unknown.status_code == 401
    assert unknown.json()["code"] == body["code"]
    assert unknown.json().get("detail") == body.get("detail")
    # Failed attempts are audited, and nothing else was written.
    assert await db.fetchval("select count(*) from audit_events where action = 'login_failed'") == 2
    assert await db.fetchval("select count(*) from sessions") == 0


@pytest.mark.parametrize("name", ["李四", "rm 04", "rm04\n04", "..", "x" * 200])
async def test_a_login_no_user_can_have_is_a_wrong_login_not_a_malformed_one(client, db, name):
    # It answered 422 with what a login may hold: the form told whoever tried which logins are
    # well-formed, and an RM typing their name (or a space after it) got a developer's message.
    wrong = await client.post(
        "/api/v1/auth/login",
        json={"login": name, "password": "workbench-demo", "device": device()},
    )
    assert wrong.status_code == 401, wrong.text
    unknown = await client.post(
        "/api/v1/auth/login",
        json={"login": "nobody", "password": "workbench-demo", "device": device()},
    )
    assert (wrong.json()["code"], wrong.json().get("detail")) == (
        "auth.invalid_credentials",
        unknown.json().get("detail"),
    )
    assert await db.fetchval("select count(*) from audit_events where action = 'login_failed'") == 2
    assert await db.fetchval("select count(*) from sessions") == 0


async def test_a_login_typed_with_spaces_around_it_signs_in_as_in_the_console(client):
    # Phone keyboards put a space after a word they complete: the app signs in as the console
    # does, the login trimmed.
    body = {"login": " rm04 ", "password": "workbench-demo", "device": device()}
    signed_in = await client.post("/api/v1/auth/login", json=body)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["access_token"]


async def test_logins_no_user_can_have_count_as_failed_attempts(make_client):
    client = await make_client(login_limit_per_login=3, login_limit_per_ip=100)
    for name in ("rm04 ", " RM04", "rm04  "):  # the login's own count, as it is trimmed
        bad = {"login": name, "password": "wrong-pass-1", "device": device()}
        assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401
    good = {"login": "rm04", "password": "workbench-demo", "device": device()}
    limited = await client.post("/api/v1/auth/login", json=good)
    assert limited.status_code == 429, limited.text


async def test_logins_no_user_can_have_count_against_the_address(make_client):
    client = await make_client(login_limit_per_login=100, login_limit_per_ip=3)
    for name in ("李四", "王 五", "赵六"):
        bad = {"login": name, "password": "whatever-1", "device": device()}
        assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401
    good = {"login": "rm01", "password": "workbench-demo", "device": device()}
    limited = await client.post("/api/v1/auth/login", json=good)
    assert limited.status_code == 429, limited.text


async def test_login_rate_limited_per_login(make_client):
    client = await make_client(login_limit_per_login=3)
    bad = {"login": "rm02", "password": "nope-nope", "device": device()}
    for _ in range(3):
        assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401
    limited = await client.post("/api/v1/auth/login", json=bad)
    assert limited.status_code == 429
    assert limited.json()["code"] == "auth.rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 900
    # Even the right password is refused while limited ...
    good = {**bad, "password": "workbench-demo"}
    assert (await client.post("/api/v1/auth/login", json=good)).status_code == 429
    # ... but other logins are not affected.
    await login(client, "rm03")


async def test_login_rate_limit_is_shared_by_instances_and_per_ip(make_client):
    first = await make_client(login_limit_per_ip=4, login_limit_per_login=100)
    second = await make_client(login_limit_per_ip=4, login_limit_per_login=100)
    for i, instance in enumerate([first, second, first, second]):
        response = await instance.post(
            "/api/v1/auth/login",
            json={"login": f"user{i}", "password": "whatever-1", "device": device()},
        )
        assert response.status_code == 401
    response = await second.post(
        "/api/v1/auth/login",
        json={"login": "rm01", "password": "workbench-demo", "device": device()},
    )
    assert response.status_code == 429


async def test_staff_signing_in_behind_one_address_never_lock_it(make_client):
    # A branch behind one NAT: far more successful sign-ins than the address's limit.
    client = await make_client(login_limit_per_ip=4, login_limit_per_login=100)
    for n in range(12):
        await login(client, f"rm0{1 + n % 8}", device_no=100 + n)
    # Failures still count against the address: four wrong passwords, then even a right one
    # is refused until the window ends.
    for n in range(4):
        bad = {"login": f"rm0{1 + n}", "password": "nope-nope", "device": device()}
        assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401
    good = {"login": "rm05", "password": "workbench-demo", "device": device()}
    limited = await client.post("/api/v1/auth/login", json=good)
    assert limited.status_code == 429, limited.text
    assert limited.json()["code"] == "auth.rate_limited"


async def test_successful_login_resets_the_login_counter(make_client):
    client = await make_client(login_limit_per_login=3)
    bad = {"login": "rm04", "password": "nope-nope", "device": device()}
    for _ in range(2):
        await client.post("/api/v1/auth/login", json=bad)
    await login(client, "rm04")
    for _ in range(2):
        assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401


async def test_token_is_refused_with_another_devices_id(client):
    tokens = await login(client, "rm05", device_no=7)
    same = await client.get(
        "/api/v1/me", headers={**bearer(tokens), "X-Device-Id": "device-00000007"}
    )
    assert same.status_code == 200
    other = await client.get(
        "/api/v1/me", headers={**bearer(tokens), "X-Device-Id": "device-00000008"}
    )
    assert other.status_code == 401
    assert other.json()["code"] == "auth.invalid_token"

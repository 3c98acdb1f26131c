"""The push device registry, through the API.

Covers: registering a signed-in device's push token (stored encrypted, never echoed), token
rotation updating the same registration, which providers may reach which platform, refusing
devices the caller is not signed in on, refusing malformed bodies, unregistering, and every way a
registration stops on its own: logout, device revocation by an admin or branch head, reuse of a
rotated refresh token, another user signing in on the device, and the token moving to another
device. Re-registering after any of those makes the device reachable again.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from tests.helpers import bearer, device, leave_behind
from workbench.ids import uuid5_for
from workbench.security.vault import Vault
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

DEVICES = "/api/v1/devices"
LOGIN = "/api/v1/auth/login"


# ---- helpers ---------------------------------------------------------------------------------


def device_id(n: int | str) -> str:
    return device(n)["device_id"]


def user_id(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def new_token(provider: str = "apns") -> str:
    """A fresh provider token, shaped like the real ones (printable, no spaces)."""
    return f"{provider}-{secrets.token_hex(32)}"


async def sign_in(client: Any, who: str, device_no: int | str, platform: str = "ios") -> Any:
    """Sign in as a demo user on a device with that platform; gives the token answer."""
    response = await client.post(
        LOGIN,
        json={
            "login": who,
            "password": DEMO_PASSWORD,
            "device": device(device_no, platform),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


async def register(
    client: Any,
    tokens: dict[str, Any],
    device_no: int | str,
    *,
    platform: str = "ios",
    provider: str = "apns",
    push_token: str | None = None,
    app_version: str | None = None,
) -> Any:
    body: dict[str, Any] = {
        "device_id": device_id(device_no),
        "platform": platform,
        "provider": provider,
        "push_token": push_token or new_token(provider),
    }
    if app_version is not None:
        body["app_version"] = app_version
    return await client.post(DEVICES, json=body, headers=bearer(tokens))


async def registered(client: Any, tokens: dict[str, Any], device_no: int | str, **kw: Any) -> str:
    """Register and assert it worked; gives the push token used."""
    token = kw.pop("push_token", None) or new_token(kw.get("provider", "apns"))
    response = await register(client, tokens, device_no, push_token=token, **kw)
    assert response.status_code == 200, response.text
    return token


async def registration(db: Any, device_no: int | str) -> Any:
    return await db.fetchrow(
        "select * from push_registrations where device_id = $1", device_id(device_no)
    )


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


def error_paths(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body.get("errors", [])]


@pytest.fixture
def vault(settings: Any) -> Vault:
    """The app's own field cipher, to check what the stored token decrypts to."""
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


def stored_token(vault: Vault, row: Any) -> str:
    return vault.cipher.decrypt(bytes(row["token_cipher"]), aad=f"push_token:{row['device_id']}")


# ---- registering -----------------------------------------------------------------------------


async def test_an_rm_registers_their_ios_device_and_the_token_is_stored_only_encrypted(
    client, db, vault
):
    rm = await sign_in(client, "rm01", 1, "ios")
    token = new_token("apns")

    response = await register(client, rm, 1, push_token=token, app_version="2.4.0")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["device_id"] == device_id(1)
    assert answer["platform"] == "ios"
    assert answer["provider"] == "apns"
    assert answer["active"] is True
    assert answer["registered_at"]
    # The token is never echoed back.
    assert token not in response.text
    assert "push_token" not in answer

    row = await registration(db, 1)
    assert row["user_id"] == user_id("rm01")
    assert row["provider"] == "apns"
    assert row["active"] is True
    assert row["deactivated_at"] is None
    assert row["deactivated_reason"] is None
    assert row["app_version"] == "2.4.0"
    # The raw token is nowhere in the row: not in the ciphertext, not in any column ...
    assert token.encode() not in bytes(row["token_cipher"])
    assert token.encode() not in bytes(row["token_index"])
    for value in dict(row).values():
        assert value != token
        assert token not in str(value)
    whole_row = await db.fetchval(
        "select row_to_json(r)::text from push_registrations r where device_id = $1", device_id(1)
    )
    assert token not in whole_row
    # ... yet it is really there, encrypted and bound to this device.
    assert stored_token(vault, row) == token


async def test_a_rotated_token_updates_the_same_registration_and_reactivates_it(client, db, vault):
    rm = await sign_in(client, "rm01", 1, "ios")
    first = await registered(client, rm, 1)
    await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(rm))
    assert (await registration(db, 1))["active"] is False

    second = new_token("apns")
    response = await register(client, rm, 1, push_token=second)

    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert second not in response.text
    rows = await db.fetch("select * from push_registrations")
    assert len(rows) == 1
    assert rows[0]["device_id"] == device_id(1)
    assert rows[0]["active"] is True
    assert rows[0]["deactivated_reason"] is None
    assert stored_token(vault, rows[0]) == second
    assert first not in str(dict(rows[0]))


async def test_registering_the_same_token_again_keeps_one_live_registration(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    token = await registered(client, rm, 1)
    again = await register(client, rm, 1, push_token=token)
    assert again.status_code == 200, again.text
    assert again.json()["active"] is True
    rows = await db.fetch("select active from push_registrations")
    assert [r["active"] for r in rows] == [True]


@pytest.mark.parametrize(
    ("platform", "provider"),
    [("ios", "apns"), ("android", "fcm"), ("android", "hms"), ("harmony", "hms")],
)
async def test_each_platform_registers_with_a_provider_that_reaches_it(
    client, db, vault, platform, provider
):
    rm = await sign_in(client, "rm02", 2, platform)
    token = new_token(provider)
    response = await register(client, rm, 2, platform=platform, provider=provider, push_token=token)
    assert response.status_code == 200, response.text
    assert response.json()["platform"] == platform
    assert response.json()["provider"] == provider
    row = await registration(db, 2)
    assert row["provider"] == provider
    assert row["active"] is True
    assert stored_token(vault, row) == token


@pytest.mark.parametrize(
    ("platform", "provider"),
    [
        ("ios", "fcm"),
        ("ios", "hms"),
        ("android", "apns"),
        ("harmony", "fcm"),
        ("harmony", "apns"),
        ("web", "apns"),
        ("web", "fcm"),
        ("web", "hms"),
    ],
)
async def test_a_provider_that_cannot_reach_the_platform_is_refused_on_the_provider_field(
    client, db, platform, provider
):
    rm = await sign_in(client, "rm03", 3, platform)
    token = new_token(provider)
    response = await register(client, rm, 3, platform=platform, provider=provider, push_token=token)
    body = assert_problem(response, 422, "push.invalid_registration")
    assert error_paths(body) == ["$.provider"]
    assert token not in response.text
    assert await db.fetchval("select count(*) from push_registrations") == 0


@pytest.mark.parametrize(
    ("signed_in_as", "claimed", "provider"),
    [("android", "ios", "apns"), ("ios", "android", "fcm"), ("android", "harmony", "hms")],
)
async def test_a_platform_other_than_the_one_the_device_signed_in_with_is_refused(
    client, db, signed_in_as, claimed, provider
):
    rm = await sign_in(client, "rm04", 4, signed_in_as)
    response = await register(client, rm, 4, platform=claimed, provider=provider)
    body = assert_problem(response, 422, "push.invalid_registration")
    assert error_paths(body) == ["$.platform"]
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_a_device_the_caller_never_signed_in_on_is_not_found_and_nothing_is_stored(
    client, db
):
    rm = await sign_in(client, "rm01", 1, "ios")
    response = await register(client, rm, 99)
    assert_problem(response, 404, "device.not_found")
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_another_users_device_is_not_found_and_nothing_is_stored(client, db):
    await sign_in(client, "rm02", 2, "ios")
    rm = await sign_in(client, "rm01", 1, "ios")
    response = await register(client, rm, 2)
    assert_problem(response, 404, "device.not_found")
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_a_device_taken_over_by_another_user_is_no_longer_the_first_users(client, db):
    first = await sign_in(client, "rm01", 8, "ios")
    await leave_behind(db, 8)
    await sign_in(client, "rm02", 8, "ios")
    # rm01's token for that device is dead anyway; on another device of theirs they still
    # cannot register the phone that now belongs to rm02.
    elsewhere = await sign_in(client, "rm01", 1, "ios")
    assert_problem(await register(client, elsewhere, 8), 404, "device.not_found")
    assert (await register(client, first, 8)).status_code == 401
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_a_signed_out_device_cannot_be_registered_again_from_another(client, db):
    """rm06 signs in on phones A and B and signs out on A: B registering A's id made A
    reachable again, rm06's pushes on a signed-out phone. A device registers only itself."""
    phone_a = await sign_in(client, "rm06", 61, "ios")
    await registered(client, phone_a, 61)
    phone_b = await sign_in(client, "rm06", 62, "ios")
    assert (await client.post("/api/v1/auth/logout", headers=bearer(phone_a))).status_code == 204
    assert (await registration(db, 61))["active"] is False

    token = new_token()
    response = await register(client, phone_b, 61, push_token=token)
    body = assert_problem(response, 422, "push.invalid_registration")
    assert error_paths(body) == ["$.device_id"]
    assert token not in response.text
    row = await registration(db, 61)
    assert (row["active"], row["deactivated_reason"]) == (False, "logout")
    # B registers itself as ever.
    await registered(client, phone_b, 62)
    assert await db.fetchval("select count(*) from push_registrations where active") == 1


async def test_another_signed_in_device_of_the_same_user_is_not_registered_from_this_one(
    client, db
):
    phone = await sign_in(client, "rm06", 63, "ios")
    tablet = await sign_in(client, "rm06", 64, "android")
    response = await register(client, tablet, 63)  # the phone's id, from the tablet
    body = assert_problem(response, 422, "push.invalid_registration")
    assert error_paths(body) == ["$.device_id"]
    # With the X-Device-Id of the phone, the tablet's token is refused before (401).
    as_phone = {**bearer(tablet), "X-Device-Id": device_id(63)}
    sent = {"device_id": device_id(63), "platform": "ios", "provider": "apns",
            "push_token": new_token()}  # fmt: skip
    assert (await client.post(DEVICES, json=sent, headers=as_phone)).status_code == 401
    assert await db.fetchval("select count(*) from push_registrations") == 0
    await registered(client, phone, 63)


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: _without(b, "push_token"), "push_token"),
        (lambda b: {**b, "push_token": "apns token with spaces"}, "push_token"),
        (lambda b: {**b, "push_token": "short"}, "push_token"),
        (lambda b: {**b, "provider": "jpush"}, "provider"),
        (lambda b: {**b, "platform": "symbian"}, "platform"),
        (lambda b: _without(b, "device_id"), "device_id"),
    ],
    ids=[
        "missing token",
        "token with spaces",
        "too short token",
        "unknown provider",
        "unknown platform",
        "missing device",
    ],
)
async def test_a_malformed_registration_is_a_422_problem_and_nothing_is_stored(
    client, db, change, field
):
    rm = await sign_in(client, "rm01", 1, "ios")
    good = {
        "device_id": device_id(1),
        "platform": "ios",
        "provider": "apns",
        "push_token": new_token("apns"),
    }
    response = await client.post(DEVICES, json=change(good), headers=bearer(rm))
    body = assert_problem(response, 422, "request.validation_failed")
    # Each error names the field: by its path, or (for a missing field) in its message.
    assert any(e["path"] == f"$.{field}" or f"`{field}`" in e["message"] for e in body["errors"]), (
        body
    )
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_registering_without_signing_in_is_refused(client, db):
    response = await client.post(
        DEVICES,
        json={
            "device_id": device_id(1),
            "platform": "ios",
            "provider": "apns",
            "push_token": new_token(),
        },
    )
    assert response.status_code == 401, response.text
    assert await db.fetchval("select count(*) from push_registrations") == 0


# ---- unregistering ---------------------------------------------------------------------------


async def test_unregistering_stops_push_and_doing_it_again_is_harmless(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    await registered(client, rm, 1)

    first = await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(rm))
    assert first.status_code == 204, first.text
    row = await registration(db, 1)
    assert row["active"] is False
    assert row["deactivated_reason"] == "unregistered"
    assert row["deactivated_at"] is not None

    second = await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(rm))
    assert second.status_code == 204, second.text
    again = await registration(db, 1)
    assert again["active"] is False
    assert again["deactivated_reason"] == "unregistered"
    assert again["deactivated_at"] == row["deactivated_at"]


async def test_unregistering_another_users_device_is_not_found_and_leaves_it_live(client, db):
    owner = await sign_in(client, "rm02", 2, "android")
    await registered(client, owner, 2, platform="android", provider="fcm")
    other = await sign_in(client, "rm01", 1, "ios")

    response = await client.delete(f"{DEVICES}/{device_id(2)}", headers=bearer(other))

    assert_problem(response, 404, "device.not_found")
    row = await registration(db, 2)
    assert row["active"] is True
    assert row["user_id"] == user_id("rm02")


async def test_unregistering_a_device_nobody_registered_is_not_found(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    response = await client.delete(f"{DEVICES}/device-unknown-1", headers=bearer(rm))
    assert_problem(response, 404, "device.not_found")
    assert await db.fetchval("select count(*) from push_registrations") == 0


# ---- registrations that stop on their own ----------------------------------------------------


async def test_logout_deactivates_the_devices_registration(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    await registered(client, rm, 1)
    other_device = await sign_in(client, "rm01", 2, "android")
    await registered(client, other_device, 2, platform="android", provider="hms")

    response = await client.post("/api/v1/auth/logout", headers=bearer(rm))

    assert response.status_code == 204, response.text
    row = await registration(db, 1)
    assert row["active"] is False
    assert row["deactivated_reason"] == "logout"
    # The user's other device keeps receiving pushes.
    assert (await registration(db, 2))["active"] is True


@pytest.mark.parametrize("revoker", ["admin", "bh.east"])
async def test_revoking_the_device_deactivates_its_registration(client, db, revoker):
    rm = await sign_in(client, "rm01", 1, "ios")
    await registered(client, rm, 1)
    boss = await sign_in(client, revoker, 90, "web")

    response = await client.post(
        f"/api/v1/admin/devices/{device_id(1)}/revoke", headers=bearer(boss)
    )

    assert response.status_code == 200, response.text
    row = await registration(db, 1)
    assert row["active"] is False
    assert row["deactivated_reason"] == "device_revoked"
    # The revoked device cannot register itself back in either.
    assert (await register(client, rm, 1)).status_code == 403
    assert (await registration(db, 1))["active"] is False


async def test_a_branch_head_cannot_stop_push_to_another_branchs_device(client, db):
    west = await sign_in(client, "rm05", 5, "ios")
    await registered(client, west, 5)
    head = await sign_in(client, "bh.east", 20, "ios")
    response = await client.post(
        f"/api/v1/admin/devices/{device_id(5)}/revoke", headers=bearer(head)
    )
    assert_problem(response, 404, "device.not_found")
    assert (await registration(db, 5))["active"] is True


async def test_reusing_a_rotated_refresh_token_deactivates_the_registration(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    await registered(client, rm, 1)
    refresh = {"refresh_token": rm["refresh_token"], "device_id": device_id(1)}
    rotated = await client.post("/api/v1/auth/refresh", json=refresh)
    assert rotated.status_code == 200
    # the next token used too: the first presented again is a reuse, not a lost answer's retry
    later = {"refresh_token": rotated.json()["refresh_token"], "device_id": device_id(1)}
    assert (await client.post("/api/v1/auth/refresh", json=later)).status_code == 200

    reused = await client.post("/api/v1/auth/refresh", json=refresh)

    assert_problem(reused, 401, "auth.refresh_reused")
    row = await registration(db, 1)
    assert row["active"] is False
    assert row["deactivated_reason"] == "refresh_reuse"


async def test_a_plain_refresh_keeps_the_registration(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    await registered(client, rm, 1)
    refresh = {"refresh_token": rm["refresh_token"], "device_id": device_id(1)}
    assert (await client.post("/api/v1/auth/refresh", json=refresh)).status_code == 200
    assert (await registration(db, 1))["active"] is True


async def test_another_user_signing_in_on_the_device_deactivates_the_previous_users_registration(
    client, db
):
    first = await sign_in(client, "rm01", 1, "android")
    await registered(client, first, 1, platform="android", provider="fcm")
    await leave_behind(db, 1)

    await sign_in(client, "rm02", 1, "android")

    row = await registration(db, 1)
    assert row["active"] is False
    assert row["deactivated_reason"] == "user_changed"
    assert row["user_id"] == user_id("rm01")


async def test_the_same_user_signing_in_again_keeps_their_registration(client, db, vault):
    first = await sign_in(client, "rm01", 1, "ios")
    token = await registered(client, first, 1)

    await sign_in(client, "rm01", 1, "ios")

    row = await registration(db, 1)
    assert row["active"] is True
    assert row["deactivated_reason"] is None
    assert stored_token(vault, row) == token


async def test_the_next_user_registers_the_handed_over_device_as_their_own(client, db, vault):
    first = await sign_in(client, "rm01", 1, "ios")
    await registered(client, first, 1)
    await leave_behind(db, 1)
    second = await sign_in(client, "rm02", 1, "ios")
    token = await registered(client, second, 1)

    rows = await db.fetch("select * from push_registrations")
    assert len(rows) == 1
    assert rows[0]["user_id"] == user_id("rm02")
    assert rows[0]["active"] is True
    assert stored_token(vault, rows[0]) == token
    # The previous user can no longer turn it off.
    elsewhere = await sign_in(client, "rm01", 2, "ios")
    gone = await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(elsewhere))
    assert_problem(gone, 404, "device.not_found")
    assert (await registration(db, 1))["active"] is True


async def test_a_token_that_moves_to_another_device_is_deactivated_on_the_first(client, db):
    old_phone = await sign_in(client, "rm01", 1, "android")
    token = await registered(client, old_phone, 1, platform="android", provider="hms")
    new_phone = await sign_in(client, "rm02", 2, "android")

    moved = await register(
        client, new_phone, 2, platform="android", provider="hms", push_token=token
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["active"] is True
    first = await registration(db, 1)
    assert first["active"] is False
    assert first["deactivated_reason"] == "token_moved"
    second = await registration(db, 2)
    assert second["active"] is True
    assert second["user_id"] == user_id("rm02")


async def test_the_same_token_string_with_another_provider_is_not_a_move(client, db):
    android = await sign_in(client, "rm01", 1, "android")
    token = await registered(client, android, 1, platform="android", provider="fcm")
    other = await sign_in(client, "rm02", 2, "android")

    response = await register(
        client, other, 2, platform="android", provider="hms", push_token=token
    )

    assert response.status_code == 200, response.text
    assert (await registration(db, 1))["active"] is True
    assert (await registration(db, 2))["active"] is True


async def test_registering_again_after_unregistering_makes_the_device_reachable(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    token = await registered(client, rm, 1)
    assert (await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(rm))).status_code == 204

    again = await register(client, rm, 1, push_token=token)

    assert again.status_code == 200, again.text
    assert again.json()["active"] is True
    row = await registration(db, 1)
    assert row["active"] is True
    assert row["deactivated_at"] is None
    assert row["deactivated_reason"] is None
    assert await db.fetchval("select count(*) from push_registrations") == 1


async def test_registering_again_after_logout_and_sign_in_makes_the_device_reachable(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    token = await registered(client, rm, 1)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(rm))).status_code == 204
    assert (await registration(db, 1))["active"] is False

    back = await sign_in(client, "rm01", 1, "ios")
    # Signing in alone does not bring it back: the app registers again.
    assert (await registration(db, 1))["active"] is False
    again = await register(client, back, 1, push_token=token)

    assert again.status_code == 200, again.text
    row = await registration(db, 1)
    assert row["active"] is True
    assert row["deactivated_reason"] is None


async def test_a_token_moved_back_to_its_first_device_is_live_there_again(client, db):
    phone = await sign_in(client, "rm01", 1, "ios")
    token = await registered(client, phone, 1)
    tablet = await sign_in(client, "rm01", 2, "ios")
    await registered(client, tablet, 2, push_token=token)
    assert (await registration(db, 1))["deactivated_reason"] == "token_moved"

    back = await register(client, phone, 1, push_token=token)

    assert back.status_code == 200, back.text
    assert (await registration(db, 1))["active"] is True
    second = await registration(db, 2)
    assert second["active"] is False
    assert second["deactivated_reason"] == "token_moved"


async def test_turning_push_off_on_a_device_never_registered_is_harmless(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    response = await client.delete(f"{DEVICES}/{device_id(1)}", headers=bearer(rm))
    assert response.status_code == 204
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_an_admin_changing_the_user_stops_push_to_all_their_devices(client, db):
    rm = await sign_in(client, "rm01", 1, "ios")
    other = await sign_in(client, "rm01", 2, "android")
    await registered(client, rm, 1)
    await registered(client, other, 2, platform="android", provider="fcm")
    admin = await sign_in(client, "admin", "admin-1", "ios")
    user = await db.fetchrow("select id, login, name, org_unit_id from users where login = 'rm01'")
    response = await client.post(
        "/api/v1/admin/users",
        json={"id": str(user["id"]), "login": user["login"], "name": user["name"],
              "role": "rm", "org_unit_id": str(user["org_unit_id"]),
              "password": "a-new-password-1"},
        headers=bearer(admin),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    rows = await db.fetch(
        "select active, deactivated_reason from push_registrations order by device_id"
    )
    assert [(r["active"], r["deactivated_reason"]) for r in rows] == [
        (False, "user_changed"),
        (False, "user_changed"),
    ]

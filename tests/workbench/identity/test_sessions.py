"""Sessions: refresh rotation and reuse detection, logout, device binding and device revocation."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.helpers import bearer, device, leave_behind, login
from workbench.embedded import EmbeddedRedis
from workbench.ids import uuid5_for
from workbench.security.tokens import Keyring

pytestmark = pytest.mark.usefixtures("demo_bank")

ME = "/api/v1/me"
REFRESH = "/api/v1/auth/refresh"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


async def refresh(client: Any, tokens: dict[str, Any], device_no: int | str = 1) -> Any:
    return await client.post(
        REFRESH,
        json={
            "refresh_token": tokens["refresh_token"],
            "device_id": device(device_no)["device_id"],
        },
    )


def revoke_url(device_no: int | str, action: str = "revoke") -> str:
    return f"/api/v1/admin/devices/{device(device_no)['device_id']}/{action}"


# ---- refresh rotation ------------------------------------------------------------------------


async def test_refresh_returns_a_new_pair_and_the_old_access_token_lives_on(client):
    first = await login(client, "rm01")
    response = await refresh(client, first)
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"].startswith("wbr_")
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["user"]["id"] == first["user"]["id"]
    # The new access token works, and so does the old one until it expires.
    assert (await client.get(ME, headers=bearer(second))).status_code == 200
    assert (await client.get(ME, headers=bearer(first))).status_code == 200
    # The new refresh token can be rotated in its turn.
    third = await refresh(client, second)
    assert third.status_code == 200, third.text
    assert third.json()["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


async def test_reusing_a_rotated_refresh_token_ends_the_whole_family(client, db):
    first = await login(client, "rm02")
    second = (await refresh(client, first)).json()
    newest = (await refresh(client, second)).json()
    assert (await client.get(ME, headers=bearer(newest))).status_code == 200

    reused = await refresh(client, first)
    assert_problem(reused, 401, "auth.refresh_reused")

    # The newest refresh token of that session is dead, and so is its current access token.
    assert_problem(await refresh(client, newest), 401, "auth.session_ended")
    assert_problem(await client.get(ME, headers=bearer(newest)), 401, "auth.session_ended")
    # The revocation was committed although the answer was an error.
    rows = await db.fetch(
        "select end_reason from sessions where device_id = $1", device(1)["device_id"]
    )
    assert [r["end_reason"] for r in rows] == ["refresh_reuse"]
    audited = await db.fetchval("select count(*) from audit_events where action = 'refresh_reuse'")
    assert audited == 1


async def test_an_app_that_lost_the_answer_of_a_refresh_retries_it_and_stays_signed_in(client):
    # A phone in the field: the rotation reached the server, its answer never reached the app,
    # which retries with the token it has. Once that ended the session; now the retry gets a
    # new pair, as does a second retry, and the answers it never received are dead.
    first = await login(client, "rm02")
    lost = await refresh(client, first)
    assert lost.status_code == 200, lost.text
    retried = await refresh(client, first)
    assert retried.status_code == 200, retried.text
    again = await refresh(client, first)
    assert again.status_code == 200, again.text
    tokens = again.json()
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200
    rotated = await refresh(client, tokens)
    assert rotated.status_code == 200, rotated.text
    # One line of tokens: a never-received answer presented later is a reuse, which ends it.
    assert_problem(await refresh(client, retried.json()), 401, "auth.refresh_reused")
    assert_problem(await refresh(client, rotated.json()), 401, "auth.session_ended")


async def test_a_retry_once_the_next_token_was_used_is_a_reuse(client):
    first = await login(client, "rm03")
    second = (await refresh(client, first)).json()
    assert (await refresh(client, second)).status_code == 200
    assert_problem(await refresh(client, first), 401, "auth.refresh_reused")


async def test_without_a_retry_window_presenting_a_rotated_token_again_is_a_reuse(make_client):
    strict = await make_client(refresh_retry_seconds=0)
    first = await login(strict, "rm04")
    assert (await refresh(strict, first)).status_code == 200
    assert_problem(await refresh(strict, first), 401, "auth.refresh_reused")


async def test_refresh_token_is_bound_to_its_device(client):
    tokens = await login(client, "rm03", device_no=1)
    assert_problem(await refresh(client, tokens, device_no=2), 401, "auth.invalid_token")
    # The refused attempt did not consume the token: the right device can still rotate it.
    assert (await refresh(client, tokens, device_no=1)).status_code == 200


async def test_unknown_refresh_token_is_invalid(client):
    response = await client.post(
        REFRESH, json={"refresh_token": "wbr_not-a-real-token", "device_id": device(1)["device_id"]}
    )
    assert_problem(response, 401, "auth.invalid_token")


# ---- logout and one session per device -------------------------------------------------------


async def test_logout_ends_the_session(client, db):
    tokens = await login(client, "rm04")
    response = await client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert response.status_code == 204
    assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.session_ended")
    assert_problem(await refresh(client, tokens), 401, "auth.session_ended")
    reason = await db.fetchval("select end_reason from sessions where user_id = $1", _user("rm04"))
    assert reason == "logout"


async def test_signing_in_again_on_a_device_ends_its_previous_session(client, db):
    before = await login(client, "rm01", device_no=7)
    after = await login(client, "rm01", device_no=7)
    assert_problem(await client.get(ME, headers=bearer(before)), 401, "auth.session_ended")
    assert_problem(await refresh(client, before, device_no=7), 401, "auth.session_ended")
    assert (await client.get(ME, headers=bearer(after))).status_code == 200
    rows = await db.fetch(
        "select end_reason from sessions where device_id = $1 order by created_at, id",
        device(7)["device_id"],
    )
    assert [r["end_reason"] for r in rows] == ["replaced", None]


async def test_another_user_signing_in_on_a_device_left_behind_ends_the_first_session(client, db):
    first = await login(client, "rm01", device_no=8)
    await leave_behind(db, 8)
    second = await login(client, "rm02", device_no=8)
    assert_problem(await client.get(ME, headers=bearer(first)), 401, "auth.session_ended")
    me = await client.get(ME, headers=bearer(second))
    assert me.status_code == 200
    assert me.json()["login"] == "rm02"


async def test_nobody_signs_in_on_a_device_someone_else_is_using(client, db):
    # Device ids are the apps' own: whoever learnt a colleague's (another branch's, say) once
    # signed them out with it at will and took the phone into their own branch.
    first = await login(client, "rm01", device_no=8)
    refused = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm05", "password": "workbench-demo", "device": device(8)},
    )
    assert_problem(refused, 409, "auth.device_in_use")
    assert (await client.get(ME, headers=bearer(first))).status_code == 200
    owner = await db.fetchval(
        "select user_id from devices where device_id = $1", device(8)["device_id"]
    )
    assert owner == _user("rm01")
    audited = await db.fetchval(
        "select detail ->> 'reason' from audit_events where action = 'login_refused'"
    )
    assert audited == "device_in_use"
    # Once the first user signs out, the device may change hands (a shared tablet).
    assert (await client.post("/api/v1/auth/logout", headers=bearer(first))).status_code == 204
    assert (await login(client, "rm05", device_no=8))["user"]["id"] == str(_user("rm05"))


async def test_sessions_on_other_devices_are_not_affected(client):
    phone = await login(client, "rm01", device_no=1)
    tablet = await login(client, "rm01", device_no=2)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(tablet))).status_code == 204
    assert (await client.get(ME, headers=bearer(phone))).status_code == 200


# ---- device revocation -----------------------------------------------------------------------


async def test_device_revocation_is_effective_at_once_on_another_instance(make_client, db):
    instance_a = await make_client()
    instance_b = await make_client()
    rm = await login(instance_b, "rm01", device_no=1)
    admin = await login(instance_a, "admin", device_no=90)
    assert (await instance_b.get(ME, headers=bearer(rm))).status_code == 200

    revoked = await instance_a.post(revoke_url(1), headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["device_id"] == device(1)["device_id"]
    assert revoked.json()["sessions_ended"] == 1

    # Instance B refuses the token at once and tells the app to wipe.
    body = assert_problem(await instance_b.get(ME, headers=bearer(rm)), 403, "auth.device_revoked")
    assert body["wipe"] is True
    assert_problem(await refresh(instance_b, rm), 403, "auth.device_revoked")
    assert_problem(await refresh(instance_a, rm), 403, "auth.device_revoked")

    # Signing in again from the revoked device is refused and opens no session.
    sessions_before = await db.fetchval("select count(*) from sessions")
    again = await instance_b.post(
        "/api/v1/auth/login",
        json={"login": "rm01", "password": "workbench-demo", "device": device(1)},
    )
    body = assert_problem(again, 403, "auth.device_revoked")
    assert body["wipe"] is True
    assert await db.fetchval("select count(*) from sessions") == sessions_before
    # Another user cannot take over the revoked device either.
    other = await instance_a.post(
        "/api/v1/auth/login",
        json={"login": "rm02", "password": "workbench-demo", "device": device(1)},
    )
    assert_problem(other, 403, "auth.device_revoked")
    assert await db.fetchval("select count(*) from sessions") == sessions_before

    # After a restore the device may sign in again; the old token stays dead.
    restored = await instance_a.post(revoke_url(1, "restore"), headers=bearer(admin))
    assert restored.status_code == 200, restored.text
    assert restored.json()["revoked_at"] is None
    fresh = await login(instance_b, "rm01", device_no=1)
    me = await instance_b.get(ME, headers=bearer(fresh))
    assert me.status_code == 200, me.text
    me_on_a = await instance_a.get(ME, headers=bearer(fresh))
    assert me_on_a.status_code == 200, me_on_a.text
    old = await instance_b.get(ME, headers=bearer(rm))
    assert old.status_code in (401, 403), old.text
    assert old.json()["code"] in ("auth.session_ended", "auth.device_revoked")
    assert (await refresh(instance_b, rm)).status_code in (401, 403)
    # The admin's own device was never touched.
    assert (await instance_a.get(ME, headers=bearer(admin))).status_code == 200


async def test_branch_head_revokes_devices_of_their_own_branch_only(client, db):
    east_rm = await login(client, "rm01", device_no=1)
    west_rm = await login(client, "rm05", device_no=5)
    head = await login(client, "bh.east", device_no=20)

    other_branch = await client.post(revoke_url(5), headers=bearer(head))
    assert_problem(other_branch, 404, "device.not_found")
    assert (await client.get(ME, headers=bearer(west_rm))).status_code == 200
    assert (
        await db.fetchval(
            "select revoked_at from devices where device_id = $1", device(5)["device_id"]
        )
        is None
    )
    assert_problem(
        await client.post(revoke_url(5, "restore"), headers=bearer(head)), 404, "device.not_found"
    )

    own_branch = await client.post(revoke_url(1), headers=bearer(head))
    assert own_branch.status_code == 200, own_branch.text
    assert_problem(await client.get(ME, headers=bearer(east_rm)), 403, "auth.device_revoked")
    revoked_by = await db.fetchval(
        "select revoked_by from devices where device_id = $1", device(1)["device_id"]
    )
    assert revoked_by == _user("bh.east")


async def test_an_rm_cannot_revoke_devices(client, db):
    victim = await login(client, "rm02", device_no=2)
    rm = await login(client, "rm01", device_no=1)
    assert_problem(await client.post(revoke_url(2), headers=bearer(rm)), 403, "auth.forbidden")
    assert (await client.get(ME, headers=bearer(victim))).status_code == 200
    assert await db.fetchval("select count(*) from devices where revoked_at is not null") == 0


async def test_revoking_an_unknown_device_is_404(client):
    admin = await login(client, "admin", device_no=90)
    response = await client.post(
        "/api/v1/admin/devices/device-never-seen/revoke", headers=bearer(admin)
    )
    assert_problem(response, 404, "device.not_found")


# ---- Redis down ------------------------------------------------------------------------------


async def test_redis_down_answers_503_instead_of_assuming_not_revoked(make_client, tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    url = redis.start()
    try:
        client = await make_client(redis_url=url)
        tokens = await login(client, "rm01")
        assert (await client.get(ME, headers=bearer(tokens))).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        redis.stop()

        assert_problem(await client.get(ME, headers=bearer(tokens)), 503, "service.unavailable")
        response = await client.post(
            "/api/v1/auth/login",
            json={"login": "rm02", "password": "workbench-demo", "device": device(2)},
        )
        assert_problem(response, 503, "service.unavailable")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == "unreachable"
        assert ready.json()["checks"]["database"] == "ok"
    finally:
        redis.stop()


# ---- expired access tokens -------------------------------------------------------------------


async def test_expired_access_token_is_refused(client, settings, db):
    tokens = await login(client, "rm01")
    session = await db.fetchrow(
        "select id, user_id from sessions where device_id = $1 and ended_at is null",
        device(1)["device_id"],
    )
    keyring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    claims: dict[str, Any] = {
        "user_id": session["user_id"],
        "session_id": session["id"],
        "device_id": device(1)["device_id"],
        "role": "rm",
        "org_unit_id": uuid5_for("org:team-east-1"),
        "ttl_seconds": settings.access_token_ttl_seconds,
    }
    # A token of the same key and session issued now is accepted (the test key is the real one) ...
    current, _ = keyring.issue_access(**claims)
    assert (await client.get(ME, headers={"Authorization": f"Bearer {current}"})).status_code == 200
    # ... but one issued an hour ago has expired, far beyond the 30 s leeway.
    expired, _ = keyring.issue_access(**claims, now=time.time() - 3600)
    response = await client.get(ME, headers={"Authorization": f"Bearer {expired}"})
    assert_problem(response, 401, "auth.invalid_token")
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


def _user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")

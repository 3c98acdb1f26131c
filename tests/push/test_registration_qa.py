"""Two push-registration defects a tester found, as an RM would notice them.

- A phone whose session ran out (its refresh tokens past their expiry: the app's refresh answers
  401 `auth.session_ended`), say one lost a month ago, got no more pushes: neither alerts that
  show a customer's masked name on the lock screen nor sync pokes. Another phone of the same RM,
  signed in, still gets them.
- Two devices registering the same push token at the same moment: one takes it ("token_moved"
  for the other), neither answers 500. The second waits for the first to commit.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from mobile_contracts.v1 import push as wire
from mobile_contracts.v1.identity import Platform, Role
from push import devices
from push.fakes import FakePushServer
from tests.push.test_delivery import delivered, tell
from workbench.access import Caller
from workbench.ids import uuid5_for
from workbench.notifications import categories
from workbench.notifications.service import notify_registered
from workbench.security.vault import Vault
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
LOST_PHONE, TABLET = "qa-rm01-lost-phone", "qa-rm01-tablet"
LOST_TOKEN, TABLET_TOKEN = "c" * 64, "d" * 64


async def sign_in_and_register(
    client: Any, who: str, device_id: str, *, platform: str, provider: str, token: str
) -> dict[str, Any]:
    """`who` signs in on the device and the app registers its push token; the token answer."""
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": who, "password": DEMO_PASSWORD,
              "device": {"device_id": device_id, "platform": platform}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    registered = await client.post(
        "/api/v1/devices",
        json={"device_id": device_id, "platform": platform, "provider": provider,
              "push_token": token},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )  # fmt: skip
    assert registered.status_code == 200, registered.text
    return tokens


async def let_the_session_run_out(db: Any, device_id: str) -> None:
    """What the tester did for a phone left 30+ days: every refresh token of the device's
    session is past its expiry (nothing ends the session)."""
    await db.execute(
        "update refresh_tokens set expires_at = now() - interval '1 minute'"
        " where session_id in (select id from sessions where device_id = $1)",
        device_id,
    )


def pushed_to(fake: FakePushServer, nid: uuid.UUID) -> list[str]:
    return sorted(d.token for d in delivered(fake, nid))


# ---- 1. an expired session stops push ---------------------------------------------------------


async def test_a_phone_whose_session_expired_gets_no_push_while_a_signed_in_one_still_does(
    client, db, conn, deliverer, fake
):
    lost = await sign_in_and_register(
        client, "rm01", LOST_PHONE, platform="ios", provider="apns", token=LOST_TOKEN
    )
    await sign_in_and_register(
        client, "rm01", TABLET, platform="android", provider="fcm", token=TABLET_TOKEN
    )
    await let_the_session_run_out(db, LOST_PHONE)
    refused = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": lost["refresh_token"], "device_id": LOST_PHONE},
    )
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "auth.session_ended"

    alert = await tell(conn, "brochure-opened")
    poked = await notify_registered(
        conn, user_ids=[RM01], category=categories.SYNC_POKE, dedupe_key="poke-1"
    )
    assert poked == 1
    assert await deliverer.run_round() == 2

    assert pushed_to(fake, alert) == [TABLET_TOKEN]
    assert [r.path for r in fake.requests if LOST_TOKEN in r.path] == []
    assert [d.token for d in fake.sent] == [TABLET_TOKEN, TABLET_TOKEN]  # the alert, the poke


async def test_signing_in_again_on_the_phone_makes_it_reachable_again(
    client, db, conn, deliverer, fake
):
    await sign_in_and_register(
        client, "rm01", LOST_PHONE, platform="ios", provider="apns", token=LOST_TOKEN
    )
    await let_the_session_run_out(db, LOST_PHONE)
    await sign_in_and_register(
        client, "rm01", LOST_PHONE, platform="ios", provider="apns", token=LOST_TOKEN
    )
    alert = await tell(conn, "after-sign-in")
    assert await deliverer.run_round() == 1
    assert pushed_to(fake, alert) == [LOST_TOKEN]


# ---- 2. the same token registered by two devices at once --------------------------------------


async def caller_on(db: Any, device_id: str) -> Caller:
    """The caller an access token issued on the device stands for."""
    row = await db.fetchrow(
        "select s.id, s.user_id, u.role, u.org_unit_id from sessions s"
        " join users u on u.id = s.user_id where s.device_id = $1 and s.ended_at is null",
        device_id,
    )
    return Caller(user_id=row["user_id"], role=Role(row["role"]), org_unit_id=row["org_unit_id"],
                  session_id=row["id"], device_id=device_id)  # fmt: skip


def registration_of(device_id: str, token: str) -> wire.DeviceRegistration:
    return wire.DeviceRegistration(
        device_id=device_id,
        platform=Platform.ANDROID,
        provider=wire.PushProvider.FCM,
        push_token=token,
    )


async def waits_for_a_lock(watcher: Any, pid: int, task: asyncio.Task[Any]) -> bool:
    """Whether connection `pid` waits for a lock (False: `task`, which runs on it, finished
    instead). Polls PostgreSQL until one of the two is seen."""
    waiting = "select exists (select 1 from pg_locks where pid = $1 and not granted)"
    async with asyncio.timeout(30):
        while not task.done():
            if await watcher.fetchval(waiting, pid):
                return True
            await asyncio.sleep(0)
    return False


async def test_two_devices_registering_the_same_token_at_once_both_succeed_and_one_keeps_it(
    client, db, pool, settings
):
    phone, other = "qa-rm01-android", "qa-rm02-android"
    for who, device_id in (("rm01", phone), ("rm02", other)):
        response = await client.post(
            "/api/v1/auth/login",
            json={"login": who, "password": DEMO_PASSWORD,
                  "device": {"device_id": device_id, "platform": "android"}},
        )  # fmt: skip
        assert response.status_code == 200, response.text
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    token = "fcm-shared-token-" + "e" * 48
    callers = {device_id: await caller_on(db, device_id) for device_id in (phone, other)}

    async def register(conn: Any, device_id: str) -> wire.RegisteredDevice:
        return await devices.register(
            conn,
            vault=vault,
            caller=callers[device_id],
            registration=registration_of(device_id, token),
        )

    async with pool.acquire() as first, pool.acquire() as second:
        first_tx = first.transaction()
        await first_tx.start()
        try:
            first_answer = await register(first, phone)  # holds the token until it commits
            second_pid = second.get_server_pid()

            async def second_registers() -> wire.RegisteredDevice:
                async with second.transaction():
                    return await register(second, other)

            task = asyncio.create_task(second_registers())
            assert await waits_for_a_lock(db, second_pid, task), "did not wait for the first"
            await first_tx.commit()
        except BaseException:
            await first_tx.rollback()
            raise
        second_answer = await task  # before the fix: UniqueViolationError, a 500

    assert first_answer.active  # each answered as registered: no 500
    assert second_answer.active
    rows = await db.fetch(
        "select device_id, active, deactivated_reason from push_registrations"
        " where device_id = any($1) order by device_id",
        [phone, other],
    )
    assert [(r["device_id"], r["active"], r["deactivated_reason"]) for r in rows] == [
        (phone, False, "token_moved"),
        (other, True, None),
    ]


async def test_no_sync_poke_is_stored_for_a_user_whose_only_phone_ran_out(client, db, conn):
    """Nothing could receive it: a poke row a minute for every RM whose phone was lost only
    filled the outbox."""
    await sign_in_and_register(
        client, "rm01", LOST_PHONE, platform="ios", provider="apns", token=LOST_TOKEN
    )
    await let_the_session_run_out(db, LOST_PHONE)
    poked = await notify_registered(
        conn, user_ids=[RM01], category=categories.SYNC_POKE, dedupe_key="poke-lost"
    )
    assert poked == 0
    assert (
        await db.fetchval(
            "select count(*) from notifications where user_id = $1 and dedupe_key = 'poke-lost'",
            RM01,
        )
        == 0
    )

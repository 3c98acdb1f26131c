"""Revoking or restoring a device while another user signs in on it: the admin's change waits
for the sign-in, then answers as it would after it, for the device now the other user's (in the
caller's scope: changed; out of it: 404), never a 404 `device.not_found` for a device in scope
before and after. Two connections, sequenced through PostgreSQL's lock table."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from mobile_contracts.v1 import identity as wire
from mobile_contracts.v1.identity import Role
from tests.helpers import DEMO_PASSWORD, device, leave_behind, login
from tests.locks import waits_for_a_lock
from tests.workbench.identity.test_login_device_race import limiter  # noqa: F401  (the fixture)
from tests.workbench.identity.test_org_scope import unit, user_id
from tests.workbench.identity.test_refresh_retries import Api, api  # noqa: F401  (the fixture)
from workbench.access import Caller
from workbench.errors import NotFound
from workbench.identity import devices, service

pytestmark = pytest.mark.usefixtures("demo_bank")

PHONE = device(1)["device_id"]  # rm01's, left for 13 hours: another user may sign in on it


def caller(login_name: str, role: Role, unit_key: str) -> Caller:
    return Caller(
        user_id=user_id(login_name), role=role, org_unit_id=uuid.UUID(unit(unit_key)),
        session_id=uuid.uuid4(), device_id="test",
    )  # fmt: skip


BH_EAST = caller("bh.east", Role.BRANCH_HEAD, "branch-east")
ADMIN = caller("admin", Role.ADMIN, "head-office")


@pytest.mark.parametrize(
    ("change", "admin", "newcomer", "found"),
    [
        ("revoke", BH_EAST, "rm02", True),  # rm01's teammate: still the East Branch's device
        ("revoke", ADMIN, "rm05", True),  # the whole bank's
        ("restore", ADMIN, "rm05", True),
        ("revoke", BH_EAST, "rm05", False),  # now a West RM's: out of the East head's reach
    ],
    ids=["branch head revokes", "admin revokes", "admin restores", "out of reach now"],
)
async def test_a_device_change_waits_for_the_sign_in_and_answers_for_the_new_user(
    client,
    db,
    api: Api,  # noqa: F811 (the fixture imported above)
    limiter,  # noqa: F811 (the fixture imported above)
    change,
    admin,
    newcomer,
    found,
):
    await login(client, "rm01", device_no=1)
    await leave_behind(db, 1)
    auth = replace(client.app.state.auth, revocations=api.revocations, limiter=limiter)
    request = msgspec.convert(
        {"login": newcomer, "password": DEMO_PASSWORD, "device": device(1)}, wire.LoginRequest
    )
    async with api.pool.acquire() as signing_in, api.pool.acquire() as changing:
        tx = signing_in.transaction()
        await tx.start()  # the newcomer's session opened and the device made theirs, not committed
        await service.login(signing_in, auth=auth, request=request, client_ip="127.0.0.1")

        async def change_device() -> Any:
            async with changing.transaction():
                run = devices.revoke_device if change == "revoke" else devices.restore_device
                try:
                    return await run(
                        changing, auth=auth, caller=admin, device_id=PHONE, client_ip=None
                    )
                except NotFound as missing:
                    return missing

        task = asyncio.create_task(change_device())
        waited = await waits_for_a_lock(db, changing.get_server_pid(), task)
        await tx.commit()
        answer = await task
    assert waited  # the change's lock waited for the sign-in, then saw it committed
    assert await db.fetchval("select user_id from devices where device_id = $1", PHONE) == (
        user_id(newcomer)
    )
    open_sessions = await db.fetchval(
        "select count(*) from sessions where device_id = $1 and ended_at is null", PHONE
    )
    revoked_at = await db.fetchval("select revoked_at from devices where device_id = $1", PHONE)
    if not found:
        assert isinstance(answer, NotFound), answer
        assert answer.code == "device.not_found"
        assert (open_sessions, revoked_at) == (1, None)  # the newcomer's session goes on
    elif change == "revoke":
        assert isinstance(answer, wire.DeviceRevoked), answer
        assert (answer.sessions_ended, answer.revoked_at) == (1, revoked_at)  # the newcomer's
        assert open_sessions == 0
    else:
        assert isinstance(answer, wire.Device), answer
        assert (answer.user_id, answer.revoked_at) == (user_id(newcomer), None)
        assert (open_sessions, revoked_at) == (1, None)

"""Whether an old token tells its device to wipe is decided by how things stand now, not by why
its session ended: a device revoked and then restored, or a disabled user enabled again, holds
an offline copy (and queued work) the app must keep; its old tokens only ask it to sign in
again, on every instance, before and after Redis forgets its revocations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import bearer, device, login
from tests.workbench.identity.test_org_scope import assert_problem, user_id
from tests.workbench.identity.test_revocations import forget_everything

pytestmark = pytest.mark.usefixtures("demo_bank")

ME = "/api/v1/me"
PULL = "/api/v1/sync/pull"
REFRESH = "/api/v1/auth/refresh"


async def refresh(client: Any, tokens: dict[str, Any], device_no: int | str) -> Any:
    body = {"refresh_token": tokens["refresh_token"], "device_id": device(device_no)["device_id"]}
    return await client.post(REFRESH, json=body)


def only_signed_out(response: Any) -> None:
    body = assert_problem(response, 401, "auth.session_ended")
    assert not body.get("wipe"), body


async def test_a_restored_device_is_only_asked_to_sign_in_again(make_client, settings):
    instance_a, instance_b = await make_client(), await make_client()
    phone = await login(instance_a, "rm02", device_no="rm02-phone")
    head = bearer(await login(instance_b, "bh.east", device_no="bh-tablet"))
    path = f"/api/v1/admin/devices/{device('rm02-phone')['device_id']}"

    assert (await instance_b.post(f"{path}/revoke", headers=head)).status_code == 200
    told = assert_problem(
        await refresh(instance_a, phone, "rm02-phone"), 403, "auth.device_revoked"
    )
    assert told["wipe"] is True  # while it is revoked: a lost phone erases its copy
    assert (await instance_b.post(f"{path}/restore", headers=head)).status_code == 200

    # A phone offline through revoke and restore reconnects: it keeps its copy and its queue.
    for instance in (instance_a, instance_b):
        only_signed_out(await refresh(instance, phone, "rm02-phone"))
        only_signed_out(await instance.get(ME, headers=bearer(phone)))
        only_signed_out(
            await instance.post(PULL, headers=bearer(phone), json={"schema_version": 4})
        )
    # Also once the user signed in on it again, and whichever instance asks PostgreSQL.
    again = await login(instance_b, "rm02", device_no="rm02-phone")
    only_signed_out(await refresh(instance_a, phone, "rm02-phone"))
    await forget_everything(settings)
    only_signed_out(await instance_b.get(ME, headers=bearer(phone)))
    only_signed_out(await refresh(instance_b, phone, "rm02-phone"))
    assert (await instance_a.get(ME, headers=bearer(again))).status_code == 200


async def test_a_shared_device_does_not_tell_an_enabled_users_old_token_to_wipe(
    make_client, settings
):
    instance_a, instance_b = await make_client(), await make_client()
    admin = bearer(await login(instance_a, "admin", device_no="admin-api"))
    rm08 = await login(instance_a, "rm08", device_no="shared-x")

    def user_path(action: str) -> str:
        return f"/api/v1/admin/users/{user_id('rm08')}/{action}"

    assert (await instance_a.post(user_path("disable"), headers=admin)).status_code == 200
    told = assert_problem(await instance_b.get(ME, headers=bearer(rm08)), 403, "auth.user_disabled")
    assert told["wipe"] is True  # the tablet still holds rm08's copy
    colleague = await login(instance_b, "rm07", device_no="shared-x")

    # Now the tablet holds rm07's copy: rm08's old tokens must not make it erase that ...
    for instance in (instance_a, instance_b):
        only_signed_out(await instance.get(ME, headers=bearer(rm08)))
        only_signed_out(await refresh(instance, rm08, "shared-x"))
    # ... nor once rm08 is enabled again.
    assert (await instance_b.post(user_path("enable"), headers=admin)).status_code == 200
    for instance in (instance_a, instance_b):
        only_signed_out(await instance.get(ME, headers=bearer(rm08)))
        pulled = await instance.post(PULL, headers=bearer(rm08), json={"schema_version": 4})
        only_signed_out(pulled)
        only_signed_out(await refresh(instance, rm08, "shared-x"))
    await forget_everything(settings)
    only_signed_out(await instance_a.get(ME, headers=bearer(rm08)))
    assert (await instance_b.get(ME, headers=bearer(colleague))).status_code == 200

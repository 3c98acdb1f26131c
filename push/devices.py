"""The device registry: which push provider and token reach each signed-in device."""

from __future__ import annotations

import uuid

from mobile_contracts.v1 import push as wire
from mobile_contracts.v1.problems import FieldError
from push import queries
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import Vault

# Which providers can reach which platform.
PROVIDERS_OF = {
    "ios": {"apns"},
    "android": {"fcm", "hms"},
    "harmony": {"hms"},
    "web": set[str](),
}


class InvalidRegistration(DomainError):
    status, code, title = (
        422,
        "push.invalid_registration",
        "This registration does not fit the device",
    )


def token_index(vault: Vault, provider: str, token: str) -> bytes:
    return vault.blind_index("push_token", f"{provider}:{token}")


def token_aad(device_id: str) -> str:
    return f"push_token:{device_id}"


# What `workbench rotate-keys` re-encrypts of push: every registration's token (inactive ones
# too: a registration becomes live again when the app registers).
ENCRYPTED = EncryptedColumns(
    kind="push registrations",
    table="push_registrations",
    key="device_id",
    key_type="text",
    aad={"token_cipher": lambda row: token_aad(row["device_id"])},
)


async def register(
    conn: Connection, *, vault: Vault, caller: Caller, registration: wire.DeviceRegistration
) -> wire.RegisteredDevice:
    """Register or refresh the push token of the calling device (the one its access token was
    issued to). Another device of the caller's is refused: one signed out (its registration
    ended) would be reachable again from the phone next to it."""
    device = await queries.device_of_user(conn, registration.device_id, caller.user_id)
    if device is None:
        raise NotFound("device")
    errors = []
    if registration.device_id != caller.device_id:
        errors.append(
            FieldError(
                path="$.device_id",
                message="not the device making this request: a device registers only itself,"
                " with the access token it signed in with",
            )
        )
    elif registration.platform.value != device["platform"]:
        errors.append(
            FieldError(path="$.platform", message=f"this device signed in as {device['platform']}")
        )
    elif registration.provider.value not in PROVIDERS_OF[device["platform"]]:
        errors.append(
            FieldError(
                path="$.provider",
                message=f"{registration.provider.value} cannot reach a {device['platform']} device",
            )
        )
    if errors:
        raise InvalidRegistration(errors=errors)
    provider, token = registration.provider.value, registration.push_token
    row = await queries.save_registration(
        conn,
        device_id=registration.device_id,
        user_id=caller.user_id,
        provider=provider,
        token_cipher=vault.cipher.encrypt(token, aad=token_aad(registration.device_id)),
        token_index=token_index(vault, provider, token),
        app_version=registration.app_version,
    )
    return wire.RegisteredDevice(
        device_id=row["device_id"],
        platform=registration.platform,
        provider=registration.provider,
        active=row["active"],
        registered_at=row["registered_at"],
    )


async def unregister(conn: Connection, *, caller: Caller, device_id: str) -> None:
    """The user turned push off on one of their devices (again, or before ever registering,
    is harmless)."""
    registered = await queries.registration_of_user(conn, device_id, caller.user_id)
    if registered is None:
        if await queries.device_of_user(conn, device_id, caller.user_id) is None:
            raise NotFound("device")
        return
    await queries.deactivate(
        conn, reason="unregistered", device_id=device_id, user_id=caller.user_id
    )


async def signed_out(conn: Connection, device_id: str, *, reason: str) -> None:
    """The device's session ended (logout, revocation): nothing more is pushed to it until the
    app registers again after the next sign-in."""
    await queries.deactivate(conn, reason=reason, device_id=device_id)


async def user_signed_out(conn: Connection, user_id: uuid.UUID, *, reason: str) -> None:
    """Every session of the user ended (their account changed): no device of theirs is pushed
    to until they sign in and register again."""
    await queries.deactivate(conn, reason=reason, user_id=user_id)


async def signed_in(conn: Connection, device_id: str, user_id: uuid.UUID) -> None:
    """Someone signed in on the device: a registration left by another user stops at once, so
    that one person's notifications never reach the next person's hands."""
    await queries.deactivate(conn, reason="user_changed", device_id=device_id, not_user_id=user_id)

"""Devices as admins and branch heads see them: the list, revoking a lost one, restoring it."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from mobile_contracts.v1 import identity as wire
from push import devices as push_devices
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import (
    NotFound,
)
from workbench.identity import queries
from workbench.identity.service import Auth

# ---- devices ---------------------------------------------------------------------------------


async def revoke_device(
    conn: Connection, *, auth: Auth, caller: Caller, device_id: str, client_ip: str | None
) -> wire.DeviceRevoked:
    """Stop every token of the device at once and tell the app to wipe its offline data.
    `client_ip`: the caller's address, for the audit trail."""
    device = await queries.device_in_scope(conn, device_id, scope_root=caller.scope_root)
    if device is None:
        raise NotFound("device")
    revoked_at = await queries.set_device_revoked(conn, device_id, revoked_by=caller.user_id)
    if revoked_at is None:  # revoked already (by someone else, a stale form): nothing to do
        again = await queries.device_in_scope(conn, device_id, scope_root=caller.scope_root)
        assert again is not None
        return wire.DeviceRevoked(
            device_id=device_id, revoked_at=again["revoked_at"], sessions_ended=0
        )
    ended = await queries.end_sessions(conn, reason="device_revoked", device_id=device_id)
    await push_devices.signed_out(conn, device_id, reason="device_revoked")
    # Redis inside the transaction (if Redis is down the whole revocation answers 503), and
    # again after the commit.
    await auth.revocations.revoke_device(conn, device_id)
    await auth.revocations.end_sessions(conn, ended)
    await audit.record(
        conn,
        action="device_revoked",
        actor_id=caller.user_id,
        subject=f"device:{device_id}",
        client_ip=client_ip,
        detail={"sessions_ended": len(ended)},
    )
    return wire.DeviceRevoked(device_id=device_id, revoked_at=revoked_at, sessions_ended=len(ended))


async def restore_device(
    conn: Connection, *, auth: Auth, caller: Caller, device_id: str, client_ip: str | None
) -> wire.Device:
    """Allow a revoked device to sign in again (old tokens stay dead)."""
    device = await queries.device_in_scope(conn, device_id, scope_root=caller.scope_root)
    if device is None:
        raise NotFound("device")
    await queries.clear_device_revoked(conn, device_id)
    await auth.revocations.restore_device(conn, device_id)
    await audit.record(
        conn,
        action="device_restored",
        actor_id=caller.user_id,
        subject=f"device:{device_id}",
        client_ip=client_ip,
    )
    return msgspec.convert({**dict(device), "revoked_at": None}, wire.Device)


async def list_devices(
    conn: Connection,
    *,
    caller: Caller,
    q: str | None = None,
    state: wire.DeviceState | None = None,
    org_unit_id: uuid.UUID | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[wire.DeviceListItem]:
    """Devices of users in the caller's subtree (or one unit's subtree within it), the most
    recently seen first; a unit outside the caller's subtree is not found."""
    if org_unit_id is not None and not await queries.org_unit_in_scope(
        conn, org_unit_id, scope_root=caller.scope_root
    ):
        raise NotFound("org_unit")
    rows = await queries.device_rows(
        conn,
        scope_root=org_unit_id if org_unit_id is not None else caller.scope_root,
        q=q.strip() if q and q.strip() else None,
        revoked=None if state is None else state is wire.DeviceState.REVOKED,
        after=after,
        limit=limit,
    )
    return [_device_item(r) for r in rows]


async def device(conn: Connection, *, caller: Caller, device_id: str) -> wire.DeviceListItem:
    """One device of the caller's subtree, as the device list shows it (else not found)."""
    rows = await queries.device_rows(conn, scope_root=caller.scope_root, device_id=device_id)
    if not rows:
        raise NotFound("device")
    return _device_item(rows[0])


def _device_item(row: queries.Record) -> wire.DeviceListItem:
    return wire.DeviceListItem(
        device_id=row["device_id"],
        platform=wire.Platform(row["platform"]),
        model=row["model"],
        app_version=row["app_version"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        state=wire.DeviceState.REVOKED if row["revoked_at"] else wire.DeviceState.ACTIVE,
        revoked_at=row["revoked_at"],
        revoked_by=wire.UserRef(id=row["revoked_by"], name=row["revoked_by_name"])
        if row["revoked_by"] is not None
        else None,
        user=wire.DeviceOwner(
            id=row["user_id"],
            login=row["login"],
            name=row["user_name"],
            org_unit=wire.OrgUnitRef(id=row["org_unit_id"], name=row["org_unit_name"]),
        ),
        session_open=row["session_open"],
        push=wire.DevicePush(
            provider=row["push_provider"],
            active=row["push_active"],
            registered_at=row["push_registered_at"],
            deactivated_reason=row["push_reason"],
        )
        if row["push_provider"] is not None
        else None,
    )

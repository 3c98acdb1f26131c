"""Rules of identity: sign-in bound to a device, token rotation, revocation, org and users."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import identity as wire
from push import devices as push_devices
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import (
    Conflict,
    DeviceInUse,
    DeviceRevoked,
    DomainError,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    RefreshTokenReused,
    SessionEnded,
)
from workbench.identity import queries
from workbench.identity.rate_limit import LoginLimiter
from workbench.identity.revocations import Revocations
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.security.tokens import AccessClaims, Keyring, TokenError

REFRESH_PREFIX = "wbr_"


@dataclass(frozen=True, slots=True)
class Auth:
    """What sign-in and token checks need, built once per process in create_app."""

    keyring: Keyring
    passwords: Passwords
    revocations: Revocations
    limiter: LoginLimiter
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    refresh_retry_seconds: int = 30


# ---- sign-in and sessions --------------------------------------------------------------------


async def login(
    conn: Connection,
    *,
    auth: Auth,
    request: wire.LoginRequest,
    client_ip: str,
    take_over: bool = False,
) -> wire.TokenPair:
    """Check the password, bind the device to the user and open a session on it. A device
    another user is using now is refused, unless the caller proves it holds the device
    (`take_over`: the console's browser, whose device id is its own secret cookie)."""
    await auth.limiter.count_attempt(login=request.login, client_ip=client_ip)
    user = await queries.user_for_login(conn, request.login)
    password_ok = await auth.passwords.verify(
        user["password_hash"] if user else None, request.password
    )
    if user is None or not password_ok or not user["active"]:
        await audit.record(
            conn,
            action="login_failed",
            actor_id=user["id"] if user else None,
            client_ip=client_ip,
            detail={"reason": "bad_credentials"},
        )
        raise _CommittedInvalidCredentials()
    device_id = request.device.device_id
    device = await queries.device_for_update(conn, device_id)
    if device is not None and device["revoked_at"] is not None:
        await audit.record(
            conn,
            action="login_refused",
            actor_id=user["id"],
            subject=f"device:{device_id}",
            client_ip=client_ip,
            detail={"reason": "device_revoked"},
        )
        raise _CommittedDeviceRevoked(wipe=True)
    if device is not None and device["user_id"] != user["id"] and not take_over:
        await _refuse_a_device_in_use(conn, device_id, user["id"], client_ip=client_ip)
    if auth.passwords.needs_rehash(user["password_hash"]):
        await queries.set_password_hash(
            conn, user["id"], await auth.passwords.hash(request.password)
        )
    # One session per device: signing in again (or as someone else, once the other has not used
    # it for IN_USE_SECONDS) ends the previous one.
    replaced = await queries.end_sessions(conn, reason="replaced", device_id=device_id)
    await auth.revocations.end_sessions(conn, replaced)
    await push_devices.signed_in(conn, device_id, user["id"])
    await queries.upsert_device(
        conn,
        device_id=device_id,
        user_id=user["id"],
        platform=request.device.platform.value,
        model=request.device.model,
        app_version=request.device.app_version,
    )
    session_id = uuid7()
    await queries.insert_session(
        conn, session_id=session_id, user_id=user["id"], device_id=device_id
    )
    await audit.record(
        conn,
        action="login",
        actor_id=user["id"],
        subject=f"device:{device_id}",
        client_ip=client_ip,
    )
    await auth.limiter.succeeded(login=request.login, client_ip=client_ip)
    return await _issue_pair(conn, auth=auth, session_id=session_id, device_id=device_id, user=user)


async def refresh(
    conn: Connection, *, auth: Auth, request: wire.RefreshRequest, client_ip: str
) -> wire.TokenPair:
    """Rotate a refresh token; presenting an already-rotated one ends its whole session.

    Except a retry: the session's last rotated token presented again within
    `refresh_retry_seconds` of its rotation, while its successor was never used (an app on a
    flaky network whose answer was lost retries with the token it still has). It gets a new
    pair and the successor it never received is retired, so the session keeps one line of
    tokens: the retired one presented later counts as a reuse and ends the session."""
    token_hash = _hash_refresh(request.refresh_token)
    row = await queries.refresh_token_for_update(
        conn, token_hash, retry_seconds=auth.refresh_retry_seconds
    )
    if row is None or row["device_id"] != request.device_id:
        raise InvalidToken("Unknown refresh token for this device")
    if row["ended_at"] is not None:
        if row["end_reason"] == "device_revoked" or row["revoked_at"] is not None:
            raise DeviceRevoked(wipe=True)
        raise SessionEnded()
    if row["used_at"] is not None and not row["a_retry"]:
        ended = await queries.end_sessions(
            conn, reason="refresh_reuse", session_id=row["session_id"]
        )
        await push_devices.signed_out(conn, row["device_id"], reason="refresh_reuse")
        await auth.revocations.end_sessions(conn, ended)
        await audit.record(
            conn,
            action="refresh_reuse",
            actor_id=row["user_id"],
            subject=f"session:{row['session_id']}",
            client_ip=client_ip,
        )
        raise RefreshTokenReused()
    if row["expired"]:
        raise SessionEnded("The session expired; sign in again")
    if not row["active"]:
        raise SessionEnded("The user is disabled")
    await queries.touch_device(conn, row["device_id"])  # the device list's "last seen"
    if row["used_at"] is None:
        await queries.mark_refresh_token_used(conn, token_hash)
    else:  # a retry: its successor's answer never arrived
        await queries.retire_for_retry(conn, row["session_id"], token_hash)
    user = {
        "id": row["user_id"],
        "role": row["role"],
        "org_unit_id": row["org_unit_id"],
        "name": row["name"],
    }
    return await _issue_pair(
        conn, auth=auth, session_id=row["session_id"], device_id=row["device_id"], user=user
    )


async def logout(conn: Connection, *, auth: Auth, caller: Caller) -> None:
    """End this device's session; its tokens stop working on every instance at once."""
    ended = await queries.end_sessions(conn, reason="logout", session_id=caller.session_id)
    await push_devices.signed_out(conn, caller.device_id, reason="logout")
    await auth.revocations.end_sessions(conn, ended)
    await audit.record(
        conn, action="logout", actor_id=caller.user_id, subject=f"device:{caller.device_id}"
    )


async def authenticate(
    auth: Auth, bearer: str, *, also: Callable[[uuid.UUID], Sequence[str]] | None = None
) -> tuple[Caller, list[bytes | None]]:
    """Verify an access token and check that its session and device were not revoked.

    `also(user_id)`: Redis keys a hot route reads on every request, fetched in the revocation
    check's round trip; their values come back with the caller."""
    try:
        claims: AccessClaims = auth.keyring.verify_access(bearer)
        caller = Caller(
            user_id=uuid.UUID(claims.sub),
            role=wire.Role(claims.role),
            org_unit_id=uuid.UUID(claims.org),
            session_id=uuid.UUID(claims.sid),
            device_id=claims.did,
        )
    except (TokenError, ValueError):
        raise InvalidToken() from None
    revoked, values = await auth.revocations.status(
        claims, also=also(caller.user_id) if also else ()
    )
    if revoked == "device":
        raise DeviceRevoked(wipe=True)
    if revoked == "session":
        raise SessionEnded()
    return caller, values


async def _issue_pair(
    conn: Connection,
    *,
    auth: Auth,
    session_id: uuid.UUID,
    device_id: str,
    user: queries.Record | Mapping[str, Any],
) -> wire.TokenPair:
    refresh_token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    await queries.insert_refresh_token(
        conn,
        token_hash=_hash_refresh(refresh_token),
        session_id=session_id,
        ttl_seconds=auth.refresh_ttl_seconds,
    )
    access, _ = auth.keyring.issue_access(
        user_id=user["id"],
        session_id=session_id,
        device_id=device_id,
        role=user["role"],
        org_unit_id=user["org_unit_id"],
        ttl_seconds=auth.access_ttl_seconds,
    )
    return wire.TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=auth.access_ttl_seconds,
        user=wire.UserSummary(
            id=user["id"],
            name=user["name"],
            role=wire.Role(user["role"]),
            org_unit_id=user["org_unit_id"],
        ),
    )


def _hash_refresh(token: str) -> bytes:
    # Refresh tokens carry 256 random bits, so a fast hash is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).digest()


class _CommittedInvalidCredentials(InvalidCredentials):
    commit_changes = True  # keep the audit row of the failed attempt


class _CommittedDeviceRevoked(DeviceRevoked):
    commit_changes = True


class _CommittedDeviceInUse(DeviceInUse):
    commit_changes = True  # keep the audit row of the refusal


# Another user's session on a device counts as in use for this long after its last sign-in or
# refresh (access tokens last 15 minutes, so an app in use refreshes well within it).
IN_USE_SECONDS = 12 * 3600


async def _refuse_a_device_in_use(
    conn: Connection, device_id: str, user_id: uuid.UUID, *, client_ip: str
) -> None:
    """Refuse to sign in on a device someone else is using now: device ids are the apps' own,
    so anyone who learnt a colleague's could otherwise sign them out, again and again, and take
    the device into their own branch. A device left signed in (no refresh for IN_USE_SECONDS)
    may be taken over, as a shared tablet is."""
    if await queries.in_use_by_another(conn, device_id, user_id, within_seconds=IN_USE_SECONDS):
        await audit.record(
            conn,
            action="login_refused",
            actor_id=user_id,
            subject=f"device:{device_id}",
            client_ip=client_ip,
            detail={"reason": "device_in_use"},
        )
        raise _CommittedDeviceInUse(
            "Another user is signed in on this device: they sign out first (or sign in later)"
        )


# ---- the current user ------------------------------------------------------------------------


async def me(conn: Connection, *, caller: Caller) -> wire.Me:
    row = await queries.me(conn, caller.user_id)
    if row is None:
        raise SessionEnded("The user no longer exists or is disabled")
    return wire.Me(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        role=wire.Role(row["role"]),
        org_unit_id=row["org_unit_id"],
        org_unit=wire.OrgUnitRef(id=row["org_unit_id"], name=row["org_unit_name"]),
        device_id=caller.device_id,
    )


# ---- org units -------------------------------------------------------------------------------


async def save_org_unit(
    conn: Connection, *, request: wire.OrgUnitCreate, caller: Caller | None = None
) -> tuple[wire.OrgUnit, bool]:
    """Create an org unit, or rename / move an existing one (with its subtree); (unit, created)."""
    await queries.lock_org_setup(conn)  # two moves at once cannot make a cycle together
    parent = None
    if request.parent_id is not None:
        parent = await queries.org_unit(conn, request.parent_id)
        if parent is None:
            raise NotFound("org_unit")
    existing = await queries.org_unit(conn, request.id) if request.id else None
    if existing is None:
        if parent is None and await queries.root_org_unit(conn) is not None:
            raise _conflict(
                "org_unit.root_exists", "There is already a head office; give parent_id"
            )
        row = await queries.insert_org_unit(
            conn, unit_id=request.id or uuid7(), name=request.name, parent=parent
        )
    else:
        if parent is None and existing["parent_id"] is not None:
            raise _conflict("org_unit.root_exists", "Only the head office has no parent")
        if parent is not None and parent["path"].startswith(existing["path"]):
            raise _conflict("org_unit.cycle", "An org unit cannot move under its own subtree")
        row = await queries.move_and_rename_org_unit(
            conn, unit=existing, name=request.name, parent=parent
        )
    moved = existing is not None and existing["parent_id"] != row["parent_id"]
    await audit.record(
        conn,
        action="org_unit_created" if existing is None else "org_unit_updated",
        actor_id=caller.user_id if caller else None,
        subject=f"org_unit:{row['id']}",
        detail={"parent_id": str(row["parent_id"])} if existing is None or moved else {},
    )
    return _org_unit(row), existing is None


@dataclass(frozen=True, slots=True)
class OrgTreeUnit:
    """An org unit in the admin's tree, with how many users belong to it directly."""

    unit: wire.OrgUnit
    users: int
    active_users: int


async def org_tree(conn: Connection, *, caller: Caller) -> list[OrgTreeUnit]:
    """The caller's subtree, parents first, with each unit's own users counted."""
    counts = {r["org_unit_id"]: r for r in await queries.org_unit_user_counts(conn)}
    return [
        OrgTreeUnit(
            unit=unit,
            users=counts[unit.id]["users"] if unit.id in counts else 0,
            active_users=counts[unit.id]["active_users"] if unit.id in counts else 0,
        )
        for unit in await list_org_units(conn, caller=caller)
    ]


async def list_org_units(conn: Connection, *, caller: Caller) -> list[wire.OrgUnit]:
    rows = await queries.org_units_in_scope(conn, scope_root=caller.scope_root)
    return [_org_unit(r) for r in rows]


def _org_unit(row: queries.Record) -> wire.OrgUnit:
    return wire.OrgUnit(
        id=row["id"], name=row["name"], parent_id=row["parent_id"], depth=row["depth"]
    )


# ---- users -----------------------------------------------------------------------------------


async def save_user(
    conn: Connection, *, auth: Auth, caller: Caller | None, request: wire.UserCreate
) -> tuple[wire.User, bool]:
    """Create a user, or update the one with this id; return (user, created)."""
    if await queries.org_unit(conn, request.org_unit_id) is None:
        raise NotFound("org_unit")
    password_hash = await auth.passwords.hash(request.password)
    fields: dict[str, Any] = dict(
        login=request.login,
        name=request.name,
        role=request.role.value,
        org_unit_id=request.org_unit_id,
        password_hash=password_hash,
    )
    existing = await queries.user_by_id(conn, request.id) if request.id else None
    if existing is None:
        row = await queries.insert_user(conn, user_id=request.id or uuid7(), **fields)
        if row is None:
            raise _conflict("user.login_taken", "Another user already has this login")
        created = True
    else:
        taken = await queries.user_for_login(conn, request.login)
        if taken is not None and taken["id"] != existing["id"]:
            raise _conflict("user.login_taken", "Another user already has this login")
        if request.role is not wire.Role.ADMIN:
            await _keep_an_admin(conn, existing)
        row = await queries.update_user(conn, user_id=existing["id"], **fields)
        created = False
        # Tokens carry role and org unit, and the password changed: sign in again everywhere.
        ended = await queries.end_sessions(conn, reason="user_changed", user_id=existing["id"])
        await push_devices.user_signed_out(conn, existing["id"], reason="user_changed")
        await auth.revocations.end_sessions(conn, ended)
    await audit.record(
        conn,
        action="user_created" if created else "user_updated",
        actor_id=caller.user_id if caller else None,
        subject=f"user:{row['id']}",
        detail={"role": request.role.value},
    )
    return _user(row), created


async def list_users(
    conn: Connection,
    *,
    caller: Caller,
    org_unit_id: uuid.UUID | None,
    after: uuid.UUID | tuple[str, uuid.UUID] | None,
    limit: int,
    q: str | None = None,
    role: wire.Role | None = None,
    active: bool | None = None,
    by_name: bool = False,
) -> list[wire.User]:
    """Users of the caller's subtree (or of one unit's subtree within it), by id or, `by_name`,
    by name; `q` matches part of the login or name in any case."""
    if org_unit_id is not None and not await queries.org_unit_in_scope(
        conn, org_unit_id, scope_root=caller.scope_root
    ):
        raise NotFound("org_unit")
    # A unit inside the caller's scope narrows it to that unit's own subtree.
    root = org_unit_id if org_unit_id is not None else caller.scope_root
    rows = await queries.users_in_subtree(
        conn, root=root, after=after, limit=limit, q=q.strip() if q and q.strip() else None,
        role=role.value if role else None, active=active, by_name=by_name,
    )  # fmt: skip
    return [_user(r) for r in rows]


def _user(row: queries.Record, *, last_seen_at: datetime | None = None) -> wire.User:
    return wire.User(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        role=wire.Role(row["role"]),
        org_unit_id=row["org_unit_id"],
        active=row["active"],
        created_at=row["created_at"],
        last_seen_at=row.get("last_seen_at", last_seen_at),
    )


async def user(conn: Connection, *, user_id: uuid.UUID) -> wire.User:
    """One user, with their last time seen (admins: any user)."""
    row = await queries.user_by_id(conn, user_id)
    if row is None:
        raise NotFound("user")
    return _user(row, last_seen_at=await queries.last_seen(conn, user_id))


async def handover(conn: Connection, *, user_id: uuid.UUID) -> wire.Handover:
    """How many customers the user owns and how many open tasks they have (to hand over)."""
    row = await queries.handover(conn, user_id)
    return wire.Handover(customers=row["customers"], open_tasks=row["open_tasks"])


async def update_user(
    conn: Connection, *, auth: Auth, caller: Caller, user_id: uuid.UUID, request: wire.UserUpdate
) -> wire.UserChanged:
    """Change what `request` gives (never the password). A new role, unit or login ends the
    user's sessions everywhere: their tokens carry role and unit."""
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    given = {
        name: value
        for name in ("login", "name", "role", "org_unit_id")
        if (value := getattr(request, name)) is not msgspec.UNSET
    }
    if "role" in given:
        given["role"] = given["role"].value
    changed = sorted(k for k, v in given.items() if v != existing[k])
    if not changed:
        return wire.UserChanged(user=_user(existing), sessions_ended=0)
    if "org_unit_id" in changed and await queries.org_unit(conn, given["org_unit_id"]) is None:
        raise NotFound("org_unit")
    if "role" in changed and existing["role"] == wire.Role.ADMIN.value:
        await _keep_an_admin(conn, existing)
    fields = {k: given.get(k, existing[k]) for k in ("login", "name", "role", "org_unit_id")}
    taken = await queries.user_for_login(conn, fields["login"])
    if taken is not None and taken["id"] != user_id:
        raise _conflict("user.login_taken", "Another user already has this login")
    row = await queries.change_user(conn, user_id=user_id, **fields)
    if row is None:
        raise _conflict("user.login_taken", "Another user already has this login")
    ended = 0
    if {"login", "role", "org_unit_id"} & set(changed):
        ended = await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    moved = bool({"role", "org_unit_id"} & set(changed))
    await audit.record(
        conn,
        action="user_updated",
        actor_id=caller.user_id,
        subject=f"user:{user_id}",
        detail={"changed": changed, "role": fields["role"], "sessions_ended": ended},
    )
    return wire.UserChanged(
        user=_user(row, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
        handover=await _handover_of_rm(conn, existing) if moved else None,
    )


async def set_user_active(
    conn: Connection, *, auth: Auth, caller: Caller, user_id: uuid.UUID, active: bool
) -> wire.UserChanged:
    """Disable a user (their sessions end at once on every instance and they cannot sign in)
    or enable them again. Disabling oneself, or the last active admin, is refused."""
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    if not active and user_id == caller.user_id:
        raise _conflict("user.cannot_disable_self", "You cannot disable your own account")
    if not active and existing["active"] and existing["role"] == wire.Role.ADMIN.value:
        await _keep_an_admin(conn, existing)
    row = await queries.set_user_active(conn, user_id, active=active)
    ended = 0 if active else await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    if existing["active"] != active:
        await audit.record(
            conn,
            action="user_enabled" if active else "user_disabled",
            actor_id=caller.user_id,
            subject=f"user:{user_id}",
            detail={} if active else {"sessions_ended": ended},
        )
    return wire.UserChanged(
        user=_user(row, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
        handover=None if active else await _handover_of_rm(conn, existing),
    )


async def set_user_password(
    conn: Connection, *, auth: Auth, caller: Caller, user_id: uuid.UUID, password: str
) -> wire.UserChanged:
    """Set the user's password (a forgotten one) and end every session of theirs."""
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    await queries.set_password_hash(conn, user_id, await auth.passwords.hash(password))
    ended = await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    await audit.record(
        conn,
        action="user_password_set",
        actor_id=caller.user_id,
        subject=f"user:{user_id}",
        detail={"sessions_ended": ended},
    )
    return wire.UserChanged(
        user=_user(existing, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
    )


async def _sign_out_everywhere(conn: Connection, *, auth: Auth, user_id: uuid.UUID) -> int:
    """End every session of the user: their tokens stop on every instance once this commits,
    their console sessions with them, and nothing more is pushed to their devices."""
    ended = await queries.end_sessions(conn, reason="user_changed", user_id=user_id)
    await push_devices.user_signed_out(conn, user_id, reason="user_changed")
    await auth.revocations.end_sessions(conn, ended)
    return len(ended)


async def _keep_an_admin(conn: Connection, existing: queries.Record) -> None:
    """Refuse to demote or disable the last active admin (nobody could manage users then)."""
    if existing["role"] != wire.Role.ADMIN.value or not existing["active"]:
        return
    admins = await queries.lock_active_admins(conn)
    if not [a for a in admins if a != existing["id"]]:
        raise _conflict(
            "user.last_admin", "This is the last active admin: make another user admin first"
        )


async def _handover_of_rm(conn: Connection, existing: queries.Record) -> wire.Handover | None:
    """For an RM: their customers and open tasks, still theirs after the change."""
    if existing["role"] != wire.Role.RM.value:
        return None
    return await handover(conn, user_id=existing["id"])


async def ensure_admin(conn: Connection, *, auth: Auth, login: str, password: str) -> bool:
    """Create an admin with this login in the head office unless the login exists (bootstrap)."""
    await queries.lock_org_setup(conn)  # several API processes may start at once
    if await queries.user_for_login(conn, login) is not None:
        return False
    root = await queries.root_org_unit(conn)
    if root is None:
        root = await queries.insert_org_unit(conn, unit_id=uuid7(), name="Head Office", parent=None)
    row = await queries.insert_user(
        conn,
        user_id=uuid7(),
        login=login,
        name="Administrator",
        role=wire.Role.ADMIN.value,
        org_unit_id=root["id"],
        password_hash=await auth.passwords.hash(password),
    )
    if row is not None:
        await audit.record(
            conn, action="admin_bootstrapped", actor_id=None, subject=f"user:{row['id']}"
        )
    return row is not None


# ---- devices ---------------------------------------------------------------------------------


async def revoke_device(
    conn: Connection, *, auth: Auth, caller: Caller, device_id: str
) -> wire.DeviceRevoked:
    """Stop every token of the device at once and tell the app to wipe its offline data."""
    device = await queries.device_in_scope(conn, device_id, scope_root=caller.scope_root)
    if device is None:
        raise NotFound("device")
    revoked_at = await queries.set_device_revoked(conn, device_id, revoked_by=caller.user_id)
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
        detail={"sessions_ended": len(ended)},
    )
    return wire.DeviceRevoked(device_id=device_id, revoked_at=revoked_at, sessions_ended=len(ended))


async def restore_device(
    conn: Connection, *, auth: Auth, caller: Caller, device_id: str
) -> wire.Device:
    """Allow a revoked device to sign in again (old tokens stay dead)."""
    device = await queries.device_in_scope(conn, device_id, scope_root=caller.scope_root)
    if device is None:
        raise NotFound("device")
    await queries.clear_device_revoked(conn, device_id)
    await auth.revocations.restore_device(conn, device_id)
    await audit.record(
        conn, action="device_restored", actor_id=caller.user_id, subject=f"device:{device_id}"
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


def _conflict(code: str, detail: str) -> DomainError:
    error = Conflict(detail)
    error.code = code
    return error

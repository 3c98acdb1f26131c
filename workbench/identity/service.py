"""Rules of identity: sign-in bound to a device, token rotation, revocation, the current user."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    Forbidden,
    InvalidCredentials,
    InvalidToken,
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


class UserDisabled(Forbidden):
    """The user was disabled: the device erases its offline copy of their data (`wipe: true`)
    and signs out. Answered to the tokens of the sessions they held (see
    `queries.WIPES_FOR_DISABLED_USER`) and to a sign-in on a device of theirs, while they stay
    disabled; a 403 with `wipe: true`, like a revoked device, so that apps already in the field
    wipe too."""

    code, title = "auth.user_disabled", "This user was disabled; wipe local data"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "This account was disabled: erase the offline data and sign out",
            wipe=True,
        )


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
    typed = request.login.strip()  # a phone keyboard's space after the word, as the console
    await auth.limiter.count_attempt(login=typed, client_ip=client_ip)
    user = await queries.user_for_login(conn, typed)
    password_ok = await auth.passwords.verify(
        user["password_hash"] if user else None, request.password
    )
    if user is not None and password_ok and not user["active"] and not take_over:
        await _refuse_a_disabled_users_device(
            conn, user["id"], request.device.device_id, client_ip=client_ip
        )
    if user is None or not password_ok or not user["active"]:
        # A login no user has is said to be one (`unknown_login`), never kept as typed: what is
        # typed there may be a password or a customer's phone, and the trail holds no secrets
        # or personal data (it is append-only); a user's own failure names them as the actor.
        tried = {} if user is not None else {"unknown_login": True}
        await audit.record(
            conn,
            action="login_failed",
            actor_id=user["id"] if user else None,
            client_ip=client_ip,
            detail={"reason": "bad_credentials", **tried},
        )
        raise _CommittedInvalidCredentials()
    device_id = request.device.device_id
    device = await queries.device_for_sign_in(
        conn, device_id, user_id=user["id"], platform=request.device.platform.value
    )
    if device["revoked_at"] is not None:
        await audit.record(
            conn,
            action="login_refused",
            actor_id=user["id"],
            subject=f"device:{device_id}",
            client_ip=client_ip,
            detail={"reason": "device_revoked"},
        )
        raise _CommittedDeviceRevoked(wipe=True)
    if device["user_id"] != user["id"] and not take_over:
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
    if device["user_id"] != user["id"]:
        # It changed hands: the copy on it is now this user's, which no old token of the
        # former user may tell it to erase (see `queries.WIPES_FOR_DISABLED_USER`).
        await auth.revocations.device_changed_hands(conn, device_id)
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
    flaky network whose answer was lost retries with the token it still has; an app firing
    several refreshes at once). It gets a new pair and the successors it never received are
    retired, so the session keeps one line of tokens: a retired one is never rotated nor
    retried, and presenting it counts as a reuse, which ends the session."""
    token_hash = _hash_refresh(request.refresh_token)
    row = await queries.refresh_token_for_update(
        conn, token_hash, retry_seconds=auth.refresh_retry_seconds
    )
    if row is None or row["device_id"] != request.device_id:
        raise InvalidToken("Unknown refresh token for this device")
    if row["ended_at"] is not None:
        # Wipe only while the device is revoked now: a session ended by a revocation since
        # undone (`.../restore`) belongs to a device whose offline copy and queue are wanted.
        if row["revoked_at"] is not None:
            raise DeviceRevoked(wipe=True)
        if row["wipes_for_disabled_user"]:
            raise UserDisabled()
        raise SessionEnded()
    if row["retired"] or (row["used_at"] is not None and not row["a_retry"]):
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
    if not row["active"]:  # disabled without ending the session (by hand): still theirs
        raise UserDisabled()
    if row["expired"]:
        raise SessionEnded("The session expired; sign in again")
    await queries.touch_device(conn, row["device_id"])  # the device list's "last seen"
    if row["used_at"] is None:
        await queries.mark_refresh_token_used(conn, row["session_id"], token_hash)
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
    if revoked == "user_disabled":
        raise UserDisabled()
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


class _CommittedUserDisabled(UserDisabled):
    commit_changes = True  # keep the audit row of the refusal


async def _refuse_a_disabled_users_device(
    conn: Connection, user_id: uuid.UUID, device_id: str, *, client_ip: str
) -> None:
    """The right password of a disabled user, on a device that is still theirs (nobody signed
    in on it since): the app may hold their offline copy (signed out, or its session ended
    unnoticed), so it is told to wipe. On any other device the refusal tells nothing."""
    device = await queries.device_for_update(conn, device_id)
    if device is None or device["user_id"] != user_id:
        return
    await audit.record(
        conn,
        action="login_refused",
        actor_id=user_id,
        subject=f"device:{device_id}",
        client_ip=client_ip,
        detail={"reason": "user_disabled"},
    )
    raise _CommittedUserDisabled()


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


def conflict(code: str, detail: str) -> DomainError:
    """A 409 with its own code."""
    error = Conflict(detail)
    error.code = code
    return error

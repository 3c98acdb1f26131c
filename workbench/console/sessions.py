"""Console sign-in and sessions, on top of the identity service.

A browser is a device (`platform: web`): signing in goes through `identity.service.login`, so the
rate limits, the audit trail, device binding and revocation are the app's. The identity session's
tokens are not handed out; the browser gets an opaque random token instead (in a cookie), whose
SHA-256 is stored next to the identity session (`console_sessions`). Every request checks, in
PostgreSQL, that the identity session is open, its device not revoked, its user active, and that
the console session has neither idled (`console_idle_minutes`, sliding) nor outlived its life
(`console_session_hours`). PostgreSQL rather than the Redis revocation cache: the cache keeps an
entry only as long as an access token lives, a console session lives for hours.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec

from mobile_contracts.v1 import identity as wire
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.console import queries
from workbench.console.nav import ROLE_LABELS, STAFF_ROLES
from workbench.db import Connection
from workbench.errors import Forbidden, InvalidCredentials
from workbench.identity import queries as identity_queries
from workbench.identity import service as identity

STALE_PURGE_LIMIT = 100  # expired console sessions removed per sign-in


class Ended(enum.StrEnum):
    """Why a console session cookie no longer signs anyone in."""

    UNKNOWN = "unknown"  # no such session (signed out, or never existed)
    IDLE = "idle"
    EXPIRED = "expired"
    SESSION_ENDED = "session_ended"  # signed out elsewhere, replaced, user changed
    DEVICE_REVOKED = "device_revoked"
    USER_DISABLED = "user_disabled"


class AccountDisabled(Forbidden):
    """The right password of a disabled user (a wrong one reads as wrong credentials)."""

    code = "auth.user_disabled"


class NotForConsole(Forbidden):
    """A relationship manager: the console is not theirs (they signed in, and out at once)."""

    code = "console.role_refused"


@dataclass(frozen=True, slots=True)
class StaffUser:
    login: str
    name: str
    role: wire.Role
    org_unit_name: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live console session, as a request sees it."""

    token: str  # the cookie's value (the CSRF token derives from it); never stored
    caller: Caller
    user: StaffUser
    signed_in_at: datetime
    expires_at: datetime
    idle_minutes: int


def token_hash(token: str) -> bytes:
    # 256 random bits: a fast hash is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def sign_in(
    conn: Connection,
    *,
    auth: identity.Auth,
    login: str,
    password: str,
    device_id: str,
    model: str | None,
    client_ip: str,
    lifetime_seconds: int,
) -> str:
    """Sign in on this browser; the new console session's token (for the cookie).

    Raises what `identity.service.login` raises (InvalidCredentials, RateLimited,
    DeviceRevoked), AccountDisabled for the right password of a disabled user, and
    NotForConsole for a relationship manager (whose session is ended again at once)."""
    try:
        request = msgspec.convert(
            {
                "login": login,
                "password": password,
                "device": {"device_id": device_id, "platform": "web", "model": model},
            },
            wire.LoginRequest,
        )
    except msgspec.ValidationError:
        raise InvalidCredentials() from None  # no such login can exist
    try:
        # The device id is this browser's own HttpOnly cookie: whoever signs in here holds it.
        pair = await identity.login(
            conn, auth=auth, request=request, client_ip=client_ip, take_over=True
        )
    except InvalidCredentials:
        if await _disabled_with_this_password(conn, auth=auth, login=login, password=password):
            raise AccountDisabled("This user is disabled") from None
        raise
    claims = auth.keyring.verify_access(pair.access_token)  # our own token: for its session id
    caller = Caller(
        user_id=pair.user.id,
        role=pair.user.role,
        org_unit_id=pair.user.org_unit_id,
        session_id=uuid.UUID(claims.sid),
        device_id=claims.did,
    )
    if caller.role not in STAFF_ROLES:
        await identity.logout(conn, auth=auth, caller=caller)
        raise NotForConsole("Relationship managers use the app")
    await _purge_stale(conn, auth=auth, device_id=device_id)
    token = new_token()
    await queries.insert_session(
        conn,
        token_hash=token_hash(token),
        session_id=caller.session_id,
        lifetime_seconds=lifetime_seconds,
    )
    return token


async def resume(
    conn: Connection, *, auth: identity.Auth, token: str, idle_minutes: int
) -> ConsoleSession | Ended:
    """The session of a cookie, its idle timeout started again; or why it ended. An ended one
    is removed (and its identity session ended, when it timed out): commit either way."""
    hashed = token_hash(token)
    row = await queries.session_for_token(conn, hashed, idle_seconds=idle_minutes * 60)
    if row is None:
        return Ended.UNKNOWN
    ended = (
        Ended.DEVICE_REVOKED
        if row["revoked_at"] is not None
        else Ended.USER_DISABLED
        if not row["active"]
        else Ended.SESSION_ENDED
        if row["ended_at"] is not None
        else Ended.EXPIRED
        if row["expired"]
        else Ended.IDLE
        if row["idle"]
        else None
    )
    if ended is not None:
        await queries.delete_session(conn, hashed)
        if ended in (Ended.IDLE, Ended.EXPIRED):
            await _end_identity_session(
                conn,
                auth=auth,
                session_id=row["session_id"],
                reason="idle_timeout" if ended is Ended.IDLE else "expired",
                user_id=row["user_id"],
                device_id=row["device_id"],
            )
        return ended
    await queries.touch_session(conn, hashed, device_id=row["device_id"])
    return ConsoleSession(
        token=token,
        caller=Caller(
            user_id=row["user_id"],
            role=wire.Role(row["role"]),
            org_unit_id=row["org_unit_id"],
            session_id=row["session_id"],
            device_id=row["device_id"],
        ),
        user=StaffUser(
            login=row["login"],
            name=row["name"],
            role=wire.Role(row["role"]),
            org_unit_name=row["org_unit_name"],
        ),
        signed_in_at=row["created_at"],
        expires_at=row["expires_at"],
        idle_minutes=idle_minutes,
    )


async def sign_out(conn: Connection, *, auth: identity.Auth, session: ConsoleSession) -> None:
    """End the identity session (exactly as an app's logout) and the console session."""
    await identity.logout(conn, auth=auth, caller=session.caller)
    await queries.delete_session(conn, token_hash(session.token))


async def _disabled_with_this_password(
    conn: Connection, *, auth: identity.Auth, login: str, password: str
) -> bool:
    user = await identity_queries.user_for_login(conn, login)
    if user is None or user["active"]:
        return False
    return await auth.passwords.verify(user["password_hash"], password)


async def _purge_stale(conn: Connection, *, auth: identity.Auth, device_id: str) -> None:
    """Console sessions nobody can use any more: those of this browser's ended identity
    sessions (a sign-in replaces the previous one), and some that outlived their lifetime
    without a request (a closed browser), whose identity sessions end as expired."""
    removed = await queries.delete_stale_sessions(
        conn, device_id=device_id, limit=STALE_PURGE_LIMIT
    )
    still_open = [r["session_id"] for r in removed if r["open"]]
    for session_id in still_open:
        ended = await identity_queries.end_sessions(conn, reason="expired", session_id=session_id)
        await auth.revocations.end_sessions(conn, ended)


async def _end_identity_session(
    conn: Connection,
    *,
    auth: identity.Auth,
    session_id: uuid.UUID,
    reason: str,
    user_id: uuid.UUID,
    device_id: str,
) -> None:
    ended = await identity_queries.end_sessions(conn, reason=reason, session_id=session_id)
    await auth.revocations.end_sessions(conn, ended)
    await audit.record(
        conn,
        action="console_session_timeout",
        actor_id=user_id,
        subject=f"device:{device_id}",
        detail={"reason": reason},
    )

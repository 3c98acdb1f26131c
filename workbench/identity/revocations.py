"""Ended sessions and revoked devices, shared by every API instance through Redis.

PostgreSQL is the record (sessions.ended_at, devices.revoked_at); Redis is a cache that answers
the per-request question "is this access token still good?" without a database round trip.
Entries live as long as an access token issued before the revocation could still be valid.

A cache must never turn "unknown" into "allowed": Redis that restarted empty, or was flushed,
knows no revocation at all. So the cache is only trusted while its completeness marker
(`revoked:complete`) is present. The marker is written, together with every revocation that
still matters, by a rebuild from PostgreSQL; without it a request asks PostgreSQL itself and
starts the rebuild. Each revocation is written to Redis twice: inside the transaction (if Redis
is down, the revocation answers 503 and changes nothing) and again after the commit (so a
rebuild that read PostgreSQL just before the commit cannot leave it out).

A session entry holds why its tokens stop: `1` (ended: sign in again) or USER_DISABLED (its user
was disabled: the device is told to erase its offline copy, see
`queries.WIPES_FOR_DISABLED_USER`), so that answer too needs no database round trip. It follows
that rule as things change: enabling the user again, or another user signing in on the device,
writes `1` over it.

Ended sessions are also announced, with each write, on `revoked:ended` (their ids): what holds a
session open for long, a `GET /sync/events` stream on any instance, ends it at once
(`SessionWatch`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from workbench.db import Connection, Pool, after_commit
from workbench.errors import ServiceUnavailable
from workbench.identity import queries
from workbench.redis import Redis, redis_required
from workbench.security.tokens import CLOCK_SKEW_SECONDS, AccessClaims

log = logging.getLogger("workbench.identity.revocations")

# Mark every given key with ARGV[2] for ARGV[1] seconds and announce ARGV[4] on channel ARGV[3],
# in one atomic round trip.
_MARK_ALL = """
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[2], 'EX', ARGV[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return #KEYS
"""
# A rebuild: KEYS[1] is the completeness marker, KEYS[2..] the entries; ARGV holds each entry's
# value and seconds to live, in pairs, then the marker's value. All or nothing, in one step.
_REBUILD = """
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 3], 'EX', ARGV[2 * i - 2])
end
redis.call('SET', KEYS[1], ARGV[#ARGV])
return #KEYS - 1
"""
REBUILD_LOCK_SECONDS = 30
# A session entry's value when its user was disabled: its device is told to wipe.
USER_DISABLED = b"user_disabled"


class Revocations:
    def __init__(self, redis: Redis, pool: Pool, *, prefix: str, access_ttl_seconds: int) -> None:
        self._redis = redis
        self._pool = pool
        self._prefix = prefix
        self._ttl = access_ttl_seconds + CLOCK_SKEW_SECONDS + 5
        self._mark_all = redis.register_script(_MARK_ALL)
        self._rebuild_script = redis.register_script(_REBUILD)
        self.complete_key = f"{prefix}revoked:complete"
        # Where ended sessions are announced: their ids, separated by spaces.
        self.ended_channel = f"{prefix}revoked:ended"
        self._lock_key = f"{prefix}revoked:rebuilding"

    def _session_key(self, session_id: uuid.UUID | str) -> str:
        return f"{self._prefix}revoked:session:{session_id}"

    def _device_key(self, device_id: str) -> str:
        return f"{self._prefix}revoked:device:{device_id}"

    async def end_sessions(
        self, conn: Connection, session_ids: Iterable[uuid.UUID], *, wipe: bool = False
    ) -> None:
        """The sessions' tokens stop working on every instance once `conn` commits; `wipe`:
        their devices are told to erase their offline copy (a disabled user)."""
        ids = [str(sid) for sid in session_ids]
        if not ids:
            return
        keys = [self._session_key(sid) for sid in ids]
        value = USER_DISABLED.decode() if wipe else "1"

        async def mark() -> None:
            await self._mark_all(
                keys=keys, args=[self._ttl, value, self.ended_channel, " ".join(ids)]
            )

        async with redis_required("end the session"):
            await mark()
        after_commit(conn, mark)

    async def user_disabled(self, conn: Connection, user_id: uuid.UUID, *, disabled: bool) -> None:
        """The user was disabled (`disabled`) or enabled again in this transaction: the tokens
        of their sessions ended by a change to them, on devices still theirs, tell the device
        to wipe while they stay disabled; once they are enabled, every such session's tokens
        (a device that changed hands since included) only ask to sign in again."""
        ended = await queries.sessions_ended_by_user_change(
            conn, user_id, within_seconds=self._ttl, only_on_their_devices=disabled
        )
        await self.end_sessions(conn, ended, wipe=disabled)

    async def device_changed_hands(self, conn: Connection, device_id: str) -> None:
        """Another user signed in on the device in this transaction: it holds their copy now,
        which the tokens of a disabled former user's sessions on it no longer tell it to erase
        (they only ask to sign in again)."""
        ended = await queries.former_users_sessions_ended_by_user_change(
            conn, device_id, within_seconds=self._ttl
        )
        await self.end_sessions(conn, ended)

    async def revoke_device(self, conn: Connection, device_id: str) -> None:
        """Every token of the device issued up to now stops working on every instance."""

        async def mark() -> None:
            await self._redis.set(self._device_key(device_id), str(int(time.time())), ex=self._ttl)

        async with redis_required("revoke the device"):
            await mark()
        after_commit(conn, mark)

    async def restore_device(self, conn: Connection, device_id: str) -> None:
        """New sign-ins on the device work again; its old sessions stay ended."""

        async def unmark() -> None:
            await self._redis.delete(self._device_key(device_id))

        async with redis_required("restore the device"):
            await unmark()
        after_commit(conn, unmark)

    async def status(
        self, claims: AccessClaims, *, also: Sequence[str] = ()
    ) -> tuple[str | None, list[bytes | None]]:
        """'session', 'user_disabled' or 'device' when the token was revoked, None when it is
        still good; and the values of the `also` keys, read in the same round trip (a hot
        route's own state)."""
        return await self.status_of(claims.sid, claims.did, claims.iat, also=also)

    def watch(self, session_id: uuid.UUID, device_id: str) -> SessionWatch:
        """What tells whether a session, open now, has ended since (for a long-lived stream)."""
        return SessionWatch(self, str(session_id), device_id, int(time.time()))

    async def status_of(
        self, session_id: str, device_id: str, issued_at: int, *, also: Sequence[str] = ()
    ) -> tuple[str | None, list[bytes | None]]:
        """`status` of a token of that session and device issued at `issued_at` (epoch s)."""
        async with redis_required("check the session"):
            complete, session_flag, device_since, *values = await self._redis.mget(
                self.complete_key,
                self._session_key(session_id),
                self._device_key(device_id),
                *also,
            )
        if complete is None:
            return await self._status_from_database(session_id), values
        # The device verdict wins: it is the one that tells the app to wipe its offline data.
        if device_since is not None and issued_at <= int(device_since):
            return "device", values
        if session_flag == USER_DISABLED:  # it too tells the app to wipe
            return "user_disabled", values
        if session_flag is not None:
            return "session", values
        return None, values

    async def _status_from_database(self, session_id: str) -> str | None:
        """Redis lost its revocations: PostgreSQL answers, and the cache is rebuilt."""
        try:
            async with self._pool.acquire() as conn:
                row = await queries.token_revocation(conn, uuid.UUID(session_id))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ServiceUnavailable("Cannot check the session right now") from exc
        await self.rebuild()
        if row is None or row["device_revoked"]:
            # No tokens are issued while a device is revoked: all of its tokens are older.
            return "device" if row is not None else "session"
        if row["user_disabled"]:
            return "user_disabled"
        return "session" if row["ended"] else None

    async def rebuild(self) -> int | None:
        """Load every revocation that still matters from PostgreSQL, then mark the cache complete.
        One instance at a time; None when another is already at it. Returns the entries written."""
        async with redis_required("check the session"):
            if not await self._redis.set(self._lock_key, "1", nx=True, ex=REBUILD_LOCK_SECONDS):
                return None
            try:
                async with self._pool.acquire() as conn:
                    rows = await queries.recent_revocations(conn, within_seconds=self._ttl)
                keys, args = [self.complete_key], []
                now = int(time.time())
                for row in rows:
                    keys.append(
                        self._session_key(row["key"])
                        if row["kind"] == "session"
                        else self._device_key(row["key"])
                    )
                    if row["kind"] == "device":
                        value = str(now)
                    else:
                        value = USER_DISABLED.decode() if row["wipe"] else "1"
                    args += [value, row["ttl"]]
                written: int = await self._rebuild_script(keys=keys, args=[*args, str(now)])
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("revocations: rebuild from PostgreSQL failed; will retry")
                return None
            finally:
                await self._redis.delete(self._lock_key)
        log.info("revocations: cache rebuilt from PostgreSQL", extra={"entries": written})
        return written


class SessionWatch:
    """A session open when the watch began (`Revocations.watch`): whether it has ended since,
    and where its end is announced (`sync.events.Hub` holds a stream open while it lasts)."""

    def __init__(
        self, revocations: Revocations, session_id: str, device_id: str, since: int
    ) -> None:
        self._revocations = revocations
        self.session_id = session_id
        self.channel = revocations.ended_channel
        self._device_id = device_id
        self._since = since  # its tokens were issued by then: a revocation since stops them

    async def ended(self) -> bool:
        """Whether the session ended (signed out, replaced, its user changed or disabled) or its
        device was revoked; ServiceUnavailable when that cannot be known now."""
        verdict, _ = await self._revocations.status_of(
            self.session_id, self._device_id, self._since
        )
        return verdict is not None

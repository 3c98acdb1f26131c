"""Ended sessions and revoked devices, shared by every API instance through Redis.

PostgreSQL stays the record (sessions.ended_at, devices.revoked_at); Redis answers the per-request
question "is this access token still good?" without a database round trip. Entries live as long as
an access token issued before the revocation could still be valid.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence

from workbench.redis import Redis, redis_required
from workbench.security.tokens import CLOCK_SKEW_SECONDS, AccessClaims

# Mark every given key with ARGV[2] for ARGV[1] seconds, in one atomic round trip.
_MARK_ALL = """
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[2], 'EX', ARGV[1]) end
return #KEYS
"""


class Revocations:
    def __init__(self, redis: Redis, *, prefix: str, access_ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = access_ttl_seconds + CLOCK_SKEW_SECONDS + 5
        self._mark_all = redis.register_script(_MARK_ALL)

    def _session_key(self, session_id: uuid.UUID | str) -> str:
        return f"{self._prefix}revoked:session:{session_id}"

    def _device_key(self, device_id: str) -> str:
        return f"{self._prefix}revoked:device:{device_id}"

    async def end_sessions(self, session_ids: Iterable[uuid.UUID]) -> None:
        ids = list(session_ids)
        if not ids:
            return
        async with redis_required("end the session"):
            await self._mark_all(keys=[self._session_key(sid) for sid in ids], args=[self._ttl, 1])

    async def revoke_device(self, device_id: str) -> None:
        """Every token of the device issued up to now stops working on every instance."""
        async with redis_required("revoke the device"):
            await self._redis.set(self._device_key(device_id), str(int(time.time())), ex=self._ttl)

    async def restore_device(self, device_id: str) -> None:
        """New sign-ins on the device work again; its old sessions stay ended."""
        async with redis_required("restore the device"):
            await self._redis.delete(self._device_key(device_id))

    async def status(
        self, claims: AccessClaims, *, also: Sequence[str] = ()
    ) -> tuple[str | None, list[bytes | None]]:
        """'session' or 'device' when the token was revoked, None when it is still good; and
        the values of the `also` keys, read in the same round trip (a hot route's own state)."""
        async with redis_required("check the session"):
            session_flag, device_since, *values = await self._redis.mget(
                self._session_key(claims.sid), self._device_key(claims.did), *also
            )
        # The device verdict wins: it is the one that tells the app to wipe its offline data.
        if device_since is not None and claims.iat <= int(device_since):
            return "device", values
        if session_flag is not None:
            return "session", values
        return None, values

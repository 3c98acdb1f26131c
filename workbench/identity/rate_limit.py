"""Login attempt limits per login and per client IP, counted in Redis across all instances.

Every attempt is counted before the password is checked (a limited login or address is refused
even with the right password); a successful one is then taken back off its address's count and
clears its login's: the limits count failures, so the staff of a branch behind one address (a
bank's NAT or VPN) signing in all morning never lock each other out.

Anyone who knows a login can lock it for the window by guessing: `locked_for` tells an admin
how long a login stays locked, and `unlock` (an admin, or a new password) lifts it at once,
leaving the addresses' counts alone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from workbench.errors import RateLimited
from workbench.redis import Redis, redis_required

# Count one attempt on each key (a fixed window starting at its first attempt) and answer, per
# key, the count so far and the seconds left in its window. One round trip, atomic.
_COUNT_ATTEMPT = """
local out = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
    local ttl = redis.call('TTL', key)
    if ttl < 0 then redis.call('EXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
    out[#out + 1] = count
    out[#out + 1] = ttl
end
return out
"""

# A successful sign-in: clear the login's counter and take this attempt off the address's
# (unless its window ended meanwhile: the key is gone and nothing is counted any more).
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
"""

# A login's lock, read at once: its failures so far and the seconds left in its window.
_LOGIN_STATE = """
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1])}
"""

# Lift a login's lock: its failures so far (then gone). One round trip, atomic.
_UNLOCK = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('DEL', KEYS[1])
return count
"""


class LoginLimiter:
    """Fixed-window counters of failed attempts (each attempt counts until it succeeds)."""

    def __init__(
        self, redis: Redis, *, prefix: str, per_login: int, per_ip: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._per_login = per_login
        self._per_ip = per_ip
        self._window = window_seconds
        self._count = redis.register_script(_COUNT_ATTEMPT)
        self._succeeded = redis.register_script(_SUCCEEDED)
        self._login_state = redis.register_script(_LOGIN_STATE)
        self._unlock = redis.register_script(_UNLOCK)

    def _login_key(self, login: str) -> str:
        digest = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
        return f"{self._prefix}login-attempts:login:{digest}"

    def _ip_key(self, client_ip: str) -> str:
        return f"{self._prefix}login-attempts:ip:{client_ip}"

    async def count_attempt(self, *, login: str, client_ip: str) -> None:
        """Count this attempt; raise RateLimited (429) if either limit is exceeded."""
        keys = [(self._login_key(login), self._per_login), (self._ip_key(client_ip), self._per_ip)]
        async with redis_required("check sign-in attempts"):
            replies = await self._count(keys=[key for key, _ in keys], args=[self._window])
        for i, (_, limit) in enumerate(keys):
            count, ttl = int(replies[2 * i]), int(replies[2 * i + 1])
            if count > limit:
                raise RateLimited(retry_after=max(int(ttl), 1))

    async def succeeded(self, *, login: str, client_ip: str) -> None:
        """The attempt counted for this login and address signed in: it no longer counts."""
        async with redis_required("record the sign-in"):
            await self._succeeded(keys=[self._login_key(login), self._ip_key(client_ip)])

    async def locked_for(self, login: str) -> int:
        """Seconds until this login may sign in again (0: it is not locked): its failures in
        the window reached the limit, so its next attempt would be refused."""
        async with redis_required("read the sign-in lock"):
            count, ttl = await self._login_state(keys=[self._login_key(login)])
        if int(count) < self._per_login:
            return 0
        # A counter without an expiry (`count_attempt` never leaves one so): a whole window.
        return self._window if int(ttl) < 0 else max(int(ttl), 1)

    async def locked_logins(self, logins: Sequence[str]) -> set[str]:
        """Those of these logins locked now (a list's marks), in one round trip."""
        if not logins:
            return set()
        async with redis_required("read the sign-in locks"):
            counts = await self._redis.mget([self._login_key(login) for login in logins])
        return {
            login
            for login, count in zip(logins, counts, strict=True)
            if count is not None and int(count) >= self._per_login
        }

    async def unlock(self, login: str) -> bool:
        """Forget this login's failed attempts: it may sign in at once (the addresses' counts
        stay). Whether it was locked."""
        async with redis_required("lift the sign-in lock"):
            count = await self._unlock(keys=[self._login_key(login)])
        return int(count) >= self._per_login

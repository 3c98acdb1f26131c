"""Login attempt limits per login and per client IP, counted in Redis across all instances.

Every attempt is counted before the password is checked (a limited login or address is refused
even with the right password); a successful one is then taken back off its address's count and
clears its login's: the limits count failures, so the staff of a branch behind one address (a
bank's NAT or VPN) signing in all morning never lock each other out."""

from __future__ import annotations

import hashlib

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

"""Login attempt limits per login and per client IP, counted in Redis across all instances."""

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


class LoginLimiter:
    """Fixed-window counters; a successful login clears its login's counter."""

    def __init__(
        self, redis: Redis, *, prefix: str, per_login: int, per_ip: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._per_login = per_login
        self._per_ip = per_ip
        self._window = window_seconds
        self._count = redis.register_script(_COUNT_ATTEMPT)

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

    async def clear_login(self, login: str) -> None:
        async with redis_required("record the sign-in"):
            await self._redis.delete(self._login_key(login))

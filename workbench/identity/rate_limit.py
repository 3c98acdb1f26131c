"""Login attempt limits per login and per client IP, counted in Redis across all instances."""

from __future__ import annotations

import hashlib

from workbench.errors import RateLimited
from workbench.redis import Redis, redis_required


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

    def _login_key(self, login: str) -> str:
        digest = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
        return f"{self._prefix}login-attempts:login:{digest}"

    def _ip_key(self, client_ip: str) -> str:
        return f"{self._prefix}login-attempts:ip:{client_ip}"

    async def count_attempt(self, *, login: str, client_ip: str) -> None:
        """Count this attempt; raise RateLimited (429) if either limit is exceeded."""
        keys = [(self._login_key(login), self._per_login), (self._ip_key(client_ip), self._per_ip)]
        async with redis_required("check sign-in attempts"):
            pipe = self._redis.pipeline(transaction=True)
            for key, _ in keys:
                pipe.set(key, 0, ex=self._window, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
            replies = await pipe.execute()
        for i, (_, limit) in enumerate(keys):
            count, ttl = replies[3 * i + 1], replies[3 * i + 2]
            if count > limit:
                raise RateLimited(retry_after=max(int(ttl), 1))

    async def clear_login(self, login: str) -> None:
        async with redis_required("record the sign-in"):
            await self._redis.delete(self._login_key(login))

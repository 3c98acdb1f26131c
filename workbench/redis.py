"""Redis client creation and the one place Redis failures become 503 answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from workbench.errors import ServiceUnavailable

Redis = aioredis.Redis


def create_redis(url: str) -> Redis:
    """A client with short timeouts: a stuck Redis must fail requests fast, not hang them."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )


@asynccontextmanager
async def redis_required(what: str) -> AsyncIterator[None]:
    """Turn a Redis failure into 503: security checks never assume the happy answer."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(f"Cannot {what} right now; try again shortly") from exc

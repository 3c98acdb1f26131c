"""The one place Redis failures become 503 answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from workbench.errors import ServiceUnavailable

__all__ = ["Redis", "redis_required"]


@asynccontextmanager
async def redis_required(what: str) -> AsyncIterator[None]:
    """Turn a Redis failure into 503: security checks never assume the happy answer."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(f"Cannot {what} right now; try again shortly") from exc

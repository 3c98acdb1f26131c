"""The one place Redis failures become 503 answers; commands of thousands of arguments."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from workbench.errors import ServiceUnavailable

__all__ = ["Redis", "call_packed", "call_packed_many", "redis_required"]
log = logging.getLogger("workbench.redis")


@asynccontextmanager
async def redis_required(what: str) -> AsyncIterator[None]:
    """Turn a Redis failure into 503: security checks never assume the happy answer."""
    try:
        yield
    except (RedisError, OSError) as exc:
        # One line per refused request naming the cause (the error's kind, never its text: it
        # may quote a key), as a database outage is logged: the access log alone said only 503.
        log.warning("Redis unavailable", extra={"need": what, "error": type(exc).__name__})
        raise ServiceUnavailable(f"Cannot {what} right now; try again shortly") from exc


async def call_packed(redis: Redis, *args: str | bytes | int) -> Any:
    """One command on `redis`'s connections, packed by hiredis (in C) rather than by redis-py
    (in Python: ~0.9 us an argument against ~0.14), for commands of thousands of arguments
    (the beacon worker's XACK of a batch). The answer as Redis sent it (no response callback);
    an error answer is raised (`ResponseError`)."""
    [answer] = await call_packed_many(redis, [args])
    if isinstance(answer, ResponseError):
        raise answer
    return answer


async def call_packed_many(
    redis: Redis, commands: Sequence[tuple[str | bytes | int, ...]]
) -> list[Any]:
    """Several commands in one round trip on one of `redis`'s connections, each packed by hiredis;
    their answers in order as Redis sent them, an error answer as its `ResponseError` in its
    place. A failure to send or to read raises (redis-py then drops the connection: never
    half-read)."""
    packed = b"".join(hiredis.pack_command(command) for command in commands)  # type: ignore[arg-type]
    pool = redis.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_packed_command(packed)
        answers: list[Any] = []
        for _ in commands:
            try:
                answers.append(await connection.read_response())
            except ResponseError as exc:  # read whole: the next answer follows
                answers.append(exc)
        return answers
    finally:
        await pool.release(connection)

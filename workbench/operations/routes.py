"""Liveness, readiness and metrics for the load balancer and Prometheus."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from redis.exceptions import RedisError

from workbench.http.auth import PUBLIC
from workbench.operations import queries
from workbench.operations.metrics import Metrics


@get(
    "/healthz",
    operation_id="healthz",
    opt={PUBLIC: True},
    tags=["operations"],
    include_in_schema=True,
)
async def healthz() -> dict[str, str]:
    """Liveness probe: the process is up."""
    return {"status": "ok"}


@get(
    "/readyz",
    operation_id="readyz",
    opt={PUBLIC: True},
    tags=["operations"],
    responses={
        503: ResponseSpec(
            data_container=dict[str, Any],
            description="Not ready: `checks` names what does not answer, e.g. "
            '`{"status": "not_ready", "checks": {"database": "ok", "redis": "unreachable"}}`',
            generate_examples=False,
        )
    },
)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness probe: PostgreSQL and Redis both answer.

    Otherwise 503, naming the one that does not.
    """
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(queries.database_answers(state.pool), timeout=3)
        checks["database"] = "ok"
    except Exception:  # any failure at all means not ready
        checks["database"] = "unreachable"
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=3)
        checks["redis"] = "ok"
    except (RedisError, OSError, TimeoutError):
        checks["redis"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@get(
    "/metrics",
    operation_id="metrics",
    opt={PUBLIC: True},
    tags=["operations"],
    media_type="text/plain; version=0.0.4",
)
async def metrics(request: Request[Any, Any, Any]) -> bytes:
    """Prometheus metrics of this process (text exposition format)."""
    metrics: Metrics = request.app.state.metrics
    return metrics.render()


ROUTES = [healthz, readyz, metrics]

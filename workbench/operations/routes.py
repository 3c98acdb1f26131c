"""Liveness, readiness and metrics for the load balancer and Prometheus."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from redis.exceptions import RedisError

from workbench.http.auth import ANY_APP_VERSION, PUBLIC
from workbench.http.client_ip import in_networks, is_address, relayed_clients
from workbench.operations import queries
from workbench.operations.metrics import Metrics


@get(
    "/healthz",
    operation_id="healthz",
    opt={PUBLIC: True, ANY_APP_VERSION: True},
    tags=["operations"],
    include_in_schema=True,
)
async def healthz() -> dict[str, str]:
    """Liveness probe: the process is up."""
    return {"status": "ok"}


@get(
    "/readyz",
    operation_id="readyz",
    opt={PUBLIC: True, ANY_APP_VERSION: True},
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
    opt={PUBLIC: True, ANY_APP_VERSION: True},
    tags=["operations"],
    media_type="text/plain; version=0.0.4",
)
async def metrics(request: Request[Any, Any, Any]) -> bytes:
    """Prometheus metrics of this process (text exposition format).

    Only for `WORKBENCH_METRICS_FROM` (loopback and private networks by default; anyone else
    404): the API's port also serves the customers' pages, and the counters tell an outsider
    the bank's traffic, its sign-in failures and any probing. A request relayed by a proxy that
    is not in `WORKBENCH_TRUSTED_PROXIES` is refused, as its client cannot be known; one relayed
    by a trusted proxy is judged by every client its relay headers name.
    """
    state = request.app.state
    if not metrics_allowed(request.scope, state.trusted_networks, state.metrics_networks):
        raise NotFoundException()
    metrics: Metrics = state.metrics
    return metrics.render()


def metrics_allowed(scope: Any, trusted: tuple[Any, ...], allowed: tuple[Any, ...]) -> bool:
    """Whether the request's client may read the metrics: from an allowed network, or over a
    local connection with no address (a Unix socket, an in-process client) and not relayed.

    Any relay header counts (X-Forwarded-For, Forwarded, X-Real-IP, a CDN's, or one that names no
    client such as Via): only a trusted proxy may relay, and every client its headers name must
    be allowed; a relay that names none is refused, as its client cannot be known."""
    named = relayed_clients(scope, trusted)
    peer = (scope.get("client") or ("", 0))[0]
    if not is_address(peer):
        return not named
    if named and not in_networks(peer, trusted):
        return False
    return all(in_networks(client, allowed) for client in named or [peer])


ROUTES = [healthz, readyz, metrics]

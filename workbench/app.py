"""The one wiring point: `create_app(settings)` builds the Litestar application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from redis.asyncio import ConnectionPool

from push import routes as push_routes
from sync import routes as sync_routes
from sync.cursor import Signer
from sync.events import Hub
from sync.packages import routes as package_routes
from sync.pull import Puller
from sync.signals import Signals
from workbench import migrate
from workbench.access.guards import current_caller
from workbench.audit import routes as audit_routes
from workbench.brochures import routes as brochure_routes
from workbench.console import rendering as console_rendering
from workbench.console import routes as console_routes
from workbench.customers import routes as customer_routes
from workbench.db import create_pool, provide_db
from workbench.funnels import routes as funnel_routes
from workbench.http import openapi as api_docs
from workbench.http.auth import CONSOLE, check_request
from workbench.http.client_ip import parse_networks
from workbench.http.empty_filters import empty_query_values_dropped
from workbench.http.guessing import LinkGuesses, link_guessing_limit
from workbench.http.head import AutomaticHead, without_body
from workbench.http.input_checks import refuse_unstorable_input
from workbench.http.list_route import cursors_name_their_list
from workbench.http.middleware import (
    add_request_id_header,
    add_safety_headers,
    request_context_middleware,
)
from workbench.http.options import AutomaticOptions
from workbench.http.problems import EXCEPTION_HANDLERS
from workbench.identity import routes as identity_routes
from workbench.identity import service as identity
from workbench.identity import staff
from workbench.identity.rate_limit import LoginLimiter
from workbench.identity.revocations import Revocations
from workbench.media import routes as media_routes
from workbench.media.signing import MediaSigner
from workbench.media.store import blob_store_from_settings
from workbench.notifications import routes as notification_routes
from workbench.operations import routes as operations_routes
from workbench.operations.metrics import Metrics
from workbench.public import confirmation as confirmation_page
from workbench.public import pages as public_pages
from workbench.public import survey_page
from workbench.public import verification as verification_page
from workbench.security.passwords import Passwords
from workbench.security.tokens import Keyring
from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.shares import routes as share_routes
from workbench.surveys import routes as survey_routes
from workbench.tasks import routes as task_routes
from workbench.tracking import beacons
from workbench.tracking import routes as tracking_routes
from workbench.workorders import routes as workorder_routes
from workbench.workorders import sla

API_VERSION = "1.0.0"
log = logging.getLogger("workbench")


def create_redis_client(settings: Settings) -> ArqRedis:
    """One Redis client for revocations, limits and the arq queue; short timeouts."""
    timeout = settings.redis_timeout_ms / 1000
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
    return ArqRedis(connection_pool=pool, default_queue_name=f"{settings.redis_prefix}queue")


async def prepare_database(settings: Settings) -> None:
    """What the API's start needs of the database: migrations applied (or, without
    WORKBENCH_MIGRATE_ON_START, none pending). `workbench serve` runs it before serving too, so that
    a database it cannot use stops it with one line rather than a failed start in each process."""
    if settings.migrate_on_start:
        await migrate.migrate(settings.database_url)
    elif pending := await migrate.pending(settings.database_url):
        raise migrate.MigrationError(
            f"{len(pending)} migration(s) pending; run `workbench migrate` first"
        )


def create_app(settings: Settings) -> Litestar:
    """Build the API. Nothing connects until the lifespan starts."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Work orders opened here (survey answers, rules applied inline) count the bank's days.
        sla.use_calendar(settings.work_calendar)
        await prepare_database(settings)
        pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
        redis = create_redis_client(settings)
        app.state.pool = pool
        app.state.redis = redis
        app.state.beacon_door = beacons.Door(redis, settings.redis_prefix)
        app.state.link_guesses = LinkGuesses(
            redis,
            prefix=settings.redis_prefix,
            limit=settings.link_guess_limit,
            window_seconds=settings.link_guess_window_seconds,
        )
        app.state.vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        app.state.auth = identity.Auth(
            keyring=Keyring(settings.jwt_keys, issuer=settings.jwt_issuer),
            passwords=Passwords(
                memory_kib=settings.password_hash_memory_kib,
                iterations=settings.password_hash_iterations,
            ),
            revocations=Revocations(
                redis,
                pool,
                prefix=settings.redis_prefix,
                access_ttl_seconds=settings.access_token_ttl_seconds,
            ),
            limiter=LoginLimiter(
                redis,
                prefix=settings.redis_prefix,
                per_login=settings.login_limit_per_login,
                per_ip=settings.login_limit_per_ip,
                window_seconds=settings.login_window_seconds,
            ),
            access_ttl_seconds=settings.access_token_ttl_seconds,
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            refresh_retry_seconds=settings.refresh_retry_seconds,
        )
        signals = Signals(redis, prefix=settings.redis_prefix)
        app.state.sync_puller = Puller(
            signer=Signer(settings.blind_index_key),
            signals=signals,
            retention_days=settings.sync_retention_days,
            min_schema=settings.sync_min_schema,
        )
        app.state.sync_hub = Hub(settings.redis_url, signals)
        app.state.blobs = blob_store_from_settings(settings)
        app.state.media_signer = MediaSigner(settings.blind_index_key)
        try:
            if settings.bootstrap_admin:
                login, password = settings.bootstrap_admin
                async with pool.acquire() as conn, conn.transaction():
                    if await staff.ensure_admin(
                        conn, auth=app.state.auth, login=login, password=password
                    ):
                        log.info("bootstrap admin created", extra={"login": login})
            yield
        finally:
            await app.state.sync_hub.aclose()
            await app.state.blobs.close()
            await redis.aclose()
            await pool.close()

    app = Litestar(
        route_handlers=[
            *operations_routes.ROUTES,
            *identity_routes.ROUTES,
            *customer_routes.ROUTES,
            *notification_routes.ROUTES,
            *verification_page.ROUTES,
            *task_routes.ROUTES,
            *brochure_routes.ROUTES,
            *funnel_routes.ROUTES,
            *share_routes.ROUTES,
            *confirmation_page.ROUTES,
            *console_routes.ROUTES,
            *push_routes.ROUTES,
            *sync_routes.ROUTES,
            *package_routes.ROUTES,
            *media_routes.ROUTES,
            *tracking_routes.ROUTES,
            *survey_routes.ROUTES,
            *survey_page.ROUTES,
            *workorder_routes.ROUTES,
            *audit_routes.ROUTES,
        ],
        lifespan=[lifespan],
        dependencies={
            "db": Provide(provide_db),
            "caller": Provide(current_caller, sync_to_thread=False),
        },
        guards=[check_request],
        # After routing, for every route: customers' link routes count unknown codes per address;
        # an API route's optional query parameter sent empty is one not sent; the cursors a
        # request makes and reads name its list.
        middleware=[link_guessing_limit, empty_query_values_dropped, cursors_name_their_list],
        before_request=refuse_unstorable_input,
        before_send=[add_request_id_header, add_safety_headers],
        exception_handlers=EXCEPTION_HANDLERS,
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Device-Id",
                "X-App-Version",
                "X-Request-Id",
                "Idempotency-Key",
            ],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            expose_headers=["X-Request-Id", "Retry-After"],
        )
        if settings.cors_origins
        else None,
        openapi_config=api_docs.openapi_config(API_VERSION),
        plugins=[
            api_docs.RouteDocs(),
            # HEAD wherever GET (before OPTIONS, whose `Allow` names it): answered as the GET.
            AutomaticHead(),
            # OPTIONS anywhere: 204 with `Allow`, no sign-in, a page's headers on pages.
            AutomaticOptions(
                {True: public_pages.SECURITY_HEADERS, CONSOLE: console_rendering.SECURITY_HEADERS}
            ),
        ],
        template_config=console_rendering.TEMPLATE_CONFIG,
        request_max_body_size=settings.max_body_bytes,
        state=State(_initial_state(settings, metrics)),
        debug=False,
        logging_config=None,  # logs.configure() owns logging (JSON, redacted)
    )
    # Outside the router, so that 404s, 405s and bad hosts get a request id, a log line, a count.
    # Around everything, so that no answer to a HEAD has a body: 404s and 405s included.
    app.asgi_handler = without_body(request_context_middleware(app.asgi_handler))
    return app


def _initial_state(settings: Settings, metrics: Metrics) -> dict[str, object]:
    return {
        "settings": settings,
        "metrics": metrics,
        "trusted_networks": parse_networks(settings.trusted_proxies),
        "metrics_networks": parse_networks(settings.metrics_from),
    }

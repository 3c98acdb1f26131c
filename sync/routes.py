"""Sync endpoints: pull the partition, push offline mutations, listen for "pull now"."""

from __future__ import annotations

import uuid
from typing import Any, cast

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_200_OK

from mobile_contracts.v1 import sync as wire
from sync import mutations
from sync.entities import Partition
from sync.pull import Puller
from workbench.access import Caller
from workbench.errors import Unauthorized
from workbench.http.auth import ANSWERS_WIPE, PREFETCH, PREFETCHED
from workbench.http.client_ip import client_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.input_checks import ROWS_CHECKED, rows_with_nul
from workbench.http.openapi import ERRORS
from workbench.surveys import delivery as survey_delivery


def _sync_state_keys(state: State, user_id: uuid.UUID) -> list[str]:
    """Read with the revocation check: an up-to-date pull then costs one Redis round trip."""
    puller: Puller = state.sync_puller
    return puller.signals.state_keys(user_id)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post(
        "/pull",
        operation_id="syncPull",
        status_code=HTTP_200_OK,
        opt={
            ANSWERS_WIPE: True,
            PREFETCH: _sync_state_keys,
            ERRORS: {
                409: "Start a fresh initial sync without a cursor (`sync.reset_required`): the "
                "cursor is from another user, role, org unit, schema version or server, or older "
                "than the change log keeps",
                422: "Invalid body, or a `schema_version` this server does not know "
                "(`sync.schema_unknown`)",
                426: "The app (`X-App-Version`, `app.upgrade_required`) or its `schema_version` "
                "(`sync.schema_too_old`) is older than the server still serves: update the app",
            },
        },
    )
    async def pull(
        self, request: Request[Any, Any, Any], data: JSONBody[wire.PullRequest]
    ) -> wire.PullResult:
        """Pull the changes of my partition since my cursor.

        Without a `cursor` this is an initial sync. Apply `changes` in order, store the answer's
        `cursor`, and pull again at once while `has_more`. An up-to-date pull is answered without
        touching the database. A revoked device gets `wipe: true` (and nothing else): delete every
        local copy and sign out.
        """
        caller = request.scope.get("user")
        if request.scope.get(ANSWERS_WIPE):
            return wire.PullResult(changes=[], cursor=None, has_more=False, wipe=True)
        if not isinstance(caller, Caller):
            raise Unauthorized("Sign in first")
        puller: Puller = request.app.state.sync_puller
        # No request transaction: "nothing changed" is answered from Redis alone.
        partition = Partition(caller=caller, vault=request.app.state.vault)
        return await puller.pull(
            request.app.state.pool,
            partition=partition,
            request=data,
            known=cast("list[bytes | None] | None", request.scope.get(PREFETCHED)),
        )

    @post(
        "/push",
        operation_id="syncPush",
        status_code=HTTP_200_OK,
        request_max_body_size=4_000_000,
        opt={
            ROWS_CHECKED: "mutations",
            ERRORS: {
                422: "Invalid body, or mutation ids that go backwards (`sync.mutation_order`)"
            },
        },
    )
    async def push(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.PushRequest],
    ) -> wire.PushResult:
        """Push the mutations queued offline; each is applied once, in order.

        One result per mutation: `applied` (with what the API operation answered), `duplicate`
        (an earlier push applied it; a `share.create` with the share in `result` again),
        `rejected` (with the API error's `code` and `problem`) or `conflict` (with the server's
        current row in `server`). Mutation names follow the API
        operations: `task.start`, `task.submit`, `task.cancel`, `task.reschedule`, `note.add`,
        `notification.read`, `share.create`, `work_order.transition` (schema 4).
        """
        state = request.app.state
        ctx = mutations.Context(
            caller=caller, vault=state.vault, bank_timezone=state.settings.bank_timezone,
            public_base_url=state.settings.public_base_url,
            survey_rules=survey_delivery.Rules.from_settings(state.settings),
            offline_max_days=state.settings.sync_offline_max_days,
            client_ip=client_ip(request.scope, state.trusted_networks),  # for the audit trail
        )  # fmt: skip
        return await mutations.push(db, ctx=ctx, request=data, nul_mutations=rows_with_nul(request))

    @get("/events", operation_id="syncEvents", media_type="text/event-stream")
    async def events(
        self, request: Request[Any, Any, Any], caller: CurrentCaller
    ) -> ServerSentEvent:
        """Listen for changes to pull (server-sent events).

        `hello` on connect, `pull` whenever my partition changed, a keep-alive comment line
        (`: keepalive`, never an event) every 15 seconds. The stream closes after five minutes;
        EventSource reconnects.
        """
        # The stream ends as soon as this token's session does (see sync.events).
        session = request.app.state.auth.revocations.watch(caller.session_id, caller.device_id)
        return ServerSentEvent(
            request.app.state.sync_hub.stream(caller.user_id, session),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


ROUTES = [SyncController]

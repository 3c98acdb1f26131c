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
from workbench.http.deps import CurrentCaller, Db
from workbench.http.problems import PROBLEM_RESPONSES

R = PROBLEM_RESPONSES


def _sync_state_keys(state: State, user_id: uuid.UUID) -> list[str]:
    """Read with the revocation check: an up-to-date pull then costs one Redis round trip."""
    puller: Puller = state.sync_puller
    return puller.signals.state_keys(user_id)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post("/pull", responses=R, operation_id="syncPull", status_code=HTTP_200_OK,
          opt={ANSWERS_WIPE: True, PREFETCH: _sync_state_keys})  # fmt: skip
    async def pull(
        self, request: Request[Any, Any, Any], data: JSONBody[wire.PullRequest]
    ) -> wire.PullResult:
        """Changes of my partition after `cursor` (none: initial sync), in order, paged by
        `has_more`. A revoked device gets `wipe: true` and nothing else."""
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

    @post("/push", responses=R, operation_id="syncPush", status_code=HTTP_200_OK,
          request_max_body_size=4_000_000)  # fmt: skip
    async def push(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.PushRequest],
    ) -> wire.PushResult:
        """Apply queued offline mutations once each, in order; one result per mutation."""
        state = request.app.state
        ctx = mutations.Context(
            caller=caller, vault=state.vault, bank_timezone=state.settings.bank_timezone
        )
        return await mutations.push(db, ctx=ctx, request=data)

    @get("/events", responses=R, operation_id="syncEvents")
    async def events(
        self, request: Request[Any, Any, Any], caller: CurrentCaller
    ) -> ServerSentEvent:
        """Server-sent events: `pull` whenever my partition changed (and `hello` on connect)."""
        return ServerSentEvent(
            request.app.state.sync_hub.stream(caller.user_id),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


ROUTES = [SyncController]

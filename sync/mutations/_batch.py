"""Push: the batch runner: the client's row locked, the ids checked to increase, each mutation
not answered before applied in its own savepoint (its role, arguments and the device's time
checked first), and the answers and the client's answered ids saved in the request's
transaction."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping

import msgspec

from mobile_contracts.v1 import sync as wire
from sync import queries
from sync.mutations._answers import (
    _answered_again,
    _digest,
    _kept,
    _rejected,
    _server_row_or_none,
    _storable,
)
from sync.mutations._context import Context
from sync.mutations._operations import OPERATIONS
from workbench import device_time
from workbench.db import VALUE_REFUSED, Connection
from workbench.errors import DomainError
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul

log = logging.getLogger("sync.mutations")
# Gaps between answered ids a client keeps (an app whose ids skip, like times in ms, makes one
# per mutation); older ones are closed (see queries.save_client). Twice the largest batch: no
# single push closes the gap where a mutation of a push still in flight waits.
KEPT_GAPS = 1000


class MutationOrder(DomainError):
    status, code, title = 422, "sync.mutation_order", "Mutation ids must increase"


async def push(
    conn: Connection,
    *,
    ctx: Context,
    request: wire.PushRequest,
    nul_mutations: Mapping[int, str] | None = None,
) -> wire.PushResult:
    """Apply the batch; the caller's request transaction commits results and last id together.
    A mutation holding a NUL character (`nul_mutations`, by index) is rejected on its own."""
    unstorable = rows_with_nul(request.mutations, nul_mutations, path="$.mutations")
    ids = [m.id for m in request.mutations]
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise MutationOrder("Mutation ids within a batch must strictly increase")
    user_id = ctx.caller.user_id
    answered_before = await queries.lock_client(conn, user_id, request.client_id, ids)
    kept = await queries.answers_of(conn, user_id, request.client_id, sorted(answered_before))
    results, answered, to_keep = [], [], []
    for index, mutation in enumerate(request.mutations):
        digest = _digest(mutation)
        if mutation.id in answered_before:
            results.append(await _answered_again(conn, ctx, mutation, digest, kept))
            continue
        if where := unstorable.get(index):
            result = _rejected(mutation, NUL_CODE, f"{where}: {NUL_MESSAGE}")
        else:
            result = await _apply_one(conn, ctx, mutation)
        result = _storable(result)  # answered now as it is kept for a retry
        results.append(result)
        answered.append(mutation.id)
        to_keep.append((mutation.id, digest, _kept(result)))
    await queries.save_answers(conn, user_id, request.client_id, to_keep)
    last = await queries.save_client(
        conn, user_id, request.client_id, answered, kept_gaps=KEPT_GAPS
    )
    return wire.PushResult(results=results, last_mutation_id=last)


async def _apply_one(
    conn: Connection, ctx: Context, mutation: wire.Mutation
) -> wire.MutationResult:
    operation = OPERATIONS.get(mutation.name)
    if operation is None:
        return _rejected(
            mutation, "sync.unknown_mutation", f"No mutation named {mutation.name[:60]!r}"
        )
    if ctx.caller.role not in operation.roles:
        return _rejected(mutation, "auth.forbidden", f"Your role may not {mutation.name}")
    try:
        args = msgspec.convert(mutation.args, operation.args)
    except msgspec.ValidationError as exc:
        return _rejected(mutation, "request.invalid", str(exc))
    at = device_time.believed(device_time.read(mutation.occurred_at), max_days=ctx.offline_max_days)
    try:
        async with conn.transaction():  # a savepoint: a refused mutation leaves nothing behind
            result = await operation.apply(conn, ctx, args, at)
    except operation.conflicts as exc:
        server = (
            await _server_row_or_none(conn, ctx, operation.server_row, args)
            if operation.server_row
            else None
        )
        return wire.MutationResult(
            id=mutation.id, status=wire.MutationStatus.CONFLICT, code=exc.code,
            detail=exc.detail, server=server,
        )  # fmt: skip
    except DomainError as exc:
        return _rejected(mutation, exc.code, exc.detail or exc.title, **exc.extra)
    except VALUE_REFUSED as exc:  # what the API answers 422 for the request, for this one alone
        log.warning("mutation value refused by the database", extra={"sqlstate": exc.sqlstate})
        return _rejected(
            mutation, "request.invalid_value",
            "A value is out of range or not allowed (e.g. a time or a number too large)",
        )  # fmt: skip
    return wire.MutationResult(id=mutation.id, status=wire.MutationStatus.APPLIED, result=result)

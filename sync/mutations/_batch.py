"""Push: the batch runner: the client's row locked, the ids checked not to go backwards, each
mutation not answered before applied in its own savepoint (its role, arguments and the device's
time checked first), an id repeated within the batch answered as a resend of the first, and the
answers and the client's answered ids saved in the request's transaction."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any

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
from sync.mutations._operations import operation_named
from workbench import device_time
from workbench.db import VALUE_REFUSED, Connection
from workbench.errors import DomainError
from workbench.http.problems import in_words
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul

log = logging.getLogger("sync.mutations")
# Gaps between answered ids a client keeps (an app whose ids skip, like times in ms, makes one
# per mutation); older ones are closed (see queries.save_client). Twice the largest batch: no
# single push closes the gap where a mutation of a push still in flight waits.
KEPT_GAPS = 1000


class MutationOrder(DomainError):
    """Ids that go backwards within a batch: the batch runs in its order, which must be the
    order the app made its mutations in (ids increase per client), or a later one would run
    before an earlier one of the same batch. An id repeated in place (`[10, 10, 11]`) is no
    disorder: the app queued a resend of one mutation, answered as any resend."""

    status, code, title = 422, "sync.mutation_order", "Mutation ids must increase"


async def push(
    conn: Connection,
    *,
    ctx: Context,
    request: wire.PushRequest,
    nul_mutations: Mapping[int, str] | None = None,
) -> wire.PushResult:
    """Apply the batch; the caller's request transaction commits results and last id together.
    A mutation holding a NUL character (`nul_mutations`, by index) is rejected on its own. An
    id repeated within the batch runs once: the repeat is answered as a resend of what was just
    answered (`duplicate` for an applied one, the same rejection or conflict again), or
    rejected alone (`sync.mutation_id_reused`) when it is another mutation."""
    unstorable = rows_with_nul(request.mutations, nul_mutations, path="$.mutations")
    ids = [m.id for m in request.mutations]
    if any(b < a for a, b in itertools.pairwise(ids)):
        raise MutationOrder(
            "Mutation ids within a batch must not go backwards (a repeated id is a resend)"
        )
    user_id = ctx.caller.user_id
    answered_before = await queries.lock_client(conn, user_id, request.client_id, ids)
    kept: dict[int, Any] = dict(
        await queries.answers_of(conn, user_id, request.client_id, sorted(answered_before))
    )
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
        # A repeat of this id later in the batch is a resend: answered from what is kept.
        answered_before.add(mutation.id)
        kept[mutation.id] = {"digest": digest, "answer": _kept_answer(to_keep[-1][2])}
    await queries.save_answers(conn, user_id, request.client_id, to_keep)
    last = await queries.save_client(
        conn, user_id, request.client_id, answered, kept_gaps=KEPT_GAPS
    )
    return wire.PushResult(results=results, last_mutation_id=last)


def _no_such_mutation(name: Any) -> str:
    """Why no operation has this name, for the app's developer."""
    if not isinstance(name, str):
        return "A mutation's name must be a string, such as 'task.start'"
    return f"No mutation named {name[:60]!r}"


def _kept_answer(kept: bytes | None) -> Any:
    """An answer as `queries.answers_of` reads it back from its jsonb (None: applied)."""
    return None if kept is None else msgspec.json.decode(kept)


async def _apply_one(
    conn: Connection, ctx: Context, mutation: wire.Mutation
) -> wire.MutationResult:
    operation = operation_named(mutation.name)
    if operation is None:
        return _rejected(mutation, "sync.unknown_mutation", _no_such_mutation(mutation.name))
    if ctx.caller.role not in operation.roles:
        return _rejected(mutation, "auth.forbidden", f"Your role may not {mutation.name}")
    try:
        args = msgspec.convert(mutation.args, operation.args)
    except msgspec.ValidationError as exc:
        # msgspec quotes a pattern it refused: said in words, as the API's 422 says it.
        return _rejected(mutation, "request.invalid", in_words(str(exc), of=operation.args))
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

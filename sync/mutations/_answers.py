"""Push: the answers: a rejection, an answer made storable and what of it is kept for a retry, a
mutation's digest, and the answer to an id answered before (the same answer again, `duplicate`
with its result made again, or `sync.mutation_id_reused`), with the server's row read as it is
now."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from mobile_contracts.v1 import sync as wire
from sync.mutations._context import Context, Operation, ServerRow
from sync.mutations._operations import operation_named
from workbench.db import VALUE_REFUSED, Connection
from workbench.errors import DomainError
from workbench.nul import NUL, find_nul


def _storable(result: wire.MutationResult) -> wire.MutationResult:
    """The answer with nothing PostgreSQL refuses in the jsonb that keeps it (`_kept`, stored
    after the savepoints, where a refusal would fail the whole push): a NUL character, which
    an answer can only hold by naming where input held one (a NUL in an object key shows in
    the refusal's path), is shown as its JSON escape, the text `\\u0000`."""
    if result.status is wire.MutationStatus.APPLIED:
        return result  # not kept
    code, detail, problem = kept = msgspec.to_builtins([result.code, result.detail, result.problem])
    if find_nul(kept) is None:
        return result
    return msgspec.structs.replace(
        result, code=_visible(code), detail=_visible(detail), problem=_visible(problem)
    )


def _visible(value: Any) -> Any:
    """`value` with every NUL of its strings and object keys written as the text `\\u0000`."""
    if isinstance(value, str):
        return value.replace(NUL, "\\u0000")
    if isinstance(value, dict):
        return {_visible(k): _visible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_visible(v) for v in value]
    return value


def _kept(result: wire.MutationResult) -> bytes | None:
    """What is kept of an answer for a retry: nothing of an applied one (a retry is
    `duplicate`), and of a conflict not the server's row (read again for the retry: it may have
    moved on, and a copy here would be one more place holding it)."""
    if result.status is wire.MutationStatus.APPLIED:
        return None
    return msgspec.json.encode(msgspec.structs.replace(result, server=None))


def _digest(mutation: wire.Mutation) -> bytes:
    """What a mutation is (its name and arguments, keys in any order), in 16 bytes."""
    content = msgspec.json.encode([mutation.name, mutation.args], order="sorted")
    return hashlib.blake2b(content, digest_size=16).digest()


async def _answered_again(
    conn: Connection,
    ctx: Context,
    mutation: wire.Mutation,
    digest: bytes,
    kept: Mapping[int, Any],
) -> wire.MutationResult:
    """The answer to an id answered before: the same mutation again (a retry after a lost
    answer) gets what it got then (a conflict with the server's row as it is now), an applied
    one `duplicate` (with its `result` made again where the operation can, a share's); another
    mutation under that id is refused, never taken for done. An id whose answer is not kept
    (answered before answers were kept, or purged) is `duplicate`."""
    before = kept.get(mutation.id)
    if before is not None and bytes(before["digest"]) != digest:
        return _rejected(
            mutation, "sync.mutation_id_reused",
            f"Mutation id {mutation.id} was answered before for another mutation: give each "
            "mutation a new id (ids increase per client_id)",
        )  # fmt: skip
    operation = operation_named(mutation.name)
    if before is None or before["answer"] is None:
        return await _duplicate(conn, ctx, mutation, operation)
    answer = before["answer"]
    if isinstance(answer, str):
        answer = msgspec.json.decode(answer)
    result = msgspec.convert(answer, wire.MutationResult)
    if result.status is wire.MutationStatus.CONFLICT and operation and operation.server_row:
        args = msgspec.convert(mutation.args, operation.args)  # converted when it was answered
        result.server = await _server_row_or_none(conn, ctx, operation.server_row, args)
    return result


async def _duplicate(
    conn: Connection, ctx: Context, mutation: wire.Mutation, operation: Operation | None
) -> wire.MutationResult:
    """`duplicate` for a mutation applied before, with its result again where the operation
    makes one (`answered_again`; nothing when it cannot: the args no longer read, the
    caller's role changed, the object is gone)."""
    result = None
    if operation is not None and operation.answered_again and ctx.caller.role in operation.roles:
        try:
            args = msgspec.convert(mutation.args, operation.args)
        except msgspec.ValidationError:
            args = None
        if args is not None:
            result = await _server_row_or_none(conn, ctx, operation.answered_again, args)
    return wire.MutationResult(id=mutation.id, status=wire.MutationStatus.DUPLICATE, result=result)


async def _server_row_or_none(
    conn: Connection, ctx: Context, server_row: ServerRow, args: Any
) -> Any:
    """The row as the server has it now, or None when the caller can no longer see it (the
    task moved to another RM since: a retry must not fail the whole push with a 404) or the
    database refuses a value of the arguments."""
    try:
        async with conn.transaction():
            return await server_row(conn, ctx, args)
    except DomainError:
        return None
    except VALUE_REFUSED:
        return None


def _rejected(mutation: wire.Mutation, code: str, detail: str, **extra: Any) -> wire.MutationResult:
    return wire.MutationResult(
        id=mutation.id, status=wire.MutationStatus.REJECTED, code=code, detail=detail,
        problem=extra or None,
    )  # fmt: skip

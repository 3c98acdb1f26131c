"""Pull: the changes of the caller's partition after their cursor.

- No cursor: an initial sync. The position of the log is taken first; then every entity of the
  partition is streamed in key order, in pages, each page's cursor saying where to resume; then
  the catch-up replays the changes since that position. Whatever moved while the pages were read
  arrives again as a change, so the client ends exactly at the server's state.
- A cursor: the catch-up. The partition's log rows after the position, of transactions that have
  all finished, in order; each becomes the row's current state (masked as the API masks it) or
  a delete when the user can no longer see it.
- "Nothing changed" is answered from Redis, which the sync feed keeps (see `sync.signals`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from mobile_contracts.v1 import sync as wire
from sync import queries, schema
from sync.cursor import MAX_SEQ, CursorState, Position, ResetRequired, Signer
from sync.entities import BY_ENTITY, KINDS, Partition
from sync.signals import Signals
from workbench.db import Connection, Pool

UPSERT = wire.Op.UPSERT


class Puller:
    """What a pull needs besides the request: the signer, Redis signals and the settings."""

    def __init__(
        self, *, signer: Signer, signals: Signals, retention_days: int, min_schema: int
    ) -> None:
        self.signer = signer
        self.signals = signals
        self.retention_days = retention_days
        self.min_schema = min_schema

    async def pull(
        self,
        db: Pool | Connection,
        *,
        partition: Partition,
        request: wire.PullRequest,
        known: Sequence[bytes | None] | None = None,
    ) -> wire.PullResult:
        """`db`: a pool (a connection is taken only when Redis cannot answer) or a connection.
        `known`: the Redis sync state of the caller, when the request already read it
        (`Signals.state_keys`)."""
        schema.check(request.schema_version, self.min_schema)
        caller = partition.caller
        if request.cursor:
            state = self.signer.open(request.cursor, retention_days=self.retention_days)
            if (state.user_id, state.role, state.org_unit_id, state.schema_version) != (
                caller.user_id, caller.role.value, caller.org_unit_id, request.schema_version,
            ):  # fmt: skip
                raise ResetRequired(
                    "The cursor was issued for another user, role, org unit or schema version"
                )
        else:
            state = CursorState(
                format=1,
                user_id=caller.user_id,
                role=caller.role.value,
                org_unit_id=caller.org_unit_id,
                schema_version=request.schema_version,
                position=Position(0, 0),  # taken below, before the first page is read
                position_at=int(time.time()),
                entity=0,
            )
        if not state.initial:
            unchanged_to = await self.signals.unchanged_to(caller.user_id, state.position, known)
            if unchanged_to is not None:
                state.position, state.position_at = unchanged_to, int(time.time())
                return wire.PullResult(changes=[], cursor=self.signer.sign(state), has_more=False)
        async with _connection(db) as conn:
            if not request.cursor:
                state.position = Position(await queries.horizon(conn) - 1, MAX_SEQ)
            if state.initial:
                return await self._initial_page(conn, partition, state, request.limit)
            return await self._catch_up(conn, partition, state, request.limit)

    async def _initial_page(
        self, conn: Connection, partition: Partition, state: CursorState, limit: int
    ) -> wire.PullResult:
        changes: list[wire.Change] = []
        version = state.schema_version
        while state.entity < len(KINDS) and len(changes) < limit:
            kind = KINDS[state.entity]
            if not schema.carries(version, kind.entity):
                state.entity, state.after = state.entity + 1, None
                continue
            want = limit - len(changes)
            rows, resume = await kind.page(conn, partition, state.after, want)
            changes.extend(
                wire.Change(entity=kind.entity, op=wire.Op.UPSERT, id=key,
                            data=schema.shape(version, kind.entity, row))
                for key, row in rows
            )  # fmt: skip
            if len(rows) < want:
                state.entity, state.after = state.entity + 1, None
            else:
                state.after = resume
        if state.entity >= len(KINDS):
            state.entity, state.after = -1, None  # streamed: catch up from the start position
        return wire.PullResult(changes=changes, cursor=self.signer.sign(state), has_more=True)

    async def _catch_up(
        self, conn: Connection, partition: Partition, state: CursorState, limit: int
    ) -> wire.PullResult:
        users = [partition.caller.user_id, queries.EVERYONE]
        below = await queries.horizon(conn)
        rows = await queries.changes_after(
            conn,
            users=users,
            subtree_root=partition.subtree_root,
            txid=state.position.txid,
            seq=state.position.seq,
            below_txid=below,
            limit=limit,
        )
        has_more = len(rows) == limit
        changes = await self._resolve(conn, partition, state.schema_version, rows)
        if has_more:
            state.position = Position(rows[-1]["txid"], rows[-1]["seq"])
        else:
            state.position = max(state.position, Position(below - 1, MAX_SEQ))
            state.position_at = int(time.time())
        return wire.PullResult(changes=changes, cursor=self.signer.sign(state), has_more=has_more)

    async def _resolve(
        self, conn: Connection, partition: Partition, version: int, rows: list[Any]
    ) -> list[wire.Change]:
        """Each changed key once, in the order of its last change: its current row, or a
        delete when it left the partition."""
        last: dict[tuple[str, str], int] = {}
        for i, r in enumerate(rows):
            last[(r["entity"], r["entity_key"])] = i
        wanted: dict[str, list[str]] = {}
        for entity, key in last:
            wanted.setdefault(entity, []).append(key)
        found: dict[tuple[str, str], Any] = {}
        for entity, keys in wanted.items():
            kind = BY_ENTITY.get(entity)
            if kind is None or not schema.carries(version, kind.entity):
                continue
            for key, row in await kind.by_keys(conn, partition, keys):
                found[(entity, key)] = row
        changes = []
        for entity, key in sorted(last, key=last.__getitem__):
            kind = BY_ENTITY.get(entity)
            if kind is None or not schema.carries(version, kind.entity):
                continue
            row = found.get((entity, key))
            if row is not None:
                data = schema.shape(version, kind.entity, row)
                changes.append(
                    wire.Change(entity=kind.entity, op=wire.Op.UPSERT, id=key, data=data)
                )
            elif kind.delete_unseen:
                changes.append(wire.Change(entity=kind.entity, op=wire.Op.DELETE, id=key))
        return changes


@asynccontextmanager
async def _connection(db: Pool | Connection) -> AsyncIterator[Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db

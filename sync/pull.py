"""Pull: the changes of the caller's partition after their cursor.

- No cursor: an initial sync. The position of the log is taken first; then every entity of the
  partition is streamed in key order, in pages, each page's cursor saying where to resume; then
  the catch-up replays the changes since that position. Whatever moved while the pages were read
  arrives again as a change, so the client ends exactly at the server's state.
- A cursor: the catch-up. The partition's log rows after the position, of transactions that have
  all finished, in order; each becomes the row's current state (masked as the API masks it) or
  a delete when the user can no longer see it.
- "Nothing changed" is answered from Redis, which the sync feed keeps (see `sync.signals`).

Window edges (schema 3). A published brochure goes live at `live_from` (else its publication)
and expires at `live_until`; nothing is written at those times. The cursor carries the pull's
clock (`edges_at`), and a catch-up that has sent the log's changes also sends every brochure the
user may see with an edge after it, up to now (an index range scan: no other brochure is read),
as the row when live now, else a delete. Those are paged by (edge time, id) when they do not fit
in `limit`. The Redis answer checks the next edge too (`Signals.unchanged_to`). "Now" is the
Puller's clock, the API server's, for what is live and for the cursor alike.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from mobile_contracts.v1 import sync as wire
from sync import queries, schema
from sync.cursor import (
    MAX_SEQ,
    CursorState,
    Position,
    ResetRequired,
    Signer,
    from_micros,
    micros,
)
from sync.entities import BY_ENTITY, KINDS, Kind, Partition, brochure_edges
from sync.signals import Signals
from workbench.db import Connection, Pool

UPSERT = wire.Op.UPSERT
BROCHURES = BY_ENTITY[wire.Entity.BROCHURE.value]
_LAST_ID = uuid.UUID(int=2**128 - 1)  # every brochure at a time: (t, _LAST_ID) is past them


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Puller:
    """What a pull needs besides the request: the signer, Redis signals and the settings."""

    def __init__(
        self,
        *,
        signer: Signer,
        signals: Signals,
        retention_days: int,
        min_schema: int,
        clock: Callable[[], datetime] = _system_clock,
    ) -> None:
        self.signer = signer
        self.signals = signals
        self.retention_days = retention_days
        self.min_schema = min_schema
        self.clock = clock  # what is live is decided as of it (tests move it)

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
        now = self.clock()
        partition = dataclasses.replace(partition, now=now)
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
                edges_at=micros(now),  # each page is read at a later time: edges from here
            )
        edges = _holds(BROCHURES, partition, state.schema_version)
        if not state.initial and not (edges and state.edges_after is not None):
            unchanged_to = await self.signals.unchanged_to(
                caller.user_id, state.position, known,
                edges_at=state.edges_at if edges else None, now=micros(now),
            )  # fmt: skip
            if unchanged_to is not None:
                state.position, state.position_at = unchanged_to, int(time.time())
                state.edges_at = max(state.edges_at, micros(now))
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
            if not _holds(kind, partition, version):
                state.entity, state.after = state.entity + 1, None
                continue
            want = limit - len(changes)
            rows, resume = await kind.page(conn, partition, state.after, want)
            changes.extend(
                wire.Change(entity=kind.entity, op=wire.Op.UPSERT, id=key,
                            data=schema.shape(version, kind.entity, row))
                for key, row in rows
            )  # fmt: skip
            if resume is None:  # the walk read everything: the next entity
                state.entity, state.after = state.entity + 1, None
            else:  # after the last key read, though some read may not be shown to the caller
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
            return wire.PullResult(changes=changes, cursor=self.signer.sign(state), has_more=True)
        state.position = max(state.position, Position(below - 1, MAX_SEQ))
        state.position_at = int(time.time())
        if _holds(BROCHURES, partition, state.schema_version):
            # The log is sent (fewer changes than rows < limit: there is room for one at least).
            has_more = await self._window_edges(conn, partition, state, changes, limit)
        else:
            state.edges_at, state.edges_after = micros(partition.at), None
        return wire.PullResult(changes=changes, cursor=self.signer.sign(state), has_more=has_more)

    async def _window_edges(
        self,
        conn: Connection,
        partition: Partition,
        state: CursorState,
        changes: list[wire.Change],
        limit: int,
    ) -> bool:
        """Add the brochures whose window opened or closed after the cursor's `edges_at`, up
        to now, to `changes` (at most `limit` in all); True when more are left for the next
        page."""
        room = limit - len(changes)
        after = (
            from_micros(state.edges_at),
            uuid.UUID(state.edges_after) if state.edges_after else _LAST_ID,
        )
        edges = await brochure_edges(conn, partition, after=after, limit=room)
        if len(edges) < room:
            state.edges_at, state.edges_after = micros(partition.at), None
        else:  # resume after the last edge sent
            state.edges_at, state.edges_after = micros(edges[-1][0]), edges[-1][1]
        sent = {c.id for c in changes if c.entity is wire.Entity.BROCHURE}
        keys = list(dict.fromkeys(key for _, key in edges if key not in sent))
        if keys:
            found = dict(await BROCHURES.by_keys(conn, partition, keys))
            changes.extend(_change(BROCHURES, state.schema_version, key, found) for key in keys
                           if key in found)  # fmt: skip
        return len(edges) == room

    async def _resolve(
        self, conn: Connection, partition: Partition, version: int, rows: list[Any]
    ) -> list[wire.Change]:
        """Each changed key once, in the order of its last change: its current row, or a
        delete when it left the partition."""
        last: dict[tuple[str, str], int] = {}
        personal: set[tuple[str, str]] = set()  # recorded for this user, not for everyone
        for i, r in enumerate(rows):
            last[(r["entity"], r["entity_key"])] = i
            if r["user_id"] != queries.EVERYONE:
                personal.add((r["entity"], r["entity_key"]))
        wanted: dict[str, list[str]] = {}
        for entity, key in last:
            wanted.setdefault(entity, []).append(key)
        found: dict[str, dict[str, Any]] = {}
        for entity, keys in wanted.items():
            kind = BY_ENTITY.get(entity)
            if kind is None or not _holds(kind, partition, version):
                continue
            found[entity] = dict(await kind.by_keys(conn, partition, keys))
        changes = []
        for entity, key in sorted(last, key=last.__getitem__):
            kind = BY_ENTITY.get(entity)
            if kind is None or not _holds(kind, partition, version):
                continue
            rows_of = found[entity]
            if key in rows_of or kind.delete_unseen or (entity, key) in personal:
                changes.append(_change(kind, version, key, rows_of))
        return changes


def _holds(kind: Kind, partition: Partition, version: int) -> bool:
    """Whether this client's partition carries the entity at all."""
    return schema.carries(version, kind.entity) and kind.holds(partition)


def _change(kind: Kind, version: int, key: str, found: dict[str, Any]) -> wire.Change:
    """The key's current row, or a delete when it has none."""
    row = found.get(key)
    if row is None:
        return wire.Change(entity=kind.entity, op=wire.Op.DELETE, id=key)
    data = schema.shape(version, kind.entity, row)
    return wire.Change(entity=kind.entity, op=wire.Op.UPSERT, id=key, data=data)


@asynccontextmanager
async def _connection(db: Pool | Connection) -> AsyncIterator[Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db

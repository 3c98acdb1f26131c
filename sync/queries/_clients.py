"""Offline clients: their lock and state, and what their pushes were answered."""

from __future__ import annotations

import uuid

from sync.queries._common import Record
from workbench.db import Connection

# ---- offline clients -----------------------------------------------------------------------------


async def lock_client(
    conn: Connection, user_id: uuid.UUID, client_id: str, ids: list[int]
) -> set[int]:
    """Which of `ids` the client was answered for before, its row locked until the transaction
    ends (a retry racing the first push waits, then answers `duplicate`)."""
    await conn.execute(
        """
        insert into sync_clients (user_id, client_id, last_mutation_id) values ($1, $2, 0)
        on conflict do nothing
        """,
        user_id,
        client_id,
    )
    answered: list[int] = await conn.fetchval(
        """
        select array(select i from unnest($3::bigint[]) i where i <@ answered)
          from sync_clients where user_id = $1 and client_id = $2
           for update
        """,
        user_id,
        client_id,
        ids,
    )
    return set(answered)


async def save_client(
    conn: Connection, user_id: uuid.UUID, client_id: str, answered: list[int], *, kept_gaps: int
) -> int:
    """Add `answered` to the ids the client was answered for; its last answered id. The set
    stays small: it keeps its `kept_gaps` newest ranges, and the older ones become one from id
    1 (the gaps between them count as answered: only a mutation that arrives after that many
    later separated ones could be answered as a duplicate)."""
    last: int = await conn.fetchval(
        """
        update sync_clients c
           set answered = coalesce((
                   select range_agg(case when k <= $4 then r else int8range(1, upper(r)) end)
                     from (select r, row_number() over (order by lower(r) desc) as k
                             from unnest(c.answered + coalesce(
                                      (select range_agg(int8range(i, i + 1))
                                         from unnest($3::bigint[]) i), '{}')) r) parts
               ), '{}'),
               last_mutation_id = greatest(last_mutation_id,  -- greatest skips a null
                                           (select max(i) from unnest($3::bigint[]) i)),
               updated_at = now()
         where user_id = $1 and client_id = $2
        returning last_mutation_id
        """,
        user_id,
        client_id,
        answered,
        kept_gaps,
    )
    return last


async def answers_of(
    conn: Connection, user_id: uuid.UUID, client_id: str, ids: list[int]
) -> dict[int, Record]:
    """What the client was answered for these ids, as kept (`digest`, `answer`: None when
    applied), by id; ids answered before the answers were kept (or purged since) are absent."""
    rows = await conn.fetch(
        """
        select mutation_id, digest, answer from sync_answers
         where user_id = $1 and client_id = $2 and mutation_id = any($3::bigint[])
        """,
        user_id,
        client_id,
        ids,
    )
    return {r["mutation_id"]: r for r in rows}


async def save_answers(
    conn: Connection,
    user_id: uuid.UUID,
    client_id: str,
    answers: list[tuple[int, bytes, bytes | None]],
) -> None:
    """Keep each answered mutation's (id, digest, answer as JSON or None)."""
    if not answers:
        return
    ids, digests, texts = zip(*answers, strict=True)
    await conn.execute(
        """
        insert into sync_answers (user_id, client_id, mutation_id, digest, answer)
        select $1, $2, a.id, a.digest, a.answer::jsonb
          from unnest($3::bigint[], $4::bytea[], $5::text[]) as a(id, digest, answer)
        on conflict do nothing
        """,
        user_id,
        client_id,
        list(ids),
        list(digests),
        [t.decode() if t is not None else None for t in texts],
    )

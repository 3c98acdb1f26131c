"""SQL of key rotation: walking and rewriting the encrypted columns features declare.

Table and column names come from the declarations in code (`workbench.security.rotation`), never
from input; they are checked and quoted all the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
KEY_TYPES = frozenset({"uuid", "text", "bigint"})


def _q(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain SQL name: {name!r}")
    return f'"{name}"'


async def encrypted_batch(
    conn: Connection,
    *,
    table: str,
    key: str,
    reads: Sequence[str],
    columns: Sequence[str],
    after: Any,
    limit: int,
) -> list[Record]:
    """The next `limit` rows after key `after` (None: from the start) with a value in any of
    `columns`, locked until the transaction ends so that nobody writes them in between (NO KEY
    UPDATE: rows referencing them can still be inserted)."""
    selected = ", ".join(_q(c) for c in dict.fromkeys([key, *reads, *columns]))
    present = " or ".join(f"{_q(c)} is not null" for c in columns)
    later = f" and {_q(key)} > $2" if after is not None else ""
    sql = (
        f"select {selected} from {_q(table)} where ({present}){later}"
        f" order by {_q(key)} limit $1 for no key update"
    )
    if after is None:
        return await conn.fetch(sql, limit)
    return await conn.fetch(sql, limit, after)


async def store_reencrypted(
    conn: Connection,
    *,
    table: str,
    key: str,
    key_type: str,
    keys: Sequence[Any],
    values: dict[str, list[bytes | None]],
) -> int:
    """Write the new ciphertexts (None: leave that value as it is); how many rows changed."""
    if key_type not in KEY_TYPES:
        raise ValueError(f"unsupported key type {key_type!r}")
    names = list(values)
    sets = ", ".join(f"{_q(c)} = coalesce(r.{_q(c)}, t.{_q(c)})" for c in names)
    arrays = ", ".join([f"$1::{key_type}[]", *(f"${i}::bytea[]" for i in range(2, len(names) + 2))])
    aliases = ", ".join(["k", *(_q(c) for c in names)])
    status: str = await conn.execute(
        f"update {_q(table)} t set {sets}"
        f" from unnest({arrays}) as r({aliases}) where t.{_q(key)} = r.k",
        list(keys),
        *values.values(),
    )
    return int(status.rsplit(" ", 1)[-1])


async def values_under_key(
    conn: Connection,
    *,
    table: str,
    key: str,
    reads: Sequence[str],
    column: str,
    prefix: bytes,
    limit: int,
) -> list[Record]:
    """Up to `limit` rows whose `column` holds a value stored under the key `prefix` names (the
    bytes every such value starts with), with what its associated data is made from."""
    selected = ", ".join(_q(c) for c in dict.fromkeys([key, *reads, column]))
    sql = f"select {selected} from {_q(table)} where substr({_q(column)}, 1, $2) = $1 limit $3"
    return await conn.fetch(sql, prefix, len(prefix), limit)


async def count_under_other_keys(
    conn: Connection, *, table: str, columns: Sequence[str], prefix: bytes
) -> int:
    """How many values of `columns` are stored under any key but the one `prefix` names."""
    other = " + ".join(
        f"({_q(c)} is not null and substr({_q(c)}, 1, $2) <> $1)::int" for c in columns
    )
    sql = f"select coalesce(sum({other}), 0)::bigint from {_q(table)}"
    count: int = await conn.fetchval(sql, prefix, len(prefix))
    return count


async def key_checks(conn: Connection, kids: Sequence[str]) -> dict[str, bytes]:
    """The stored key check of each of these data key ids that has one."""
    rows = await conn.fetch(
        "select kid, sealed from data_key_checks where kid = any($1::text[])", list(kids)
    )
    return {r["kid"]: bytes(r["sealed"]) for r in rows}


async def record_key_checks(conn: Connection, checks: dict[str, bytes]) -> None:
    """Store these key checks; a kid that has one already keeps it (the first writer wins)."""
    await conn.execute(
        "insert into data_key_checks (kid, sealed)"
        " select * from unnest($1::text[], $2::bytea[])"
        " on conflict (kid) do nothing",
        list(checks),
        list(checks.values()),
    )

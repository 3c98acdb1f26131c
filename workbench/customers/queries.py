"""SQL of the customer butler: feeds, scoped lists and lookups, holdings, recommendations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record

_SUMMARY = (
    "c.id, c.external_id, c.owner_id, c.name_enc, c.phone_enc, c.id_number_enc, c.risk_level,"
    " c.segment, c.tags, c.aum, c.verified_at"
)

# The RMs whose customers a branch head sees: the users of their org subtree ({} = its root).
_SUBTREE_OWNERS = "c.owner_id = any(array(select s.id from subtree_users({}) s(id)))"


def _owners_clause(owner_id: uuid.UUID | None) -> str:
    """$1 is the RM (own customers) or, for a branch head, the root of their org subtree."""
    return "c.owner_id = $1" if owner_id is not None else _SUBTREE_OWNERS.format("$1")


# ---- feeds -----------------------------------------------------------------------------------


async def users_by_login(conn: Connection, logins: list[str]) -> dict[str, Record]:
    rows = await conn.fetch(
        "select id, lower(login) as login, role, active from users where lower(login) = any($1)",
        logins,
    )
    return {r["login"]: r for r in rows}


async def existing_external_ids(conn: Connection, external_ids: list[str]) -> set[str]:
    rows = await conn.fetch(
        "select external_id from customers where external_id = any($1)", external_ids
    )
    return {r["external_id"] for r in rows}


async def lock_owners(conn: Connection, external_ids: list[str]) -> dict[str, uuid.UUID]:
    """The owners of these customers, read under a row lock taken in external id order (the
    order every customer feed writes in): a feed moving them at the same time has committed
    first, and its owner is the one read, or waits for this transaction."""
    rows = await conn.fetch(
        """
        select external_id, owner_id from customers
         where external_id = any($1)
         order by external_id
           for update
        """,
        external_ids,
    )
    return {r["external_id"]: r["owner_id"] for r in rows}


_WRITE_CUSTOMERS = """
        with incoming as (
            select * from unnest(
                $1::uuid[], $2::text[], $3::uuid[], $4::bytea[], $5::bytea[], $6::bytea[],
                $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[], $11::smallint[], $12::text[],
                $13::text[], $14::numeric[], $15::bytea[]
            ) as i(id, external_id, owner_id, name_enc, id_number_enc, phone_enc, name_bidx,
                   surname_bidx, id_number_bidx, phone_bidx, risk_level, segment, tags_json, aum,
                   name_check)
        )
        insert into customers as c
               (id, external_id, owner_id, name_enc, id_number_enc, phone_enc, name_bidx,
                surname_bidx, id_number_bidx, phone_bidx, risk_level, segment, tags, aum,
                name_check)
        select i.id, i.external_id, i.owner_id, i.name_enc, i.id_number_enc, i.phone_enc,
               i.name_bidx, i.surname_bidx, i.id_number_bidx, i.phone_bidx, i.risk_level,
               i.segment, array(select jsonb_array_elements_text(i.tags_json::jsonb)), i.aum,
               i.name_check
          from incoming i
         order by i.external_id  -- one lock order for every feed: two at once never deadlock
        on conflict (external_id) {on_conflict}
        returning c.id, c.external_id, (xmax = 0) as inserted
        """

_UPDATE_CHANGED = """do update set
               owner_id = excluded.owner_id, name_enc = excluded.name_enc,
               id_number_enc = excluded.id_number_enc, phone_enc = excluded.phone_enc,
               name_bidx = excluded.name_bidx, surname_bidx = excluded.surname_bidx,
               id_number_bidx = excluded.id_number_bidx, phone_bidx = excluded.phone_bidx,
               risk_level = excluded.risk_level, segment = excluded.segment,
               tags = excluded.tags, aum = excluded.aum, name_check = excluded.name_check,
               updated_at = now()
         -- A row stored before name_check existed compares as if its name were the same
         -- (rewriting every customer once would send each to every RM's devices again).
         where (c.owner_id, c.name_bidx, c.id_number_bidx, c.phone_bidx, c.risk_level,
                c.segment, c.tags, c.aum, coalesce(c.name_check, excluded.name_check))
               is distinct from
               (excluded.owner_id, excluded.name_bidx, excluded.id_number_bidx,
                excluded.phone_bidx, excluded.risk_level, excluded.segment, excluded.tags,
                excluded.aum, excluded.name_check)"""


async def insert_customers(conn: Connection, rows: dict[str, list[Any]]) -> list[Record]:
    """Insert the customers not stored yet; one stored meanwhile (by a feed committed while
    this one waited on its external id) is left alone and not returned.

    Returns (id, external_id, inserted) of every row inserted.
    """
    return await conn.fetch(_WRITE_CUSTOMERS.format(on_conflict="do nothing"), *rows.values())


async def upsert_customers(conn: Connection, rows: dict[str, list[Any]]) -> list[Record]:
    """Insert or update by external_id, set-based; rows that would not change are left alone.

    Returns (id, external_id, inserted) of every row written.
    """
    return await conn.fetch(_WRITE_CUSTOMERS.format(on_conflict=_UPDATE_CHANGED), *rows.values())


async def products_by_code(conn: Connection, codes: list[str]) -> set[str]:
    """The codes of these that are products; a feed's keys are looked up trimmed."""
    trimmed = sorted({c.strip() for c in codes})
    rows = await conn.fetch("select code from products where code = any($1)", trimmed)
    return {r["code"] for r in rows}


async def customer_ids_by_external_id(
    conn: Connection, external_ids: list[str]
) -> dict[str, uuid.UUID]:
    """Customer ids by external id; a feed's keys are looked up trimmed."""
    trimmed = sorted({e.strip() for e in external_ids})
    rows = await conn.fetch(
        "select external_id, id from customers where external_id = any($1)", trimmed
    )
    return {r["external_id"]: r["id"] for r in rows}


async def upsert_holdings(
    conn: Connection,
    *,
    customer_ids: list[uuid.UUID],
    product_codes: list[str],
    amounts: list[Decimal],
    as_ofs: list[date],
) -> list[Record]:
    """Insert or update by (customer, product); an older `as_of` never overwrites a newer one."""
    return await conn.fetch(
        """
        insert into holdings as h (customer_id, product_code, amount, as_of)
        select * from unnest($1::uuid[], $2::text[], $3::numeric[], $4::date[])
                          as u(customer_id, product_code, amount, as_of)
         order by u.customer_id, u.product_code  -- one lock order: feeds never deadlock
        on conflict (customer_id, product_code) do update
           set amount = excluded.amount, as_of = excluded.as_of, updated_at = now()
         where h.as_of <= excluded.as_of
           and (h.amount, h.as_of) is distinct from (excluded.amount, excluded.as_of)
        returning (xmax = 0) as inserted
        """,
        customer_ids,
        product_codes,
        amounts,
        as_ofs,
    )


async def upsert_products(conn: Connection, rows: dict[str, list[Any]]) -> list[Record]:
    return await conn.fetch(
        """
        insert into products as p (code, name, category, risk_level, max_holding, active)
        select * from unnest($1::text[], $2::text[], $3::text[], $4::smallint[],
                             $5::numeric[], $6::boolean[])
                          as u(code, name, category, risk_level, max_holding, active)
         order by u.code  -- one lock order: feeds never deadlock
        on conflict (code) do update
           set name = excluded.name, category = excluded.category,
               risk_level = excluded.risk_level, max_holding = excluded.max_holding,
               active = excluded.active, updated_at = now()
         where (p.name, p.category, p.risk_level, p.max_holding, p.active)
               is distinct from (excluded.name, excluded.category, excluded.risk_level,
                                 excluded.max_holding, excluded.active)
        returning (xmax = 0) as inserted
        """,
        *rows.values(),
    )


# ---- the caller's customers ------------------------------------------------------------------


async def list_customers(
    conn: Connection,
    *,
    owner_id: uuid.UUID | None,
    scope_root: uuid.UUID | None,
    search_bidx: list[bytes] | None,
    tag: str | None,
    segment: str | None,
    risk_level: int | None,
    min_aum: Decimal | None,
    max_aum: Decimal | None,
    after: tuple[Decimal, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """Own customers (owner_id) or a subtree's (scope_root), richest first, keyset on (aum, id).

    `search_bidx` are blind indexes of the search text as a name, a surname, a phone number and an
    ID number; a customer matches if any of them equals the stored index.
    """
    where = Where()
    if owner_id is not None:
        where.add("c.owner_id = {}", owner_id)
    else:
        where.add(_SUBTREE_OWNERS, scope_root)
    where.when(
        search_bidx,
        "(c.name_bidx = any({0}::bytea[]) or c.surname_bidx = any({0}::bytea[])"
        " or c.phone_bidx = any({0}::bytea[]) or c.id_number_bidx = any({0}::bytea[]))",
    )
    where.when(tag, "c.tags @> array[{}::text]")
    where.when(segment, "c.segment = {}")
    where.when(risk_level, "c.risk_level = {}::smallint")
    where.when(min_aum, "c.aum >= {}::numeric")
    where.when(max_aum, "c.aum < {}::numeric")
    if after is not None:
        where.add("(c.aum, c.id) < ({}::numeric, {}::uuid)", *after)
    limit_param = where.param(limit)
    return await conn.fetch(
        f"""
        select {_SUMMARY} from customers c
         where {where.sql}
         order by c.aum desc, c.id desc
         limit {limit_param}
        """,
        *where.args,
    )


async def customer_in_scope(
    conn: Connection,
    customer_id: uuid.UUID,
    *,
    owner_id: uuid.UUID | None,
    scope_root: uuid.UUID | None,
) -> Record | None:
    """The customer if the caller may see it (own, or owned inside their subtree), else None."""
    return await conn.fetchrow(
        f"select {_SUMMARY} from customers c where c.id = $2 and {_owners_clause(owner_id)}",
        owner_id or scope_root,
        customer_id,
    )


async def name_of(conn: Connection, customer_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        "select external_id, name_enc, id_number_enc from customers where id = $1", customer_id
    )


async def holdings_of(conn: Connection, customer_id: uuid.UUID) -> list[Record]:
    return await conn.fetch(
        """
        select h.product_code, p.name as product_name, p.category, p.risk_level, h.amount, h.as_of
          from holdings h join products p on p.code = h.product_code
         where h.customer_id = $1
         order by h.amount desc, h.product_code
        """,
        customer_id,
    )


async def personal_data_for_update(conn: Connection, customer_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        """
        select id, external_id, owner_id, name_enc, id_number_enc, phone_enc, id_number_bidx,
               phone_bidx, verified_at
          from customers where id = $1 for update
        """,
        customer_id,
    )


async def mark_verified(conn: Connection, customer_id: uuid.UUID) -> None:
    await conn.execute(
        "update customers set verified_at = coalesce(verified_at, now()), updated_at = now()"
        " where id = $1",
        customer_id,
    )


# ---- recommendation rules and ranking --------------------------------------------------------


async def recommendation_rules(conn: Connection) -> list[Record]:
    return await conn.fetch(
        """
        select id, name, when_segment, when_tag, when_holds_category, when_min_aum,
               product_code, product_category, weight
          from recommendation_rules order by weight desc, name, id
        """
    )


async def replace_recommendation_rules(conn: Connection, rows: dict[str, list[Any]]) -> None:
    await conn.execute("delete from recommendation_rules")
    await conn.execute(
        """
        insert into recommendation_rules
               (id, name, when_segment, when_tag, when_holds_category, when_min_aum,
                product_code, product_category, weight)
        select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::numeric[], $7::text[], $8::text[], $9::int[])
        """,
        *rows.values(),
    )


async def ranked_products(conn: Connection, customer_id: uuid.UUID, *, limit: int) -> list[Record]:
    """Products for this customer by rule score. Suitability is a WHERE clause, not a weight:
    nothing above the customer's risk level, nothing held at its cap, nothing inactive."""
    return await conn.fetch(
        """
        with c as (
            select id, risk_level, segment, tags, aum from customers where id = $1
        ), held as (
            select h.product_code, h.amount, p.category
              from holdings h join products p on p.code = h.product_code
             where h.customer_id = $1
        ), applicable as (
            select r.* from recommendation_rules r, c
             where (r.when_segment is null or r.when_segment = c.segment)
               and (r.when_tag is null or r.when_tag = any(c.tags))
               and (r.when_min_aum is null or c.aum >= r.when_min_aum)
               and (r.when_holds_category is null
                    or exists (select 1 from held where held.category = r.when_holds_category))
        )
        select p.code, p.name, p.category, p.risk_level, c.risk_level as customer_risk_level,
               coalesce(sum(a.weight), 0)::int as score,
               coalesce(array_agg(a.name order by a.weight desc) filter (where a.name is not null),
                        '{}') as reasons
          from products p
         cross join c
          left join applicable a on a.product_code = p.code or a.product_category = p.category
          left join held h on h.product_code = p.code
         where p.active
           and p.risk_level <= c.risk_level
           and (p.max_holding is null or coalesce(h.amount, 0) < p.max_holding)
         group by p.code, p.name, p.category, p.risk_level, c.risk_level
        having coalesce(sum(a.weight), 0) >= 0
         order by score desc, p.code
         limit $2
        """,
        customer_id,
        limit,
    )


# ---- verification invitations ----------------------------------------------------------------


async def insert_invite(
    conn: Connection,
    *,
    invite_id: uuid.UUID,
    customer_id: uuid.UUID,
    created_by: uuid.UUID,
    ttl_seconds: int,
) -> Record:
    row = await conn.fetchrow(
        """
        insert into verification_invites (id, customer_id, created_by, expires_at)
        values ($1, $2, $3, now() + make_interval(secs => $4))
        returning id, expires_at
        """,
        invite_id,
        customer_id,
        created_by,
        ttl_seconds,
    )
    assert row is not None
    return row


async def invite(conn: Connection, invite_id: uuid.UUID, *, lock: bool = False) -> Record | None:
    return await conn.fetchrow(
        f"""
        select id, customer_id, created_by, expires_at, attempts, locked_at, completed_at,
               expires_at <= now() as expired
          from verification_invites where id = $1 {"for update" if lock else ""}
        """,
        invite_id,
    )


async def count_failed_attempt(conn: Connection, invite_id: uuid.UUID, *, max_attempts: int) -> int:
    """One more wrong answer; the invitation locks at `max_attempts`. Returns attempts so far."""
    attempts: int = await conn.fetchval(
        """
        update verification_invites
           set attempts = attempts + 1,
               locked_at = case when attempts + 1 >= $2 then now() else locked_at end
         where id = $1 returning attempts
        """,
        invite_id,
        max_attempts,
    )
    return attempts


async def complete_invite(conn: Connection, invite_id: uuid.UUID) -> None:
    await conn.execute(
        "update verification_invites set completed_at = now() where id = $1", invite_id
    )


async def close_invite(conn: Connection, invite_id: uuid.UUID) -> None:
    """An invitation no longer needed (its customer is verified through another): it ends now."""
    await conn.execute(
        "update verification_invites set expires_at = least(expires_at, now()) where id = $1",
        invite_id,
    )


async def verified_at(
    conn: Connection, customer_id: uuid.UUID, *, lock: bool = False
) -> datetime | None:
    """When the customer was verified (None: not yet, or no such customer); `lock` locks the
    customer's row, and waits for an answer being checked for them to commit or roll back."""
    value: datetime | None = await conn.fetchval(
        f"select verified_at from customers where id = $1 {'for update' if lock else ''}",
        customer_id,
    )
    return value

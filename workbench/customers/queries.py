"""SQL of the customer butler: feeds, scoped lists and lookups, holdings, recommendations."""

from __future__ import annotations

import uuid
from datetime import date
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
# A customer still with the bank: one who left it (closed, by the customer feed) is in no RM's
# daily work (lists, search, the 360° view, targets), though their history is kept.
ACTIVE = "c.closed_at is null"


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
    first, and its owner is the one read, or waits for this transaction. So does whatever
    creates work for their owner (`hold_owners`): the feed's handover sees all of it."""
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


async def hold_owners(
    conn: Connection, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The owners of these customers, held until the transaction ends: taken by whatever gives
    work (a task) to a customer's owner, before it reads who that is. A shared row lock (FOR
    KEY SHARE: the lock the work's foreign key to the customer takes anyway, only taken before
    the owner is read rather than after), in external id order, as `lock_owners` takes its
    locks: a feed moving one of them has committed first (its owner is the one read, here and
    in every later statement of the transaction), or waits for this transaction and then
    hands over the work it created. Only a feed changes an owner, always under `lock_owners`'
    FOR UPDATE, which is what this lock conflicts with."""
    rows = await conn.fetch(
        """
        select id, owner_id from customers
         where id = any($1::uuid[])
         order by external_id
           for key share
        """,
        customer_ids,
    )
    return {r["id"]: r["owner_id"] for r in rows}


async def hold_owner_accounts(
    conn: Connection, owner_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Record]:
    """The users who own customers held by `hold_owners` (taken first: the customers, then
    their owners), each with `active`, `role` and `org_unit_id` as committed now, held until
    the transaction ends. Taken by whatever gives work to a customer's owner, before it reads
    whether that owner is an active RM. A shared row lock (FOR KEY SHARE: the lock the work's
    foreign key to its assignee takes anyway, only taken before the owner is read rather than
    after), in id order: an admin disabling an owner or changing their role (`user_for_update`,
    FOR UPDATE, after the staff lock and no customer row) has committed first, and this reads
    them as it left them, as does every later statement of the transaction; or waits for this
    transaction, and its hand-over then counts the work created."""
    rows = await conn.fetch(
        """
        select id, active, role, org_unit_id from users
         where id = any($1::uuid[])
         order by id
           for key share
        """,
        owner_ids,
    )
    return {r["id"]: r for r in rows}


_INCOMING = """
        with incoming as (
            select i.*, array(select jsonb_array_elements_text(i.tags_json::jsonb)) as bank_tags
              from unnest(
                $1::uuid[], $2::text[], $3::uuid[], $4::bytea[], $5::bytea[], $6::bytea[],
                $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[], $11::smallint[], $12::text[],
                $13::text[], $14::numeric[], $15::bytea[], $16::bytea[], $17::boolean[]
            ) as i(id, external_id, owner_id, name_enc, id_number_enc, phone_enc, name_bidx,
                   surname_bidx, id_number_bidx, phone_bidx, risk_level, segment, tags_json, aum,
                   name_check, name_bidx_before, closed)
        )"""

_INSERT_CUSTOMERS = f"""{_INCOMING}
        insert into customers as c
               (id, external_id, owner_id, name_enc, id_number_enc, phone_enc, name_bidx,
                surname_bidx, id_number_bidx, phone_bidx, risk_level, segment, bank_tags, tags,
                aum, name_check, closed_at)
        select i.id, i.external_id, i.owner_id, i.name_enc, i.id_number_enc, i.phone_enc,
               i.name_bidx, i.surname_bidx, i.id_number_bidx, i.phone_bidx, i.risk_level,
               i.segment, i.bank_tags, i.bank_tags, i.aum, i.name_check,
               case when i.closed then now() end
          from incoming i
         order by i.external_id  -- one lock order for every feed: two at once never deadlock
        on conflict (external_id) do nothing
        returning c.id, c.external_id, true as inserted, c.identity_version,
                  null::text[] as identity_changed, null::timestamptz as verification_cleared,
                  null::boolean as closed, c.closed_at
        """

# The bank's tags of a stored customer (null `bank_tags`: stored before they were kept apart).
_BANK_TAGS = "coalesce({0}.bank_tags, customer_tags_without({0}.tags, {0}.product_tags))"

# Which parts of the identity a feed row changes: the ID number, the phone, or the name. A name
# is the same if its index equals the row's, in today's form or the one stored before names
# were indexed without their spaces and dots (a row the feed or `reindex` has not rewritten).
_IDENTITY_CHANGED = """array_remove(array[
               case when o.name_bidx <> all(array[i.name_bidx, i.name_bidx_before])
                    then 'name' end,
               case when o.id_number_bidx <> i.id_number_bidx then 'id_number' end,
               case when o.phone_bidx <> i.phone_bidx then 'phone' end], null)"""

_UPDATE_CUSTOMERS = f"""{_INCOMING}, changed as (
            select i.*, o.id as customer_id, o.verified_at as verified_before,
                   o.closed_at is not null as closed_before,
                   {_IDENTITY_CHANGED} as identity_changed
              from incoming i join customers o on o.external_id = i.external_id
             -- A row stored before name_check existed compares as if its name were the same
             -- (rewriting every customer once would send each to every RM's devices again).
             where (o.owner_id, o.name_bidx, o.id_number_bidx, o.phone_bidx, o.risk_level,
                    o.segment, {_BANK_TAGS.format("o")}, o.aum,
                    coalesce(o.name_check, i.name_check), o.closed_at is not null)
                   is distinct from
                   (i.owner_id, i.name_bidx, i.id_number_bidx, i.phone_bidx, i.risk_level,
                    i.segment, i.bank_tags, i.aum, i.name_check, i.closed)
        )
        update customers c
           set owner_id = x.owner_id, name_enc = x.name_enc, id_number_enc = x.id_number_enc,
               phone_enc = x.phone_enc, name_bidx = x.name_bidx, surname_bidx = x.surname_bidx,
               id_number_bidx = x.id_number_bidx, phone_bidx = x.phone_bidx,
               risk_level = x.risk_level, segment = x.segment, bank_tags = x.bank_tags,
               -- the product's tags (a survey's) stay: a feed replaces only the bank's
               tags = x.bank_tags || customer_tags_without(c.product_tags, x.bank_tags),
               aum = x.aum, name_check = x.name_check,
               -- another identity: whoever was verified, this one has not been
               verified_at = case when x.identity_changed = '{{}}' then c.verified_at end,
               identity_version = c.identity_version
                                  + case when x.identity_changed = '{{}}' then 0 else 1 end,
               -- closed since the feed first said so; reopened: active again
               closed_at = case when x.closed then coalesce(c.closed_at, now()) end,
               updated_at = now()
          from changed x
         where c.id = x.customer_id
        returning c.id, c.external_id, false as inserted, c.identity_version,
                  x.identity_changed,
                  case when x.identity_changed <> '{{}}' then x.verified_before end
                      as verification_cleared,
                  -- the customer's status changed by this row: closed (true), reopened (false)
                  case when x.closed is distinct from x.closed_before then x.closed end
                      as closed,
                  c.closed_at
        """


async def insert_customers(conn: Connection, rows: dict[str, list[Any]]) -> list[Record]:
    """Insert the customers not stored yet; one stored meanwhile (by a feed committed while
    this one waited on its external id) is left alone and not returned.

    Returns (id, external_id, inserted, ...) of every row inserted, as `update_customers`
    (`closed` null: a customer stored closed has nothing to close).
    """
    return await conn.fetch(_INSERT_CUSTOMERS, *rows.values())


async def update_customers(conn: Connection, rows: dict[str, list[Any]]) -> list[Record]:
    """Update stored customers (locked by `lock_owners`) by external_id, set-based; rows that
    would not change are left alone. A change of name, ID number or phone clears the
    verification and counts up the identity's version.

    Returns of every row written: id, external_id, inserted (false), identity_version,
    identity_changed (the parts changed: name, id_number, phone), verification_cleared
    (when the verification this cleared was made, or null), closed (true: this row closed
    the customer, false: reopened them, null: their status is as it was) and closed_at (since
    when the customer is closed, null while active).
    """
    return await conn.fetch(_UPDATE_CUSTOMERS, *rows.values())


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
    where.add(ACTIVE)
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
    """The customer if the caller may see it (own, or owned inside their subtree, and still with
    the bank), else None."""
    return await conn.fetchrow(
        f"select {_SUMMARY} from customers c"
        f" where c.id = $2 and {_owners_clause(owner_id)} and {ACTIVE}",
        owner_id or scope_root,
        customer_id,
    )


async def closed_among(conn: Connection, customer_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these customers have left the bank (closed by the customer feed)."""
    rows = await conn.fetch(
        "select id from customers where id = any($1::uuid[]) and closed_at is not null",
        customer_ids,
    )
    return {r["id"] for r in rows}


async def name_of(conn: Connection, customer_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        "select external_id, name_enc, id_number_enc from customers where id = $1", customer_id
    )


async def holdings_of(conn: Connection, customer_id: uuid.UUID) -> list[Record]:
    """The customer's positions; one at 0 is closed (sold) and not shown. Its row stays, with
    its `as_of`, so an older feed row never brings the sold position back."""
    return await conn.fetch(
        """
        select h.product_code, p.name as product_name, p.category, p.risk_level, h.amount, h.as_of
          from holdings h join products p on p.code = h.product_code
         where h.customer_id = $1 and h.amount > 0
         order by h.amount desc, h.product_code
        """,
        customer_id,
    )


async def personal_data_for_update(conn: Connection, customer_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        """
        select id, external_id, owner_id, name_enc, id_number_enc, phone_enc, id_number_bidx,
               phone_bidx, verified_at, identity_version
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


async def lock_recommendation_rules(conn: Connection) -> None:
    """Hold the rule table against other replacements until the transaction ends (readers go
    on): what a replacement's audit row says it changed is what it changed."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended('recommendation-rules', 0))")


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


async def ranked_products(
    conn: Connection,
    customer_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[int, str] | None = None,
) -> list[Record]:
    """Products for this customer by rule score (highest first, then by code), those ranked
    after the key `after` (score, code). Suitability is a WHERE clause, not a weight: nothing
    above the customer's risk level, nothing held at its cap, nothing inactive."""
    return await conn.fetch(
        """
        with c as (
            select id, risk_level, segment, tags, aum from customers where id = $1
        ), held as (
            select h.product_code, h.amount, p.category
              from holdings h join products p on p.code = h.product_code
             where h.customer_id = $1 and h.amount > 0  -- a position at 0 is sold: not held
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
           and ($3::int is null
                or coalesce(sum(a.weight), 0)::int < $3::int
                or (coalesce(sum(a.weight), 0)::int = $3::int and p.code > $4::text))
         order by score desc, p.code
         limit $2
        """,
        customer_id,
        limit,
        after[0] if after else None,
        after[1] if after else None,
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
    """An invitation for the customer's identity now (`identity_version`): one made for an
    identity a feed has changed since no longer verifies anyone."""
    row = await conn.fetchrow(
        """
        insert into verification_invites (id, customer_id, created_by, expires_at,
                                          identity_version)
        select $1, c.id, $3, now() + make_interval(secs => $4), c.identity_version
          from customers c where c.id = $2
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
               identity_version, expires_at <= now() as expired
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


async def end_invites_of(conn: Connection, customer_ids: list[uuid.UUID]) -> None:
    """The open verification invites of these customers end now (the bank closed them): a
    link the customer was told had expired stays so if the bank reopens them."""
    if customer_ids:
        await conn.execute(
            "update verification_invites set expires_at = least(expires_at, now())"
            " where customer_id = any($1::uuid[]) and completed_at is null",
            customer_ids,
        )


async def verification_state(
    conn: Connection, customer_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    """The customer's (verified_at, identity_version, closed), or None for no such customer;
    `lock` locks the customer's row, and waits for an answer being checked for them (or a feed
    changing them) to commit or roll back."""
    return await conn.fetchrow(
        "select verified_at, identity_version, closed_at is not null as closed"
        " from customers where id = $1"
        f" {'for update' if lock else ''}",
        customer_id,
    )


async def owner_name(conn: Connection, customer_id: uuid.UUID) -> str | None:
    """The display name of the customer's RM now, while active (None: no one to name)."""
    name: str | None = await conn.fetchval(
        "select u.name from customers c join users u on u.id = c.owner_id and u.active"
        " where c.id = $1",
        customer_id,
    )
    return name


# ---- re-indexing names -------------------------------------------------------------------------


async def customer_ids_after(conn: Connection, after: uuid.UUID | None, *, limit: int) -> list[Any]:
    """The next `limit` customer ids after `after` (None: from the first), in id order."""
    rows = await conn.fetch(
        "select id from customers where $1::uuid is null or id > $1 order by id limit $2",
        after,
        limit,
    )
    return [r["id"] for r in rows]


async def names_for_reindex(conn: Connection, ids: list[uuid.UUID]) -> list[Record]:
    """These customers' stored names and name indexes, locked in external id order (the order
    every feed locks customers in, so a feed and a re-index never wait on each other in a
    cycle) until the transaction ends."""
    return await conn.fetch(
        """
        select id, external_id, name_enc, name_bidx, surname_bidx from customers
         where id = any($1) order by external_id for update
        """,
        ids,
    )


async def store_name_indexes(
    conn: Connection,
    *,
    ids: list[uuid.UUID],
    name_bidx: list[bytes],
    surname_bidx: list[bytes],
) -> int:
    """Rewrite the name indexes of these customers (their names are unchanged: not a change of
    the customer, `updated_at` stays). Returns how many were rewritten."""
    result: str = await conn.execute(
        """
        update customers c set name_bidx = i.name_bidx, surname_bidx = i.surname_bidx
          from unnest($1::uuid[], $2::bytea[], $3::bytea[]) as i(id, name_bidx, surname_bidx)
         where c.id = i.id
        """,
        ids,
        name_bidx,
        surname_bidx,
    )
    return int(result.rsplit(" ", 1)[-1])

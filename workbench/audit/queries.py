"""SQL of the audit trail. Rows never carry secrets or personal data, only ids.

The table is append-only (migration 0060): `record` is the only statement that writes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

# An event's object id: the subject's part after its type (`brochure:<id>` -> `<id>`), as the
# index `audit_events_object` has it.
_OBJECT_ID = "substr(a.subject, strpos(a.subject, ':') + 1)"


async def record(
    conn: Connection,
    *,
    action: str,
    actor_id: uuid.UUID | None,
    subject: str | None = None,
    client_ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """
        insert into audit_events (actor_id, action, subject, client_ip, detail)
        values ($1, $2, $3, $4::inet, $5)
        """,
        actor_id,
        action,
        subject,
        client_ip,
        detail or {},
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """Which events: in [start, end), by the user of this login (any case), of this kind, about
    the object of this id (each None: any)."""

    start: datetime | None = None
    end: datetime | None = None
    actor_login: str | None = None
    kind: str | None = None
    object_id: str | None = None


async def events(
    conn: Connection,
    filters: Filters,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int,
) -> list[asyncpg.Record]:
    """Events matching `filters`, newest first (time, then id), those after `after` (the key of
    the last one of the page before), at most `limit`; with the actor's name and login."""
    conditions: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # Only the conditions asked for: each is then planned on its own index (time, actor, kind,
    # object), where `$n is null or ...` would be planned for none once the plan is generic.
    if filters.start is not None:
        conditions.append(f"a.occurred_at >= {arg(filters.start)}")
    if filters.end is not None:
        conditions.append(f"a.occurred_at < {arg(filters.end)}")
    if filters.actor_login is not None:
        conditions.append(
            "a.actor_id = (select u2.id from users u2"
            f" where lower(u2.login) = lower({arg(filters.actor_login)}))"
        )
    if filters.kind is not None:
        conditions.append(f"a.action = {arg(filters.kind)}")
    if filters.object_id is not None:
        conditions.append(f"a.subject is not null and {_OBJECT_ID} = {arg(filters.object_id)}")
    if after is not None:
        conditions.append(f"(a.occurred_at, a.id) < ({arg(after[0])}, {arg(after[1])}::bigint)")
    where = f"where {' and '.join(conditions)}" if conditions else ""
    return await conn.fetch(
        f"""select a.id, a.occurred_at, a.action, a.subject, host(a.client_ip) as client_ip,
                   a.detail, a.actor_id, u.name as actor_name, u.login as actor_login
              from audit_events a
              left join users u on u.id = a.actor_id
              {where}
             order by a.occurred_at desc, a.id desc
             limit {arg(limit)}""",
        *args,
    )


async def login_exists(conn: Connection, login: str) -> bool:
    """Whether some user has this login (any case)."""
    return bool(
        await conn.fetchval(
            "select exists (select from users where lower(login) = lower($1))", login
        )
    )

"""Identity SQL: devices as the consoles list them: a scope's devices with their user, unit,
revocation, open session and push registration (filtered, keyset-paginated), and a user's
phones and tablets signed in now."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.identity.queries._common import Record

_DEVICE_ROW = """
    select d.device_id, d.platform, d.model, d.app_version, d.first_seen_at, d.last_seen_at,
           d.revoked_at, d.revoked_by, rb.name as revoked_by_name,
           u.id as user_id, u.login, u.name as user_name, u.org_unit_id, o.name as org_unit_name,
           exists (select from sessions s
                    where s.device_id = d.device_id and s.ended_at is null) as session_open,
           p.provider as push_provider, p.active as push_active,
           p.registered_at as push_registered_at, p.deactivated_reason as push_reason
      from devices d
      join users u on u.id = d.user_id
      join org_units o on o.id = u.org_unit_id
      left join users rb on rb.id = d.revoked_by
      left join push_registrations p on p.device_id = d.device_id
"""


async def device_rows(
    conn: Connection,
    *,
    scope_root: uuid.UUID | None,
    device_id: str | None = None,
    q: str | None = None,
    revoked: bool | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 1,
) -> list[Record]:
    """Devices whose user is in the subtree under `scope_root` (every device for None), the most
    recently seen first, keyset-paginated by (last_seen_at, device_id). `q`: a case-insensitive
    substring of the user's login or name, or the device's id or model."""
    # Only the filters given become SQL (fixed fragments, values as parameters), so each shape of
    # the list gets a plan of its own: the subtree's users through (org_unit_id), then their
    # devices through (user_id).
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if scope_root is not None:
        where.append(
            f"u.org_unit_id = any(array(select s.id from org_subtree({arg(scope_root)}) s(id)))"
        )
    if device_id is not None:
        where.append(f"d.device_id = {arg(device_id)}")
    if q:
        needle = arg(q)
        where.append(
            f"""(strpos(lower(u.login), lower({needle})) > 0
                 or strpos(lower(u.name), lower({needle})) > 0
                 or strpos(lower(d.device_id), lower({needle})) > 0
                 or strpos(lower(coalesce(d.model, '')), lower({needle})) > 0)"""
        )
    if revoked is not None:
        where.append("d.revoked_at is not null" if revoked else "d.revoked_at is null")
    if after is not None:
        where.append(f"(d.last_seen_at, d.device_id) < ({arg(after[0])}, {arg(after[1])})")
    sql = _DEVICE_ROW
    if where:
        sql += " where " + "\n   and ".join(where)
    sql += f" order by d.last_seen_at desc, d.device_id desc limit {arg(limit)}"
    return await conn.fetch(sql, *args)


async def app_devices_signed_in(conn: Connection, user_id: uuid.UUID) -> list[Record]:
    """The user's phones and tablets (not browsers: they keep no offline copy) with a session
    of theirs open now, the most recently seen first."""
    return await conn.fetch(
        """
        select d.device_id, d.platform, d.model, d.last_seen_at
          from devices d
         where d.user_id = $1 and d.platform <> 'web'
           and exists (select from sessions s
                        where s.device_id = d.device_id and s.user_id = $1
                          and s.ended_at is null)
         order by d.last_seen_at desc, d.device_id
        """,
        user_id,
    )

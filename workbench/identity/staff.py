"""The bank's org tree and staff accounts (admins): org units, users, their sign-in rights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import identity as wire
from push import devices as push_devices
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection, after_commit
from workbench.errors import (
    DomainError,
    NotFound,
)
from workbench.identity import queries
from workbench.identity.service import Auth, conflict
from workbench.ids import uuid7
from workbench.visible import one_line_shown, reads_as
from workbench.workorders import handover as work_order_handover

# ---- org units -------------------------------------------------------------------------------


class NameNotVisible(DomainError):
    status, code, title = 422, "request.validation_failed", "Invalid request"


def visible_name(text: str, *, path: str = "$.name") -> str:
    """A unit's or a person's name as every list will show it: trimmed, with something visible
    left, and no control or direction-changing characters (a blank row in the org tree, a name
    that reads backwards). 422 naming `path` otherwise."""
    name = text.strip()
    if not one_line_shown(name):
        message = "must show something: no spaces only, invisible or control characters"
        raise NameNotVisible(f"{path}: {message}", errors=[{"path": path, "message": message}])
    return name


def plain_login(login: str) -> str:
    """A login as typed at sign-in: the contract's pattern lets one final newline through (a
    regular expression's `$` matches before it), which only the database refused."""
    if "\n" in login:
        message = "letters, digits and . _ @ - only"
        raise NameNotVisible(
            f"$.login: {message}", errors=[{"path": "$.login", "message": message}]
        )
    return login


async def save_org_unit(
    conn: Connection,
    *,
    request: wire.OrgUnitCreate,
    caller: Caller | None,
    client_ip: str | None,
) -> tuple[wire.OrgUnit, bool]:
    """Create an org unit, or rename / move an existing one (with its subtree); (unit, created).
    `client_ip`: the admin's address, for the audit trail (None: no client, e.g. a script)."""
    request = msgspec.structs.replace(request, name=visible_name(request.name))
    await queries.lock_org_setup(conn)  # two moves at once cannot make a cycle together
    # A move hands on work orders held by heads no longer over them: in turn with changes to
    # staff (taken after the setup lock, as everything that takes both does).
    await work_order_handover.serialise_staff_changes(conn)
    parent = None
    if request.parent_id is not None:
        parent = await queries.org_unit(conn, request.parent_id)
        if parent is None:
            raise NotFound("org_unit")
    existing = await queries.org_unit(conn, request.id) if request.id else None
    if parent is not None and reads_as(request.name) in {
        reads_as(sibling["name"])
        for sibling in await queries.sibling_names(
            conn, parent_id=parent["id"], leave_out=request.id
        )
    }:  # under the lock: two saves at once cannot both take the name
        raise conflict(
            "org_unit.name_taken",
            f"There is already a unit named {request.name!r} under this parent",
        )
    if existing is None:
        if parent is None and await queries.root_org_unit(conn) is not None:
            raise conflict("org_unit.root_exists", "There is already a head office; give parent_id")
        row = await queries.insert_org_unit(
            conn, unit_id=request.id or uuid7(), name=request.name, parent=parent
        )
    else:
        if parent is None and existing["parent_id"] is not None:
            raise conflict("org_unit.root_exists", "Only the head office has no parent")
        if parent is not None and parent["path"].startswith(existing["path"]):
            raise conflict("org_unit.cycle", "An org unit cannot move under its own subtree")
        row = await queries.move_and_rename_org_unit(
            conn, unit=existing, name=request.name, parent=parent
        )
    changed = (
        [] if existing is None else [k for k in ("name", "parent_id") if existing[k] != row[k]]
    )
    if "parent_id" in changed:
        await work_order_handover.unit_moved(conn, unit_id=row["id"])
    if existing is None or changed:  # a save that changes nothing is no event
        await audit.record(
            conn,
            action="org_unit_created" if existing is None else "org_unit_updated",
            actor_id=caller.user_id if caller else None,
            subject=f"org_unit:{row['id']}",
            client_ip=client_ip,
            detail=_unit_change(row, None if existing is None else changed),
        )
    return _org_unit(row), existing is None


def _unit_change(row: queries.Record, changed: list[str] | None) -> dict[str, Any]:
    """The audit detail of a unit's save: its parent when new; what changed otherwise."""
    if changed is None:
        return {"parent_id": str(row["parent_id"])}
    moved = {"parent_id": str(row["parent_id"])} if "parent_id" in changed else {}
    return {"changed": changed, **moved}


@dataclass(frozen=True, slots=True)
class OrgTreeUnit:
    """An org unit in the admin's tree, with how many users belong to it directly."""

    unit: wire.OrgUnit
    users: int
    active_users: int


async def org_tree(conn: Connection, *, caller: Caller) -> list[OrgTreeUnit]:
    """The caller's subtree, parents first, with each unit's own users counted."""
    counts = {r["org_unit_id"]: r for r in await queries.org_unit_user_counts(conn)}
    return [
        OrgTreeUnit(
            unit=unit,
            users=counts[unit.id]["users"] if unit.id in counts else 0,
            active_users=counts[unit.id]["active_users"] if unit.id in counts else 0,
        )
        for unit in await list_org_units(conn, caller=caller)
    ]


async def list_org_units(conn: Connection, *, caller: Caller) -> list[wire.OrgUnit]:
    rows = await queries.org_units_in_scope(conn, scope_root=caller.scope_root)
    return [_org_unit(r) for r in rows]


def _org_unit(row: queries.Record) -> wire.OrgUnit:
    return wire.OrgUnit(
        id=row["id"], name=row["name"], parent_id=row["parent_id"], depth=row["depth"]
    )


# ---- users -----------------------------------------------------------------------------------


# What an admin may change of a user besides the password: the names the audit trail lists.
_USER_FIELDS = ("login", "name", "role", "org_unit_id")


async def save_user(
    conn: Connection,
    *,
    auth: Auth,
    caller: Caller | None,
    request: wire.UserCreate,
    client_ip: str | None,
) -> tuple[wire.User, bool]:
    """Create a user, or replace the one with this id (its password too); (user, created).

    A replacement is audited as `user_updated` with the names of the fields that changed
    (`changed`, empty when none did) and, since the password is always set anew, as
    `user_password_set` like POST .../password: never values, never the password."""
    request = msgspec.structs.replace(
        request, name=visible_name(request.name), login=plain_login(request.login)
    )
    if await queries.org_unit(conn, request.org_unit_id) is None:
        raise NotFound("org_unit")
    password_hash = await auth.passwords.hash(request.password)
    fields: dict[str, Any] = dict(
        login=request.login,
        name=request.name,
        role=request.role.value,
        org_unit_id=request.org_unit_id,
        password_hash=password_hash,
    )
    actor = caller.user_id if caller else None
    # In turn with other changes to staff, before reading the user (their work orders follow).
    await work_order_handover.serialise_staff_changes(conn)
    # Locked: what `changed` names is what this save changed, not a concurrent one.
    existing = await queries.user_for_update(conn, request.id) if request.id else None
    if existing is None:
        row = await queries.insert_user(conn, user_id=request.id or uuid7(), **fields)
        if row is None:
            raise conflict("user.login_taken", "Another user already has this login")
        await _work_orders_follow(conn, None, row)
        await audit.record(
            conn,
            action="user_created",
            actor_id=actor,
            subject=f"user:{row['id']}",
            client_ip=client_ip,
            detail={"role": row["role"]},
        )
        return _user(row), True
    taken = await queries.user_for_login(conn, request.login)
    if taken is not None and taken["id"] != existing["id"]:
        raise conflict("user.login_taken", "Another user already has this login")
    if request.role is not wire.Role.ADMIN:
        await _keep_an_admin(conn, existing)
    row = await queries.update_user(conn, user_id=existing["id"], **fields)
    changed = sorted(k for k in _USER_FIELDS if row[k] != existing[k])
    await _work_orders_follow(conn, existing, row)
    # Tokens carry role and org unit, and the password changed: sign in again everywhere.
    ended = await _sign_out_everywhere(conn, auth=auth, user_id=existing["id"])
    subject = f"user:{row['id']}"
    await audit.record(
        conn,
        action="user_updated",
        actor_id=actor,
        subject=subject,
        client_ip=client_ip,
        detail={"changed": changed, "role": row["role"], "sessions_ended": ended},
    )
    await audit.record(
        conn,
        action="user_password_set",
        actor_id=actor,
        subject=subject,
        client_ip=client_ip,
        detail={"sessions_ended": ended},
    )
    await _new_password_unlocks(conn, auth=auth, caller=caller, row=row, client_ip=client_ip)
    return _user(row), False


async def list_users(
    conn: Connection,
    *,
    caller: Caller,
    org_unit_id: uuid.UUID | None,
    after: uuid.UUID | tuple[str, uuid.UUID] | None,
    limit: int,
    q: str | None = None,
    role: wire.Role | None = None,
    active: bool | None = None,
    by_name: bool = False,
) -> list[wire.User]:
    """Users of the caller's subtree (or of one unit's subtree within it), by id or, `by_name`,
    by name; `q` matches part of the login or name in any case."""
    if org_unit_id is not None and not await queries.org_unit_in_scope(
        conn, org_unit_id, scope_root=caller.scope_root
    ):
        raise NotFound("org_unit")
    # A unit inside the caller's scope narrows it to that unit's own subtree.
    root = org_unit_id if org_unit_id is not None else caller.scope_root
    rows = await queries.users_in_subtree(
        conn, root=root, after=after, limit=limit, q=q.strip() if q and q.strip() else None,
        role=role.value if role else None, active=active, by_name=by_name,
    )  # fmt: skip
    return [_user(r) for r in rows]


def _user(row: queries.Record, *, last_seen_at: datetime | None = None) -> wire.User:
    return wire.User(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        role=wire.Role(row["role"]),
        org_unit_id=row["org_unit_id"],
        active=row["active"],
        created_at=row["created_at"],
        last_seen_at=row.get("last_seen_at", last_seen_at),
    )


async def user(conn: Connection, *, user_id: uuid.UUID) -> wire.User:
    """One user, with their last time seen (admins: any user)."""
    row = await queries.user_by_id(conn, user_id)
    if row is None:
        raise NotFound("user")
    return _user(row, last_seen_at=await queries.last_seen(conn, user_id))


async def handover(conn: Connection, *, user_id: uuid.UUID) -> wire.Handover:
    """How many customers the user owns and how many open tasks they have (to hand over)."""
    row = await queries.handover(conn, user_id)
    return wire.Handover(customers=row["customers"], open_tasks=row["open_tasks"])


async def update_user(
    conn: Connection,
    *,
    auth: Auth,
    caller: Caller,
    user_id: uuid.UUID,
    request: wire.UserUpdate,
    client_ip: str | None,
) -> wire.UserChanged:
    """Change what `request` gives (never the password). A new role, unit or login ends the
    user's sessions everywhere: their tokens carry role and unit."""
    # In turn with other changes to staff, before reading the user (their work orders follow).
    await work_order_handover.serialise_staff_changes(conn)
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    given = {
        name: value
        for name in _USER_FIELDS
        if (value := getattr(request, name)) is not msgspec.UNSET
    }
    if "role" in given:
        given["role"] = given["role"].value
    if "name" in given:
        given["name"] = visible_name(given["name"])
    if "login" in given:
        given["login"] = plain_login(given["login"])
    changed = sorted(k for k, v in given.items() if v != existing[k])
    if not changed:
        return wire.UserChanged(user=_user(existing), sessions_ended=0)
    if "org_unit_id" in changed and await queries.org_unit(conn, given["org_unit_id"]) is None:
        raise NotFound("org_unit")
    if "role" in changed and existing["role"] == wire.Role.ADMIN.value:
        await _keep_an_admin(conn, existing)
    fields = {k: given.get(k, existing[k]) for k in _USER_FIELDS}
    taken = await queries.user_for_login(conn, fields["login"])
    if taken is not None and taken["id"] != user_id:
        raise conflict("user.login_taken", "Another user already has this login")
    row = await queries.change_user(conn, user_id=user_id, **fields)
    if row is None:
        raise conflict("user.login_taken", "Another user already has this login")
    await _work_orders_follow(conn, existing, row)
    ended = 0
    if {"login", "role", "org_unit_id"} & set(changed):
        ended = await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    moved = bool({"role", "org_unit_id"} & set(changed))
    await audit.record(
        conn,
        action="user_updated",
        actor_id=caller.user_id,
        subject=f"user:{user_id}",
        client_ip=client_ip,
        detail={"changed": changed, "role": fields["role"], "sessions_ended": ended},
    )
    return wire.UserChanged(
        user=_user(row, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
        handover=await _handover_of_rm(conn, existing) if moved else None,
    )


async def set_user_active(
    conn: Connection,
    *,
    auth: Auth,
    caller: Caller,
    user_id: uuid.UUID,
    active: bool,
    client_ip: str | None,
) -> wire.UserChanged:
    """Disable a user (their sessions end at once on every instance and they cannot sign in)
    or enable them again. Disabling oneself, or the last active admin, is refused.

    The phones and tablets that held a session of theirs are told to erase their offline copy
    on their next call, for as long as the user stays disabled. The devices are not revoked: a
    colleague may sign in on a shared one, and enabling the user again leaves nothing blocked
    (their old tokens then only ask them to sign in again)."""
    # In turn with other changes to staff, before reading the user (their work orders follow).
    await work_order_handover.serialise_staff_changes(conn)
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    if not active and user_id == caller.user_id:
        raise conflict("user.cannot_disable_self", "You cannot disable your own account")
    if not active and existing["active"] and existing["role"] == wire.Role.ADMIN.value:
        await _keep_an_admin(conn, existing)
    wiped = [] if active else await queries.app_devices_signed_in(conn, user_id)
    row = await queries.set_user_active(conn, user_id, active=active)
    await _work_orders_follow(conn, existing, row)
    ended = 0 if active else await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    if existing["active"] != active:
        await auth.revocations.user_disabled(conn, user_id, disabled=not active)
    if existing["active"] != active:
        await audit.record(
            conn,
            action="user_enabled" if active else "user_disabled",
            actor_id=caller.user_id,
            subject=f"user:{user_id}",
            client_ip=client_ip,
            detail={} if active else {"sessions_ended": ended},
        )
    return wire.UserChanged(
        user=_user(row, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
        handover=None if active else await _handover_of_rm(conn, existing),
        devices_to_wipe=len(wiped),
    )


@dataclass(frozen=True, slots=True)
class SignedInDevice:
    """A phone or tablet of the user with a session open on it (told to wipe if disabled)."""

    device_id: str
    platform: wire.Platform
    model: str | None
    last_seen_at: datetime


async def devices_to_wipe(conn: Connection, *, user_id: uuid.UUID) -> list[SignedInDevice]:
    """The user's phones and tablets that disabling them now would tell to erase their offline
    copy (those with a session open; browsers keep none)."""
    return [
        SignedInDevice(
            device_id=r["device_id"],
            platform=wire.Platform(r["platform"]),
            model=r["model"],
            last_seen_at=r["last_seen_at"],
        )
        for r in await queries.app_devices_signed_in(conn, user_id)
    ]


async def set_user_password(
    conn: Connection,
    *,
    auth: Auth,
    caller: Caller,
    user_id: uuid.UUID,
    password: str,
    client_ip: str | None,
) -> wire.UserChanged:
    """Set the user's password (a forgotten one) and end every session of theirs."""
    existing = await queries.user_for_update(conn, user_id)
    if existing is None:
        raise NotFound("user")
    await queries.set_password_hash(conn, user_id, await auth.passwords.hash(password))
    ended = await _sign_out_everywhere(conn, auth=auth, user_id=user_id)
    await audit.record(
        conn,
        action="user_password_set",
        actor_id=caller.user_id,
        subject=f"user:{user_id}",
        client_ip=client_ip,
        detail={"sessions_ended": ended},
    )
    await _new_password_unlocks(conn, auth=auth, caller=caller, row=existing, client_ip=client_ip)
    return wire.UserChanged(
        user=_user(existing, last_seen_at=await queries.last_seen(conn, user_id)),
        sessions_ended=ended,
    )


# ---- sign-in locks ---------------------------------------------------------------------------

# The audit action of a lock lifted (by an admin or branch head, or by a new password).
SIGN_IN_UNLOCKED = "user.sign_in_unlocked"


async def unlock_sign_in(
    conn: Connection, *, auth: Auth, caller: Caller, user_id: uuid.UUID, client_ip: str | None
) -> wire.SignInUnlocked:
    """Lift the lock that wrong passwords put on the user's sign-in (anyone who knows a login
    can lock it so): they may sign in at once; the limits per address stay. Admins: any user;
    branch heads: the users of their subtree (others are not found). Audited whether or not
    it was locked (the failed attempts counted so far are forgotten either way)."""
    row = await queries.user_in_scope(conn, user_id, scope_root=caller.scope_root)
    if row is None:
        raise NotFound("user")
    was_locked = await auth.limiter.locked_for(row["login"]) > 0
    await audit.record(
        conn,
        action=SIGN_IN_UNLOCKED,
        actor_id=caller.user_id,
        subject=f"user:{user_id}",
        client_ip=client_ip,
        detail={"was_locked": was_locked},
    )
    await _unlock_once_committed(conn, auth=auth, login=row["login"])
    return wire.SignInUnlocked(was_locked=was_locked)


async def _unlock_once_committed(conn: Connection, *, auth: Auth, login: str) -> None:
    """Lift the lock once the transaction that records it (the audit row, a new password)
    commits: a rollback leaves the lock as it was, never a lock lifted with no trace."""

    async def unlock() -> None:
        await auth.limiter.unlock(login)

    if not after_commit(conn, unlock):  # no request transaction (a script): at once
        await unlock()


async def sign_in_locked_for(auth: Auth, user: wire.User) -> int:
    """Seconds until the user's sign-in, locked by wrong passwords, unlocks by itself (0: it
    is not locked)."""
    return await auth.limiter.locked_for(user.login)


async def sign_in_locked(auth: Auth, users: list[wire.User]) -> set[uuid.UUID]:
    """Those of these users whose sign-in wrong passwords have locked now."""
    locked = await auth.limiter.locked_logins([u.login for u in users])
    return {u.id for u in users if u.login in locked}


async def _new_password_unlocks(
    conn: Connection,
    *,
    auth: Auth,
    caller: Caller | None,
    row: queries.Record,
    client_ip: str | None,
) -> None:
    """A new password lifts the lock of wrong passwords on the user's sign-in (whoever was
    guessing now guesses at another password) once it is committed; audited when there was one
    to lift."""
    locked = await auth.limiter.locked_for(row["login"]) > 0
    await _unlock_once_committed(conn, auth=auth, login=row["login"])
    if locked:
        await audit.record(
            conn,
            action=SIGN_IN_UNLOCKED,
            actor_id=caller.user_id if caller else None,
            subject=f"user:{row['id']}",
            client_ip=client_ip,
            detail={"was_locked": True, "by": "password_set"},
        )


async def _sign_out_everywhere(conn: Connection, *, auth: Auth, user_id: uuid.UUID) -> int:
    """End every session of the user: their tokens stop on every instance once this commits,
    their console sessions with them, and nothing more is pushed to their devices."""
    ended = await queries.end_sessions(conn, reason="user_changed", user_id=user_id)
    await push_devices.user_signed_out(conn, user_id, reason="user_changed")
    await auth.revocations.end_sessions(conn, ended)
    return len(ended)


async def _keep_an_admin(conn: Connection, existing: queries.Record) -> None:
    """Refuse to demote or disable the last active admin (nobody could manage users then)."""
    if existing["role"] != wire.Role.ADMIN.value or not existing["active"]:
        return
    admins = await queries.lock_active_admins(conn)
    if not [a for a in admins if a != existing["id"]]:
        raise conflict(
            "user.last_admin", "This is the last active admin: make another user admin first"
        )


async def _work_orders_follow(
    conn: Connection, existing: queries.Record | None, row: queries.Record
) -> None:
    """The user's unfinished work orders follow the change (`workorders.handover`; `existing`
    None: a new user): those about a customer owner's customers to their unit now, so that its
    branch heads see them and are told when they fall overdue; a branch head's others, once
    they head the unit no longer, to the one who does; and a new head of a unit takes over
    those still held there by heads who left."""

    def post(r: queries.Record) -> work_order_handover.Post:
        return work_order_handover.Post(
            role=r["role"], org_unit_id=r["org_unit_id"], active=r["active"]
        )

    await work_order_handover.staff_changed(
        conn,
        user_id=row["id"],
        before=post(existing) if existing is not None else None,
        after=post(row),
    )


async def _handover_of_rm(conn: Connection, existing: queries.Record) -> wire.Handover | None:
    """For an RM: their customers and open tasks, still theirs after the change."""
    if existing["role"] != wire.Role.RM.value:
        return None
    return await handover(conn, user_id=existing["id"])


async def ensure_admin(conn: Connection, *, auth: Auth, login: str, password: str) -> bool:
    """Create an admin with this login in the head office unless the login exists (bootstrap)."""
    await queries.lock_org_setup(conn)  # several API processes may start at once
    if await queries.user_for_login(conn, login) is not None:
        return False
    root = await queries.root_org_unit(conn)
    if root is None:
        root = await queries.insert_org_unit(conn, unit_id=uuid7(), name="Head Office", parent=None)
    row = await queries.insert_user(
        conn,
        user_id=uuid7(),
        login=login,
        name="Administrator",
        role=wire.Role.ADMIN.value,
        org_unit_id=root["id"],
        password_hash=await auth.passwords.hash(password),
    )
    if row is not None:
        await audit.record(
            conn, action="admin_bootstrapped", actor_id=None, subject=f"user:{row['id']}"
        )
    return row is not None

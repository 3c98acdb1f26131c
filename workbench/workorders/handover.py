"""Unfinished work orders follow the people and units they belong to.

These moves hand them over, each in the transaction that makes it:

- A bank feed moves a customer (a new `owner_login`, `workbench.customers.feeds`): the work
  orders about them that are not closed yet (open, in progress, or resolved, which may still be
  reopened) go where their alert rule would send them for the new owner: to the new RM
  (`owner_rm`), or to the branch head nearest above the new RM's unit (`branch_head`), as when
  one is opened. The former RM can no longer open the customer, and the new one would not know
  (as with tasks, `workbench.tasks.handover`).
- An admin moves an RM to another org unit, or gives a customer owner another role
  (`workbench.identity.staff`): they keep their customers (only the feed moves customers), so
  the work orders about them go, in the user's unit now, where their rule sends them (an
  `owner_rm` rule's to the owner, a `branch_head` rule's to the branch head over that unit), and
  an RM's other ones assigned to them take the new unit too. Otherwise the old branch's heads
  kept reading them and were told when they fell overdue, while the new branch's head could not
  open them. An RM made branch head keeps their customers' work orders (as a new one is opened
  for them, `alerts.assignee_for`); made RM again, they get them back in their unit now.
- An admin moves a branch head to another unit, gives them another role or disables them: the
  work orders assigned or escalated to them (but those about their own customers, while they
  own customers still) go to the branch head now responsible for the work order's unit at that
  level (the nearest at or above it for an assignee; `escalation.target` for an escalation).
  With nobody there, they stay as they are (a count is logged).
- Someone becomes the active branch head of a unit (made one, moved or created as one, enabled
  again): the work orders of its subtree still held by a head who left when nobody could take
  over (or by anyone else no active branch head over them; an RM's own assignments aside) are
  handed on as if that holder left now, to them or a head nearer, who is told.
- An admin moves an org unit (with its subtree) under another parent: the work orders of the
  subtree assigned or escalated to a branch head who is no longer over them (the old branch's
  or region's) are handed on the same way, to the head over them now (`unit_moved`).

Admin changes to staff take turns (an advisory lock, `serialise_staff_changes`), so that each
sees what the one before committed. Whatever else picks a work order's holder from who is head
or owner now (the escalation worker, an answer opening a work order) takes the lock's shared
side (`queries.hold_off_staff_changes`): it waits for a change under way, and a change waits for
it, so none assigns or escalates to a head whose handover has already run.

Whenever the unit changes, the branch heads who see the work order, and whom it escalates to
when overdue, are the new unit's; one escalated already is re-pointed to the branch head of that
level over the new unit, who is told. Each records a `handed_over` event (`data`: why in
`reason`, the assignee and unit before and after, the branch head escalated to), the same in the
audit trail (`work_order.handed_over`, by 系统: the change that caused it is audited on its own,
an admin's with their address) and tells its new assignee. Offline sync sees the move: the
change log records every work order for whoever held it before and holds it now (migration
0022, on any update of a work order's assignee, escalation or unit), so it leaves the former
holders' devices and reaches the new ones'.

Closed work orders stay as they are (their history is the former holder's work), but their
readers are shown the customer (masked name, answers) only while they may see the customer
(`service`): after a customer's move the former RM and their branch head see "*" and no answers,
and after their RM's move to another unit the former branch's heads, on their devices too (sync
is told to send those work orders again). An org unit moved in the tree changes who reads the
work orders of its subtree and who sees its users' customers: the change log itself records
those work orders for each branch head whose sight of them changed (migrations 0022 and 0049).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications.service import notify
from workbench.workorders import alerts, escalation, queries, sla

log = logging.getLogger("workbench.workorders.handover")
EVENT_KIND = "handed_over"
HANDED_OVER = "work_order.handed_over"  # in the audit trail

# Why a work order was handed over (`data.reason` of its event), and how its push says so.
CUSTOMER_MOVED = "customer_moved"
RM_MOVED = "rm_moved"
BRANCH_HEAD_LEFT = "branch_head_left"
UNIT_MOVED = "unit_moved"
_BECAUSE = {
    CUSTOMER_MOVED: "随客户",
    RM_MOVED: "随客户经理调动",
    BRANCH_HEAD_LEFT: "因原负责人调离",
    UNIT_MOVED: "随机构调整",
}


@dataclass(frozen=True, slots=True)
class _Move:
    """A work order (its row as locked) and where it goes."""

    row: queries.Record
    assignee: uuid.UUID
    unit: uuid.UUID
    escalated_to: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Post:
    """Where a member of staff works, as an admin's change leaves it."""

    role: str
    org_unit_id: uuid.UUID
    active: bool


# ---- a customer moved by a bank feed -----------------------------------------------------------


async def hand_over_unfinished(
    conn: Connection,
    moves: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    *,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Each (customer, former RM, new RM) a feed moved (in its transaction, after the move):
    the customers' unfinished work orders follow them to their new RM. The ones moved."""
    if not moves:
        return []
    now = now or datetime.now(UTC)
    customers = sorted({m[0] for m in moves})
    await queries.resend_closed(conn, customers)  # the former holders' copies lose the customer
    moved: list[_Move] = []
    for row in await queries.unfinished_of_customers(conn, customers):
        target = await alerts.assignee_for(
            conn,
            assign_to=row["assign_to"],
            owner=row["owner_id"],
            owner_unit=row["owner_unit_id"],
            unit=row["owner_unit_id"],
        )
        if target is None:  # nobody over the new RM's unit either: it stays where it is
            log.warning(
                "customer moved but nobody to hand their work order to",
                extra={"work_order_id": str(row["id"])},
            )
            continue
        move = await _to(conn, row, *target)
        if move is not None:
            moved.append(move)
    extra = {m.row["id"]: {"customer_owner": str(m.row["owner_id"])} for m in moved}
    return await _hand_over(conn, moved, reason=CUSTOMER_MOVED, extra=extra, now=now)


async def _to(
    conn: Connection, row: queries.Record, assignee: uuid.UUID, unit: uuid.UUID
) -> _Move | None:
    """The work order going to `assignee` in `unit`, an escalation made already re-pointed to
    the branch head of its level over that unit; None when that is where it is."""
    if (assignee, unit) == (row["assignee_id"], row["org_unit_id"]):
        return None
    level = row["escalation_level"]
    escalated_to = (
        await escalation.target(conn, level=level, unit_id=unit, assignee_id=assignee)
        if level
        else None
    )
    return _Move(row, assignee, unit, escalated_to)


# ---- a member of staff moved, given another role or disabled by an admin ------------------------

# The roles whose work orders about their own customers stay theirs (`alerts.assignee_for` gives
# an `owner_rm` rule's to the customer's owner, whatever their role).
_OWNERS = ("rm", "branch_head")


async def serialise_staff_changes(conn: Connection) -> None:
    """Take turns with every other admin change to staff, until this transaction ends. Taken
    first thing, before the user's row is read and locked, and again by `staff_changed`:
    otherwise a head disabled while an RM moved under them kept the RM's escalations (each
    read the other's state from before it committed), and two changes could wait on each
    other's rows."""
    await queries.lock_staff_changes(conn)


async def staff_changed(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    before: Post | None,
    after: Post,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """After an admin's change to a user (in its transaction, the user row updated; `before`
    None: a new user), in turn with every other such change (`serialise_staff_changes`):

    1. a customer owner whose role or unit changed, active (an RM, or an RM made branch head),
       or an RM moved, takes the unfinished work orders about their customers to their unit
       now, where the rule sends them (`rm_moved`); an RM also those assigned to them;
    2. a branch head who no longer heads their unit hands on the others they hold
       (`branch_head_left`);
    3. one who now heads a unit they did not head before takes over, in its subtree, the work
       orders of holders who are not active branch heads over them (`head_arrived`);
    4. a user moved to another unit (whatever their role): the closed work orders about their
       customers, which stay, are sent again by sync to whoever holds them
       (`customers_seen_elsewhere`).

    The ones moved; a change of none of these (a new name, the same post) moves nothing."""
    await serialise_staff_changes(conn)  # taken already by `staff`: this holds it on its own too
    now = now or datetime.now(UTC)
    moved: list[uuid.UUID] = []
    takes_own = _takes_own_along(before, after)
    if takes_own:
        held_as_rm = before is not None and before.role == "rm"
        moved += await rm_moved(conn, rm_id=user_id, with_assigned=held_as_rm, now=now)
    if _left_their_unit(before, after):
        moved += await branch_head_left(conn, head_id=user_id, keeps_own=takes_own, now=now)
    if _became_head(before, after):
        moved += await head_arrived(conn, head_id=user_id, unit_id=after.org_unit_id, now=now)
    if before is not None and before.org_unit_id != after.org_unit_id:
        await customers_seen_elsewhere(conn, owner_id=user_id)
    return list(dict.fromkeys(moved))


async def customers_seen_elsewhere(conn: Connection, *, owner_id: uuid.UUID) -> int:
    """A customer owner now in another unit: the branch heads over the old one no longer see
    their customers, so the closed work orders about them (which stay where they are, read by
    those heads) show the customer as "*" and no answers from now on. Sync is told to send
    those work orders again to whoever holds them (as after a customer's move), or their
    devices would keep the name and the answers. How many."""
    return await queries.resend_closed_of_owner(conn, owner_id)


def _takes_own_along(before: Post | None, after: Post) -> bool:
    """Whether the change takes the user's customers' work orders along (`rm_moved`): an RM
    moved to another unit (as ever, whatever else changed), or an active customer owner after
    a change of role or unit (an RM made branch head keeps their customers, and a head made RM
    again gets theirs back)."""
    if before is None:
        return False
    if before.role == "rm" and before.org_unit_id != after.org_unit_id:
        return True
    changed = (before.role, before.org_unit_id) != (after.role, after.org_unit_id)
    return changed and after.active and after.role in _OWNERS


def _left_their_unit(before: Post | None, after: Post) -> bool:
    """Whether a branch head no longer heads the unit they did (moved, another role,
    disabled)."""
    if before is None or before.role != "branch_head" or before == after:
        return False
    return not (_heads(after) and before.org_unit_id == after.org_unit_id)


def _became_head(before: Post | None, after: Post) -> bool:
    """Whether the user now actively heads a unit they did not before (made branch head, moved
    as one, enabled again as one, or created as one)."""
    if not _heads(after):
        return False
    return before is None or not (_heads(before) and before.org_unit_id == after.org_unit_id)


def _heads(post: Post) -> bool:
    return post.role == "branch_head" and post.active


async def rm_moved(
    conn: Connection,
    *,
    rm_id: uuid.UUID,
    with_assigned: bool = True,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """A customer owner now in another unit or role: the unfinished work orders about their
    customers go, in their unit now, where the rule sends them (`alerts.assignee_for`, as when
    one is opened: an `owner_rm` rule's to them, a `branch_head` rule's to the branch head
    nearest above that unit); `with_assigned` (an RM moved), the others assigned to them stay
    theirs and take that unit too. The ones moved."""
    now = now or datetime.now(UTC)
    moved: list[_Move] = []
    for row in await queries.unfinished_of_rm(conn, rm_id, with_assigned=with_assigned):
        unit = row["rm_unit_id"]
        target: tuple[uuid.UUID, uuid.UUID] | None = (
            await alerts.assignee_for(
                conn, assign_to=row["assign_to"], owner=rm_id, owner_unit=unit, unit=unit
            )
            if row["owner_id"] == rm_id
            else (rm_id, unit)
        )
        move = await _to(conn, row, *target) if target is not None else None
        if move is not None:
            moved.append(move)
    extra = {m.row["id"]: {"staff": str(rm_id)} for m in moved}
    return await _hand_over(conn, moved, reason=RM_MOVED, extra=extra, now=now)


async def branch_head_left(
    conn: Connection,
    *,
    head_id: uuid.UUID,
    keeps_own: bool = False,
    only: list[uuid.UUID] | None = None,
    reason: str = BRANCH_HEAD_LEFT,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """A branch head moved, given another role or disabled: each unfinished work order
    assigned or escalated to them (`only`: of these) goes to the branch head now responsible
    for its unit at that level; one with nobody there stays (counted in the log). `keeps_own`:
    the ones assigned to them about their own customers stay theirs (`rm_moved` has put them
    where they go). `reason`: why, for the events (`UNIT_MOVED`: the unit moved away from
    under them instead). The ones moved."""
    now = now or datetime.now(UTC)
    moved: list[_Move] = []
    stayed = 0
    for row in await queries.unfinished_held_by(conn, head_id, only=only):
        kept = keeps_own and row["owner_id"] == head_id
        assignee, escalated_to, nobody = await _after_head(conn, row, head_id, kept=kept)
        stayed += nobody
        if (assignee, escalated_to) != (row["assignee_id"], row["escalated_to_id"]):
            moved.append(_Move(row, assignee, row["org_unit_id"], escalated_to))
    if stayed:
        log.warning(
            "branch head left but nobody now heads some of their work orders' units",
            extra={"work_orders": stayed},
        )
    extra = {m.row["id"]: {"staff": str(head_id)} for m in moved}
    return await _hand_over(conn, moved, reason=reason, extra=extra, now=now)


async def head_arrived(
    conn: Connection, *, head_id: uuid.UUID, unit_id: uuid.UUID, now: datetime | None = None
) -> list[uuid.UUID]:
    """`head_id` now actively heads `unit_id`: the unfinished work orders of its subtree held
    by someone who is no active branch head over them any more (a head who left when nobody
    could take over, so they stayed) are handed on as when each holder left
    (`branch_head_left`), to this head or one nearer, who is told. Otherwise the new head was
    never escalated to and the old one, who can no longer open them, still was. The ones
    moved."""
    return await _hand_on_stale(conn, unit_id, reason=BRANCH_HEAD_LEFT, now=now)


async def unit_moved(
    conn: Connection, *, unit_id: uuid.UUID, now: datetime | None = None
) -> list[uuid.UUID]:
    """An admin moved `unit_id` (with its subtree) under another parent: the unfinished work
    orders of the subtree assigned or escalated to a branch head who is no longer over them
    (the old branch's or region's) go to the one over them now, as when a head leaves; the
    RMs' own stay theirs. Who reads them follows the subtree by itself. The ones moved."""
    return await _hand_on_stale(conn, unit_id, reason=UNIT_MOVED, now=now)


async def _hand_on_stale(
    conn: Connection, unit_id: uuid.UUID, *, reason: str, now: datetime | None
) -> list[uuid.UUID]:
    moved: list[uuid.UUID] = []
    for holder, work_order_ids in await queries.stale_holders_in_subtree(conn, unit_id):
        moved += await branch_head_left(
            conn, head_id=holder, only=work_order_ids, reason=reason, now=now
        )
    return moved


async def _after_head(
    conn: Connection, row: queries.Record, head_id: uuid.UUID, *, kept: bool = False
) -> tuple[uuid.UUID, uuid.UUID | None, bool]:
    """(assignee, branch head escalated to, whether a place the head held found nobody) of a
    work order once `head_id` left: each place they held goes to the one responsible for its
    unit now (it may still be them: moved up over the same unit); with nobody, it stays.
    `kept`: they stay its assignee (their own customer's)."""
    unit, level = row["org_unit_id"], row["escalation_level"]
    assignee, escalated_to, nobody = row["assignee_id"], row["escalated_to_id"], False
    if assignee == head_id and not kept:
        found = await queries.nearest_branch_head(conn, unit)
        nobody = found is None
        assignee = found or assignee
    if level and (escalated_to == head_id or assignee != row["assignee_id"]):
        over = await escalation.target(conn, level=level, unit_id=unit, assignee_id=assignee)
        nobody = nobody or (over is None and escalated_to == head_id)
        escalated_to = over or escalated_to
    return assignee, escalated_to, nobody


# ---- handing over ------------------------------------------------------------------------------


async def _hand_over(
    conn: Connection,
    moved: list[_Move],
    *,
    reason: str,
    extra: dict[uuid.UUID, dict[str, Any]],
    now: datetime,
) -> list[uuid.UUID]:
    """Give each work order its new assignee, unit and escalation at once, record a
    `handed_over` event on each (and in the audit trail: ids only, no actor, as no one signed in
    moved it) and tell whoever is new to it. The ones moved."""
    if not moved:
        return []
    ids = [m.row["id"] for m in moved]
    await queries.hand_over(
        conn,
        work_order_ids=ids,
        assignee_ids=[m.assignee for m in moved],
        unit_ids=[m.unit for m in moved],
        escalated_to_ids=[m.escalated_to for m in moved],
        now=now,
    )
    event_ids = [uuid7() for _ in moved]
    datas = [_event_data(m, reason=reason, extra=extra.get(m.row["id"], {})) for m in moved]
    await queries.insert_system_events(
        conn, event_ids=event_ids, work_order_ids=ids, kind=EVENT_KIND, datas=datas, now=now
    )
    for work_order_id, event_id, data in zip(ids, event_ids, datas, strict=True):
        await audit.record(
            conn,
            action=HANDED_OVER,
            actor_id=None,
            subject=f"work_order:{work_order_id}",
            detail={**data, "event_id": str(event_id)},
        )
    for event_id, move in zip(event_ids, moved, strict=True):
        await _tell(conn, move, reason=reason, event_id=event_id, now=now)
    return ids


def _event_data(move: _Move, *, reason: str, extra: dict[str, Any]) -> dict[str, Any]:
    """What the `handed_over` event records: why, and the assignee and unit before and after."""
    row = move.row
    return {
        "reason": reason,
        **extra,
        "from": str(row["assignee_id"]),
        "to": str(move.assignee),
        "from_unit": str(row["org_unit_id"]),
        "to_unit": str(move.unit),
        **({"escalated_to": str(move.escalated_to)} if move.escalated_to else {}),
    }


async def _tell(
    conn: Connection, move: _Move, *, reason: str, event_id: uuid.UUID, now: datetime
) -> None:
    """Tell the new assignee (pushed; no customer data: the app fetches the work order) and,
    for one escalated already, the branch head now over it."""
    row, assignee, escalated_to = move.row, move.assignee, move.escalated_to
    title = row["survey_title"]
    because = _BECAUSE[reason]
    local_due = row["due_at"].astimezone(sla.BANK_ZONE).strftime("%m-%d %H:%M")
    late = row["due_at"] <= now and row["state"] in ("open", "in_progress")
    data = {"work_order_id": str(row["id"]), "due_at": row["due_at"].isoformat()}
    if assignee != row["assignee_id"]:
        owner_now = reason == CUSTOMER_MOVED and assignee == row["owner_id"]
        await notify(
            conn,
            user_id=assignee,
            category=categories.WORK_ORDER,
            title="工单转交：客户已转至您名下" if owner_now else "工单转交",
            body=f"“{title}”的预警工单{because}转交给您，"
            + (f"已于 {local_due} 逾期，请尽快处理" if late else f"请在 {local_due} 前处理"),
            dedupe_key=f"work_order:{row['id']}:handed_over:{event_id}",
            data=data,
            subject_id=row["id"],
        )
    if escalated_to is not None and escalated_to not in (row["escalated_to_id"], assignee):
        level = row["escalation_level"]
        await notify(
            conn,
            user_id=escalated_to,
            category=categories.WORK_ORDER_ESCALATED,
            title="工单逾期升级" if level == 1 else "工单逾期二次升级",
            body=f"“{title}”的预警工单{because}转入，已于 {local_due} 逾期未解决，请督办",
            dedupe_key=f"work_order:{row['id']}:escalated:{level}:handed_over:{event_id}",
            data={**data, "level": level},
            subject_id=row["id"],
        )

"""Work orders follow an admin's staff changes. An RM moved to another unit keeps their
customers, so their unfinished work orders take the new unit: its branch head reads them (the
old one no longer, on the device too) and is the one they escalate to. An RM made branch head
keeps their customers' work orders, and made RM again gets them back. A branch head moved,
given another role or disabled hands the other work orders assigned or escalated to them to the
branch head now over each one's unit; with nobody there they stay, until someone becomes the
head over them. Admin changes take turns, so two at once leave nothing with a head who left;
the worker's escalations and customers' answers opening work orders wait for one under way.
Each move is a `handed_over` event and a push to whoever is new to it; closed work orders and
changes that keep the unit move nothing."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from mobile_contracts.v1 import identity as wire
from mobile_contracts.v1.identity import Role
from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.sync.sync_data import App
from tests.workbench.workorders.wo_setup import ADMIN, RM01, Bench, caller, close, unit_id, user_id
from workbench.db import use_json_codecs
from workbench.identity import staff
from workbench.workorders import alerts, escalation

ORDERS = "/api/v1/work-orders"
USERS = "/api/v1/admin/users"
RM05 = caller("rm05", Role.RM, "team-west-1")


# ---- helpers ---------------------------------------------------------------------------------


async def _patch(bench: Bench, login: str, **fields: Any) -> None:
    """As admin: PATCH /admin/users/{id} with these fields."""
    changed = await bench.client.patch(
        f"{USERS}/{user_id(login)}", headers=bench.admin, json=fields
    )
    assert changed.status_code == 200, changed.text


async def _replace(bench: Bench, login: str, role: str, unit: str) -> None:
    """As admin: the upsert form of POST /admin/users (the user's id, every field)."""
    name = await bench.conn.fetchval("select name from users where id = $1", user_id(login))
    saved = await bench.client.post(USERS, headers=bench.admin, json={
        "id": str(user_id(login)), "login": login, "name": name, "role": role,
        "org_unit_id": str(unit_id(unit)), "password": "workbench-demo",
    })  # fmt: skip
    assert saved.status_code == 200, saved.text


async def _new_branch_head(bench: Bench, login: str, unit: str) -> uuid.UUID:
    """As admin: a new branch head of `unit` (signs in with the demo password)."""
    made = await bench.client.post(USERS, headers=bench.admin, json={
        "login": login, "name": f"新负责人 {login}", "role": "branch_head",
        "org_unit_id": str(unit_id(unit)), "password": "workbench-demo",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    return uuid.UUID(made.json()["id"])


async def _answer(bench: Bench, score: int, hours_ago: float, customer: Any = None) -> Any:
    """A work order opened `hours_ago` by a customer's answer (24-hour rules: due 24 hours
    after)."""
    _, opened = await bench.respond(
        customer=customer or bench.customer, answers={"score": score},
        now=datetime.now(UTC) - timedelta(hours=hours_ago),
    )  # fmt: skip
    assert opened is not None
    return opened


async def _escalate(bench: Bench, at: datetime | None = None) -> int:
    async with bench.conn.transaction():
        return await escalation.escalate_due(bench.conn, now=at or datetime.now(UTC))


async def _row(bench: Bench, work_order: Any) -> Any:
    return await bench.conn.fetchrow(
        "select assignee_id, org_unit_id, escalated_to_id, escalation_level, state, updated_at"
        " from work_orders where id = $1",
        work_order,
    )


async def _handed_over(bench: Bench, work_order: Any) -> list[dict[str, Any]]:
    rows = await bench.conn.fetch(
        "select data from work_order_events where work_order_id = $1 and kind = 'handed_over'"
        " order by created_at, id",
        work_order,
    )
    return [r["data"] for r in rows]


async def _told(bench: Bench, login: str | uuid.UUID, work_order: Any) -> list[str]:
    who = user_id(login) if isinstance(login, str) else login
    rows = await bench.conn.fetch(
        "select category from notifications where user_id = $1 and subject_id = $2"
        " order by created_at",
        who,
        work_order,
    )
    return [r["category"] for r in rows]


async def _status(bench: Bench, login: str, work_order: Any) -> int:
    headers = await headers_of(bench.client, login)
    status: int = (await bench.client.get(f"{ORDERS}/{work_order}", headers=headers)).status_code
    return status


# ---- an RM moved to another unit -------------------------------------------------------------


async def test_an_rms_unfinished_work_orders_move_to_their_new_branch(bench: Bench) -> None:
    await bench.rule()
    opened = await _answer(bench, 2, 1)
    closed = await _answer(bench, 1, 2)
    await close(bench, closed, RM01)
    closed_before = await _row(bench, closed)
    bh_east, bh_west = (await headers_of(bench.client, "bh.east"),
                        await headers_of(bench.client, "bh.west"))  # fmt: skip
    devices = {"bh.east": App(bench.client, bh_east, bench.conn, schema=4),
               "bh.west": App(bench.client, bh_west, bench.conn, schema=4)}  # fmt: skip
    for device in devices.values():
        await device.sync()
    assert str(opened) in devices["bh.east"].rows("work_order")
    assert str(opened) not in devices["bh.west"].rows("work_order")

    await _patch(bench, "rm01", org_unit_id=str(unit_id("team-west-1")))

    # Still rm01's, now in West Team 1: bh.west reads it, bh.east gets 404.
    row = await _row(bench, opened)
    assert (row["assignee_id"], row["org_unit_id"], row["state"]) == (
        user_id("rm01"), unit_id("team-west-1"), "open",
    )  # fmt: skip
    seen = await bench.client.get(f"{ORDERS}/{opened}", headers=bh_west)
    assert seen.status_code == 200, seen.text
    assert seen.json()["customer"] == "张*三"
    listed = (await bench.client.get(f"{ORDERS}?limit=200", headers=bh_west)).json()["items"]
    assert str(opened) in {w["id"] for w in listed}
    assert (await bench.client.get(f"{ORDERS}/{opened}", headers=bh_east)).status_code == 404
    assert await _status(bench, "rm01", opened) == 200
    assert [e["kind"] for e in seen.json()["events"]] == ["opened", "handed_over"]
    assert await _handed_over(bench, opened) == [{
        "reason": "rm_moved", "staff": str(user_id("rm01")),
        "from": str(user_id("rm01")), "to": str(user_id("rm01")),
        "from_unit": str(unit_id("team-east-1")), "to_unit": str(unit_id("team-west-1")),
    }]  # fmt: skip

    # Offline: bh.east's device loses it, bh.west's gets it.
    changes = await devices["bh.east"].sync()
    assert ("delete", str(opened)) in [(c["op"], c["id"]) for c in changes]
    assert str(opened) not in devices["bh.east"].rows("work_order")
    await devices["bh.west"].sync()
    assert str(opened) in devices["bh.west"].rows("work_order")

    # The closed one stays with East Team 1, untouched.
    assert await _row(bench, closed) == closed_before
    assert await _handed_over(bench, closed) == []
    assert (await bench.client.get(f"{ORDERS}/{closed}", headers=bh_east)).status_code == 200


async def test_escalation_after_an_rms_move_goes_to_the_new_branch_head(bench: Bench) -> None:
    await bench.rule()
    overdue = await _answer(bench, 2, 30)  # due 6 hours ago
    later = await _answer(bench, 3, 20)  # due in 4 hours
    assert await _escalate(bench) == 1
    assert (await _row(bench, overdue))["escalated_to_id"] == user_id("bh.east")

    await _replace(bench, "rm01", "rm", "team-west-1")  # the upsert form moves them too

    # Escalated already: re-pointed to the new branch's head, who is told and reads it.
    row = await _row(bench, overdue)
    assert (row["org_unit_id"], row["escalated_to_id"], row["escalation_level"]) == (
        unit_id("team-west-1"), user_id("bh.west"), 1,
    )  # fmt: skip
    assert await _told(bench, "bh.west", overdue) == ["work_order.escalated"]
    assert (await _handed_over(bench, overdue))[0]["escalated_to"] == str(user_id("bh.west"))
    # Not yet escalated: when it falls due, the new branch's head hears of it.
    due = await bench.conn.fetchval("select due_at from work_orders where id = $1", later)
    assert await _escalate(bench, due + timedelta(minutes=1)) == 1
    assert (await _row(bench, later))["escalated_to_id"] == user_id("bh.west")
    assert await _told(bench, "bh.west", later) == ["work_order.escalated"]
    assert await _told(bench, "bh.east", later) == []
    for work_order in (overdue, later):
        assert await _status(bench, "bh.west", work_order) == 200
        assert await _status(bench, "bh.east", work_order) == 404


async def test_a_branch_head_rules_work_order_goes_to_the_rms_new_branch_head(
    bench: Bench,
) -> None:
    await bench.rule(assign_to="branch_head")
    opened = await _answer(bench, 2, 1)
    assert (await _row(bench, opened))["assignee_id"] == user_id("bh.east")

    await _patch(bench, "rm01", org_unit_id=str(unit_id("team-west-1")))

    row = await _row(bench, opened)
    assert (row["assignee_id"], row["org_unit_id"]) == (
        user_id("bh.west"), unit_id("team-west-1"),
    )  # fmt: skip
    assert await _told(bench, "bh.west", opened) == ["work_order.assigned"]
    assert await _status(bench, "bh.west", opened) == 200
    assert await _status(bench, "bh.east", opened) == 404


async def test_a_change_that_keeps_the_unit_moves_nothing(bench: Bench) -> None:
    await bench.rule()
    overdue = await _answer(bench, 2, 30)
    opened = await _answer(bench, 3, 1)
    assert await _escalate(bench) == 1
    before = {w: await _row(bench, w) for w in (overdue, opened)}
    told_sql = "select count(*) from notifications where subject_id = any($1::uuid[])"
    told = await bench.conn.fetchval(told_sql, [overdue, opened])

    await _patch(bench, "rm01", name="张伟（改名）", org_unit_id=str(unit_id("team-east-1")))
    await _replace(bench, "rm01", "rm", "team-east-1")
    await _patch(bench, "bh.east", name="王东（改名）", org_unit_id=str(unit_id("branch-east")))
    await _replace(bench, "bh.east", "branch_head", "branch-east")

    assert {w: await _row(bench, w) for w in (overdue, opened)} == before
    assert (
        await bench.conn.fetchval(
            "select count(*) from work_order_events where kind = 'handed_over'"
        )
        == 0
    )
    assert await bench.conn.fetchval(told_sql, [overdue, opened]) == told


# ---- a branch head moved, given another role or disabled -------------------------------------


@pytest.mark.parametrize("leaves", ["disabled", "made_rm"])
async def test_a_branch_head_who_leaves_hands_their_work_orders_to_the_new_head(
    bench: Bench, leaves: str
) -> None:
    successor = await _new_branch_head(bench, "bh.east2", "branch-east")  # after bh.east
    await bench.rule(value=3, assign_to="branch_head")
    await bench.rule(value=6)
    assigned = await _answer(bench, 2, 1)  # a branch-head rule's: bh.east's, not yet due
    escalated = await _answer(bench, 5, 30)  # rm01's, overdue
    closed = await _answer(bench, 4, 31)  # rm01's, overdue, then closed
    assert await _escalate(bench) == 2
    await close(bench, closed, RM01)
    assert (await _row(bench, assigned))["assignee_id"] == user_id("bh.east")
    for work_order in (escalated, closed):
        assert (await _row(bench, work_order))["escalated_to_id"] == user_id("bh.east")
    closed_before = await _row(bench, closed)

    if leaves == "disabled":
        off = await bench.client.post(f"{USERS}/{user_id('bh.east')}/disable", headers=bench.admin)
        assert off.status_code == 200, off.text
    else:
        await _patch(bench, "bh.east", role="rm")

    assert (await _row(bench, assigned))["assignee_id"] == successor
    assert await _told(bench, successor, assigned) == ["work_order.assigned"]
    row = await _row(bench, escalated)
    assert (row["assignee_id"], row["escalated_to_id"], row["org_unit_id"]) == (
        user_id("rm01"), successor, unit_id("team-east-1"),
    )  # fmt: skip
    assert await _told(bench, successor, escalated) == ["work_order.escalated"]
    assert await _handed_over(bench, escalated) == [{
        "reason": "branch_head_left", "staff": str(user_id("bh.east")),
        "from": str(user_id("rm01")), "to": str(user_id("rm01")),
        "from_unit": str(unit_id("team-east-1")), "to_unit": str(unit_id("team-east-1")),
        "escalated_to": str(successor),
    }]  # fmt: skip
    for work_order in (assigned, escalated):
        assert await _status(bench, "bh.east2", work_order) == 200
    assert await _row(bench, closed) == closed_before
    assert await _handed_over(bench, closed) == []


async def test_a_branch_head_moved_away_hands_escalations_to_the_head_now_over_the_unit(
    bench: Bench,
) -> None:
    head_office = await _new_branch_head(bench, "bh.hq", "head-office")
    await bench.rule()
    escalated = await _answer(bench, 2, 30, customer=bench.west_customer)  # rm05's, overdue
    assert await _escalate(bench) == 1
    assert (await _row(bench, escalated))["escalated_to_id"] == user_id("bh.west")

    await _patch(bench, "bh.west", org_unit_id=str(unit_id("branch-east")))

    # Nobody heads West Branch now: the head office's branch head is the one over the unit.
    row = await _row(bench, escalated)
    assert (row["escalated_to_id"], row["org_unit_id"]) == (head_office, unit_id("team-west-1"))
    assert await _told(bench, head_office, escalated) == ["work_order.escalated"]
    assert await _status(bench, "bh.hq", escalated) == 200
    assert await _status(bench, "bh.west", escalated) == 404
    # Its next escalation goes on from there (nobody above the head office: level 2 tells no
    # one, and never bh.west).
    await bench.conn.execute(
        "update work_orders set next_escalation_at = now() - interval '1 minute' where id = $1",
        escalated,
    )
    assert await _escalate(bench) == 1
    assert await _told(bench, "bh.west", escalated) == ["work_order.escalated"]  # the first


async def test_with_nobody_to_take_over_the_work_order_stays_and_is_counted(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    await bench.rule()
    escalated = await _answer(bench, 2, 30, customer=bench.west_customer)
    assert await _escalate(bench) == 1
    before = await _row(bench, escalated)

    with caplog.at_level(logging.WARNING, logger="workbench.workorders.handover"):
        off = await bench.client.post(f"{USERS}/{user_id('bh.west')}/disable", headers=bench.admin)
    assert off.status_code == 200, off.text

    assert await _row(bench, escalated) == before
    assert await _handed_over(bench, escalated) == []
    [record] = [r for r in caplog.records if r.name == "workbench.workorders.handover"]
    assert getattr(record, "work_orders", None) == 1
    assert str(escalated) not in record.getMessage()


# ---- a customer owner given another role -----------------------------------------------------


async def _customer_of(bench: Bench, external_id: str, name: str, owner: str, seq: int) -> Any:
    """A customer of `owner`, fed by the bank; its id."""
    await feed(bench.client, bench.admin, "customers",
               [customer_row(external_id, name=name, owner=owner, seq=seq)])  # fmt: skip
    return (await customer_ids(bench.conn, [external_id]))[external_id]


async def _set_active(bench: Bench, login: str, *, active: bool) -> uuid.UUID:
    """As admin: POST /admin/users/{id}/enable or /disable; the user's id."""
    who: uuid.UUID = await bench.conn.fetchval("select id from users where login = $1", login)
    verb = "enable" if active else "disable"
    done = await bench.client.post(f"{USERS}/{who}/{verb}", headers=bench.admin)
    assert done.status_code == 200, done.text
    return who


async def test_an_rm_made_branch_head_and_rm_again_keeps_their_customers_work_orders(
    bench: Bench,
) -> None:
    await bench.rule()
    customer = await _customer_of(bench, "W-4", "王五", "rm04", 4)
    opened = await _answer(bench, 2, 1, customer=customer)
    assert (await _row(bench, opened))["assignee_id"] == user_id("rm04")

    # Made head of West Branch: the customer is still theirs, and so is its work order (as a
    # new one would be, `owner_rm`), now in their unit.
    await _patch(bench, "rm04", role="branch_head", org_unit_id=str(unit_id("branch-west")))
    row = await _row(bench, opened)
    assert (row["assignee_id"], row["org_unit_id"]) == (user_id("rm04"), unit_id("branch-west"))
    assert await _status(bench, "rm04", opened) == 200

    # RM again, in East Team 2: the work order comes back with them, where bh.east reads it
    # with the customer shown; bh.west no longer.
    await _patch(bench, "rm04", role="rm", org_unit_id=str(unit_id("team-east-2")))
    row = await _row(bench, opened)
    assert (row["assignee_id"], row["org_unit_id"]) == (user_id("rm04"), unit_id("team-east-2"))
    assert await _status(bench, "rm04", opened) == 200
    seen = await bench.client.get(
        f"{ORDERS}/{opened}", headers=await headers_of(bench.client, "bh.east")
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["customer"] == "王*"
    assert await _status(bench, "bh.west", opened) == 404
    assert [d["reason"] for d in await _handed_over(bench, opened)] == ["rm_moved", "rm_moved"]


async def test_a_head_made_rm_again_keeps_their_customers_and_hands_on_the_rest(
    bench: Bench,
) -> None:
    await bench.rule(value=3, assign_to="branch_head")
    await bench.rule(value=6)
    rm02s = await _customer_of(bench, "W-5", "赵六", "rm02", 5)
    own = await _answer(bench, 5, 1)  # rm01's customer, `owner_rm`: rm01's

    # rm01 made head of their own team, East Team 1: the head nearest above it now.
    await _patch(bench, "rm01", role="branch_head")
    assert (await _row(bench, own))["assignee_id"] == user_id("rm01")
    others = await _answer(bench, 2, 1, customer=rm02s)  # a `branch_head` rule's: rm01's
    assert (await _row(bench, others))["assignee_id"] == user_id("rm01")

    await _patch(bench, "rm01", role="rm")

    # Their own customer's stays theirs; rm02's goes to the head over the team now, bh.east.
    row = await _row(bench, own)
    assert (row["assignee_id"], row["org_unit_id"]) == (user_id("rm01"), unit_id("team-east-1"))
    assert await _handed_over(bench, own) == []
    for login in ("rm01", "bh.east"):
        assert await _status(bench, login, own) == 200
    row = await _row(bench, others)
    assert (row["assignee_id"], row["org_unit_id"]) == (user_id("bh.east"), unit_id("team-east-1"))
    assert await _told(bench, "bh.east", others) == ["work_order.assigned"]
    assert [d["reason"] for d in await _handed_over(bench, others)] == ["branch_head_left"]
    assert await _status(bench, "rm01", others) == 404


# ---- two admin changes at once ---------------------------------------------------------------


async def _move_rm03_to_west(conn: asyncpg.Connection, bench: Bench) -> None:
    await staff.update_user(
        conn, auth=bench.client.app.state.auth, caller=ADMIN, user_id=user_id("rm03"),
        request=wire.UserUpdate(org_unit_id=unit_id("team-west-1")), client_ip=None,
    )  # fmt: skip


async def _disable_bh_west(conn: asyncpg.Connection, bench: Bench) -> None:
    await staff.set_user_active(
        conn, auth=bench.client.app.state.auth, caller=ADMIN, user_id=user_id("bh.west"),
        active=False, client_ip=None,
    )  # fmt: skip


async def _waits_for_a_lock(watcher: asyncpg.Connection, pid: int, task: asyncio.Task[Any]) -> bool:
    """Whether the transaction of connection `pid` is waiting for a lock (False: `task`, which
    runs it, finished instead). Polls PostgreSQL until one of the two is seen."""
    waiting = "select exists (select 1 from pg_locks where pid = $1 and not granted)"
    async with asyncio.timeout(30):
        while not task.done():
            if await watcher.fetchval(waiting, pid):
                return True
    return False


Change = Callable[[asyncpg.Connection, Bench], Awaitable[None]]


async def _while_a_change_is_open(
    bench: Bench, change: Change, then: Callable[[asyncpg.Connection], Awaitable[Any]]
) -> Any:
    """Run `change` in a transaction left open, then `then` in its own transaction on another
    connection; `then` must wait for the change to commit (asserted) and see it done. What
    `then` answered."""
    one, two = [await asyncpg.connect(bench.settings.database_url) for _ in range(2)]
    task: asyncio.Task[Any] | None = None
    try:
        for conn in (one, two):
            await use_json_codecs(conn)
        held = one.transaction()
        await held.start()
        await change(one, bench)

        async def in_its_own_transaction() -> Any:
            async with two.transaction():
                return await then(two)

        task = asyncio.create_task(in_its_own_transaction())
        assert await _waits_for_a_lock(bench.conn, two.get_server_pid(), task), (
            "it went ahead with what the admin's change was replacing"
        )
        await held.commit()
        return await task
    finally:
        if task is not None and not task.done():
            task.cancel()
        for conn in (one, two):
            await conn.close()


@pytest.mark.parametrize(
    ("first", "second"),
    [(_move_rm03_to_west, _disable_bh_west), (_disable_bh_west, _move_rm03_to_west)],
    ids=["move_then_disable", "disable_then_move"],
)
async def test_an_rm_moved_while_the_head_there_is_disabled_leaves_nothing_with_them(
    bench: Bench, first: Change, second: Change
) -> None:
    head_office = await _new_branch_head(bench, "bh.hq", "head-office")
    await bench.rule()
    customer = await _customer_of(bench, "W-3", "孙七", "rm03", 3)
    overdue = await _answer(bench, 2, 30, customer=customer)
    assert await _escalate(bench) == 1
    assert (await _row(bench, overdue))["escalated_to_id"] == user_id("bh.east")

    # The first done, its transaction still open; the second waits for it.
    await _while_a_change_is_open(bench, first, lambda conn: second(conn, bench))

    # Either way round: West Team 1's work order, escalated to the head over it now.
    row = await _row(bench, overdue)
    assert (row["org_unit_id"], row["escalated_to_id"]) == (unit_id("team-west-1"), head_office)
    assert await _told(bench, head_office, overdue) == ["work_order.escalated"]
    assert await _status(bench, "bh.hq", overdue) == 200


# ---- someone becomes the head over work orders stuck with one who left ------------------------


async def _made_head(bench: Bench) -> uuid.UUID:
    await _patch(bench, "rm02", role="branch_head", org_unit_id=str(unit_id("branch-east")))
    return user_id("rm02")


async def _moved_as_head(bench: Bench) -> uuid.UUID:
    await _patch(bench, "bh.west", org_unit_id=str(unit_id("branch-east")))
    return user_id("bh.west")


async def _enabled_again(bench: Bench) -> uuid.UUID:
    return await _set_active(bench, "bh.east2", active=True)


async def _created(bench: Bench) -> uuid.UUID:
    return await _new_branch_head(bench, "bh.east3", "branch-east")


async def _bh_east_disabled(bench: Bench) -> None:
    await _set_active(bench, "bh.east", active=False)


async def _bh_east_moved_away(bench: Bench) -> None:
    await _patch(bench, "bh.east", org_unit_id=str(unit_id("team-west-2")))


@pytest.mark.parametrize(
    ("leaves", "arrives"),
    [
        (_bh_east_disabled, _made_head),
        (_bh_east_disabled, _moved_as_head),
        (_bh_east_disabled, _enabled_again),
        (_bh_east_disabled, _created),
        (_bh_east_moved_away, _made_head),
    ],
    ids=["made_head", "moved_as_head", "enabled_again", "created", "old_head_moved_away"],
)
async def test_a_new_head_takes_over_what_stayed_with_the_head_who_left(
    bench: Bench,
    leaves: Callable[[Bench], Awaitable[None]],
    arrives: Callable[[Bench], Awaitable[uuid.UUID]],
) -> None:
    # A second head of East Branch, disabled: for the one enabled again later.
    await _new_branch_head(bench, "bh.east2", "branch-east")
    await _set_active(bench, "bh.east2", active=False)
    await bench.rule(value=3, assign_to="branch_head")
    await bench.rule(value=6)
    assigned = await _answer(bench, 2, 1)  # a branch-head rule's: bh.east's
    escalated = await _answer(bench, 5, 30)  # rm01's, overdue
    assert await _escalate(bench) == 1
    assert (await _row(bench, escalated))["escalated_to_id"] == user_id("bh.east")

    # Nobody above East Branch: both stay with bh.east, who can no longer open them.
    await leaves(bench)
    assert (await _row(bench, assigned))["assignee_id"] == user_id("bh.east")
    assert (await _row(bench, escalated))["escalated_to_id"] == user_id("bh.east")

    head = await arrives(bench)

    assert (await _row(bench, assigned))["assignee_id"] == head
    assert await _told(bench, head, assigned) == ["work_order.assigned"]
    row = await _row(bench, escalated)
    assert (row["assignee_id"], row["escalated_to_id"], row["org_unit_id"]) == (
        user_id("rm01"), head, unit_id("team-east-1"),
    )  # fmt: skip
    assert await _told(bench, head, escalated) == ["work_order.escalated"]
    assert await _handed_over(bench, escalated) == [{
        "reason": "branch_head_left", "staff": str(user_id("bh.east")),
        "from": str(user_id("rm01")), "to": str(user_id("rm01")),
        "from_unit": str(unit_id("team-east-1")), "to_unit": str(unit_id("team-east-1")),
        "escalated_to": str(head),
    }]  # fmt: skip
    login = await bench.conn.fetchval("select login from users where id = $1", head)
    for work_order in (assigned, escalated):
        assert await _status(bench, login, work_order) == 200


async def test_a_head_enabled_again_holds_what_stayed_with_them(bench: Bench) -> None:
    await bench.rule()
    escalated = await _answer(bench, 2, 30)
    assert await _escalate(bench) == 1
    await _set_active(bench, "bh.east", active=False)
    before = await _row(bench, escalated)

    await _set_active(bench, "bh.east", active=True)

    assert await _row(bench, escalated) == before
    assert await _handed_over(bench, escalated) == []
    assert await _status(bench, "bh.east", escalated) == 200


async def test_the_old_branchs_dashboard_shows_a_moved_work_order_as_opened_with_no_dead_link(
    bench: Bench,
    make_console: Any,  # noqa: F811
) -> None:
    """The low score stays on the branch where it was answered, but its work order went with
    the RM: the old head sees that one was opened and moved, not a link answering 404."""
    await bench.rule()
    opened = await _answer(bench, 2, 1)
    console = await make_console()
    await signed_in(console, "bh.east")
    link = f'href="/console/work-orders/{opened}"'
    before = await console.get("/console/dashboard")
    assert before.status_code == 200, before.text
    assert link in before.text

    await _patch(bench, "rm01", org_unit_id=str(unit_id("team-west-1")))

    after = await console.get("/console/dashboard")
    assert after.status_code == 200, after.text
    assert link not in after.text
    assert "工单已转出" in after.text
    assert (await console.get(f"/console/work-orders/{opened}")).status_code == 404
    # The new branch's head follows it from their work orders; an admin still opens it.
    admin = await make_console()
    await signed_in(admin, "admin")
    page = await admin.get("/console/dashboard", params={"unit": str(unit_id("branch-east"))})
    assert page.status_code == 200, page.text
    assert link in page.text


# ---- the worker and customers' answers at the moment of an admin change -------------------------


async def _disable_bh_east(conn: asyncpg.Connection, bench: Bench) -> None:
    await staff.set_user_active(
        conn, auth=bench.client.app.state.auth, caller=ADMIN, user_id=user_id("bh.east"),
        active=False, client_ip=None,
    )  # fmt: skip


async def test_an_escalation_due_while_its_head_is_disabled_goes_to_the_head_above(
    bench: Bench,
) -> None:
    head_office = await _new_branch_head(bench, "bh.hq", "head-office")
    await bench.rule()
    overdue = await _answer(bench, 2, 30)  # due 6 hours ago, not escalated yet

    async def escalate(conn: asyncpg.Connection) -> int:
        return await escalation.escalate_due(conn)

    assert await _while_a_change_is_open(bench, _disable_bh_east, escalate) == 1
    row = await _row(bench, overdue)
    assert row["escalated_to_id"] == head_office
    assert await _told(bench, "bh.east", overdue) == []
    assert await _told(bench, head_office, overdue) == ["work_order.escalated"]


async def test_a_work_order_opened_while_its_head_is_disabled_goes_to_the_head_above(
    bench: Bench,
) -> None:
    head_office = await _new_branch_head(bench, "bh.hq", "head-office")
    await bench.rule(assign_to="branch_head")

    async def answer(conn: asyncpg.Connection) -> Any:
        response = await bench.store(answers={"score": 1}, conn=conn)
        return await alerts.on_response(conn, response_id=response, texts={})

    opened = await _while_a_change_is_open(bench, _disable_bh_east, answer)
    assert opened is not None
    assert (await _row(bench, opened))["assignee_id"] == head_office
    assert await _told(bench, head_office, opened) == ["work_order.assigned"]
    assert await _told(bench, "bh.east", opened) == []


# ---- an org unit moved under another parent -----------------------------------------------------


async def test_a_team_moved_to_another_branch_hands_its_heads_work_orders_to_the_new_head(
    bench: Bench,
) -> None:
    """East Team 1 moves under West Branch: its overdue work order was escalated to bh.east,
    and a branch-head rule's was assigned to them; both go to bh.west, who is told and opens
    them, while bh.east no longer reads them. The RM's own stays theirs."""
    await bench.rule()
    escalated = await _answer(bench, 2, 30)  # owner_rm: rm01's, due 6 hours ago
    assert await _escalate(bench) == 1
    assert (await _row(bench, escalated))["escalated_to_id"] == user_id("bh.east")
    await bench.conn.execute("update alert_rules set active = false")
    await bench.rule(assign_to="branch_head")
    heads = await _answer(bench, 1, 1)
    assert (await _row(bench, heads))["assignee_id"] == user_id("bh.east")

    moved = await bench.client.post("/api/v1/admin/org-units", headers=bench.admin, json={
        "id": str(unit_id("team-east-1")), "name": "东城一组",
        "parent_id": str(unit_id("branch-west")),
    })  # fmt: skip
    assert moved.status_code == 200, moved.text

    row = await _row(bench, escalated)
    assert (row["assignee_id"], row["escalated_to_id"], row["org_unit_id"]) == (
        user_id("rm01"), user_id("bh.west"), unit_id("team-east-1"),
    )  # fmt: skip
    assert await _told(bench, "bh.west", escalated) == ["work_order.escalated"]
    assert (await _row(bench, heads))["assignee_id"] == user_id("bh.west")
    assert await _told(bench, "bh.west", heads) == ["work_order.assigned"]
    for work_order in (escalated, heads):
        assert await _status(bench, "bh.west", work_order) == 200
        assert await _status(bench, "bh.east", work_order) == 404
        assert (await _handed_over(bench, work_order))[-1]["reason"] == "unit_moved"
    assert await _status(bench, "rm01", escalated) == 200

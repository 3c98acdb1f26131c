"""A moved task's expiry follows its own terms, never the history of its moves: the same due
time always gives the same expiry, a task never expires earlier than it was issued to, and
moving it back restores that expiry, whoever moves it (the RM through the API or offline
through sync, or their branch head). Moving a recurring task's due time back and forth once
pushed its expiry out a little more each time, so a period's task could be kept from ever
expiring."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.sync.sync_data import PUSH
from tests.tasks_data import DISPATCHES, TASKS, create_template, unit, user

pytestmark = pytest.mark.usefixtures("demo_bank")

_mutation_ids = itertools.count(1)


async def times_of(db: Any, task_id: uuid.UUID) -> tuple[datetime, datetime | None]:
    row = await db.fetchrow("select due_at, expires_at from tasks where id = $1", task_id)
    return row["due_at"], row["expires_at"]


async def dispatch_to_team(
    client: Any, admin: dict[str, str], template_id: str, **extra: Any
) -> None:
    body = {"template_id": template_id, "title": "例行任务",
            "org_unit_id": str(unit("team-east-1")), **extra}  # fmt: skip
    response = await client.post(DISPATCHES, json=body, headers=admin)
    assert response.status_code == 201, response.text


async def rm01_task(db: Any) -> uuid.UUID:
    task_id: uuid.UUID = await db.fetchval(
        "select id from tasks where assignee_id = $1", user("rm01")
    )
    return task_id


class Mover:
    """Moves one task's due time through each way there is, in turn: rm01 through the API,
    rm01 offline (a sync push), and rm01's branch head through the API."""

    def __init__(self, client: Any, task_id: uuid.UUID, rm01: dict[str, str],
                 head: dict[str, str]) -> None:  # fmt: skip
        self.client, self.task_id, self.rm01, self.head = client, task_id, rm01, head
        self.turn = itertools.cycle(("api", "sync", "head"))

    async def move(self, due: datetime) -> None:
        how = next(self.turn)
        if how == "sync":
            body = {"client_id": "phone", "mutations": [{
                "id": next(_mutation_ids), "name": "task.reschedule",
                "args": {"task_id": str(self.task_id), "due_at": due.isoformat()},
            }]}  # fmt: skip
            response = await self.client.post(PUSH, json=body, headers=self.rm01)
            assert response.status_code == 200, response.text
            assert response.json()["results"][0]["status"] == "applied", response.text
            return
        response = await self.client.patch(
            f"{TASKS}/{self.task_id}",
            json={"due_at": due.isoformat()},
            headers=self.rm01 if how == "api" else self.head,
        )
        assert response.status_code == 200, response.text


async def mover(client: Any, task_id: uuid.UUID) -> Mover:
    return Mover(
        client, task_id, await headers_of(client, "rm01"), await headers_of(client, "bh.east")
    )


async def test_moving_a_daily_task_back_and_forth_never_pushes_its_expiry_out(client, db):
    """QA's case: a daily series' task (due at the end of its day, expiring a day later) moved
    6 hours earlier and 2 days later in turn, then back to its own due time."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, recurrence="FREQ=DAILY")
    await dispatch_to_team(client, admin, template["id"])
    task_id = await rm01_task(db)
    # Two days ahead (the series' period after next, as the worker would open it), so that 6
    # hours before its end lies ahead whatever the time of day.
    await db.execute("update tasks set period_start = period_start + interval '2 days',"
                     " due_at = due_at + interval '2 days',"
                     " expires_at = expires_at + interval '2 days' where id = $1",
                     task_id)  # fmt: skip
    due, expires = await times_of(db, task_id)
    assert expires == due + timedelta(days=1)

    moves = await mover(client, task_id)
    earlier, later = due - timedelta(hours=6), due + timedelta(days=2)
    for _ in range(3):
        await moves.move(earlier)
        assert await times_of(db, task_id) == (earlier, expires)  # never earlier than issued
        await moves.move(later)
        assert await times_of(db, task_id) == (later, later + timedelta(days=1))
    await moves.move(due)
    assert await times_of(db, task_id) == (due, expires)


async def test_a_one_off_task_with_an_expiry_keeps_its_terms_too(client, db):
    """No dispatch gives a one-off task an expiry, but one written with it follows the same
    rule: three days after its due time, never before its first expiry."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    due = (await db.fetchval("select now()") + timedelta(days=4)).replace(microsecond=0)
    await dispatch_to_team(client, admin, template["id"], due_at=due.isoformat())
    task_id = await rm01_task(db)
    expires = due + timedelta(days=3)
    await db.execute("update tasks set expires_at = $2 where id = $1", task_id, expires)

    moves = await mover(client, task_id)
    earlier, later = due - timedelta(days=2), due + timedelta(days=5)
    for _ in range(3):
        await moves.move(later)
        assert await times_of(db, task_id) == (later, later + timedelta(days=3))
        await moves.move(earlier)
        assert await times_of(db, task_id) == (earlier, expires)
    await moves.move(due)
    assert await times_of(db, task_id) == (due, expires)


async def test_an_expiry_without_a_due_time_stays_and_none_appears(client, db):
    """A task that had an expiry but no due time has no distance to keep: its expiry stays,
    however often it is moved (the first move must not make one up for the next); a task
    without an expiry gets none."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)  # no SLA: its tasks have no due time
    await dispatch_to_team(client, admin, template["id"])
    now = await db.fetchval("select now()")
    expires = (now + timedelta(days=10)).replace(microsecond=0)
    task_id = await rm01_task(db)
    other = await db.fetchval("select id from tasks where assignee_id = $1", user("rm02"))
    await db.execute("update tasks set expires_at = $2 where id = $1", task_id, expires)

    moves = await mover(client, task_id)
    for days in (2, 8, 5, 9):
        due = (now + timedelta(days=days)).replace(microsecond=0)
        await moves.move(due)
        assert await times_of(db, task_id) == (due, expires)
    due = (now + timedelta(days=3)).replace(microsecond=0)
    rm02 = await headers_of(client, "rm02")
    response = await client.patch(f"{TASKS}/{other}", json={"due_at": due.isoformat()},
                                  headers=rm02)  # fmt: skip
    assert response.status_code == 200, response.text
    assert await times_of(db, other) == (due, None)

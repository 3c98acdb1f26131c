"""What a dispatch issued stays on record: dispatches and template versions are never deleted,
and a task can neither point at a missing dispatch or template version nor be re-pointed, from
any write path (manual SQL included)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.customers_data import headers_of
from tests.tasks_data import create_template, issue

pytestmark = pytest.mark.usefixtures("demo_bank", "issued")


@pytest.fixture
async def issued(client, db) -> None:
    admin = await headers_of(client, "admin")
    for name in ("Visit", "Call"):
        template = await create_template(client, admin, name=name)
        await issue(client, db, admin, template["id"], org_unit="team-east-1")


async def a_dispatched_task(db: asyncpg.Connection) -> asyncpg.Record:
    row = await db.fetchrow(
        "select id, dispatch_id, template_id, template_version, assignee_id from tasks"
        " where dispatch_id is not null order by id limit 1"
    )
    assert row is not None
    return row


async def test_dispatches_and_template_versions_cannot_be_deleted(db):
    task = await a_dispatched_task(db)
    counts = await db.fetchrow(
        "select (select count(*) from dispatches) d,"
        " (select count(*) from task_template_versions) v"
    )
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("delete from dispatches where id = $1", task["dispatch_id"])
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute(
            "delete from task_template_versions where template_id = $1", task["template_id"]
        )
    assert counts == await db.fetchrow(
        "select (select count(*) from dispatches) d,"
        " (select count(*) from task_template_versions) v"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"dispatch_id": uuid.uuid4()},
        {"template_id": uuid.uuid4()},
        {"template_version": 99},
    ],
    ids=["missing-dispatch", "missing-template", "missing-version"],
)
async def test_a_task_needs_an_existing_dispatch_and_template_version(db, change):
    task = await a_dispatched_task(db)
    before = await db.fetchval("select count(*) from tasks")
    values = {
        "dispatch_id": task["dispatch_id"],
        "template_id": task["template_id"],
        "template_version": task["template_version"],
        **change,
    }
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "insert into tasks (id, template_id, template_version, dispatch_id, assignee_id, title)"
            " select gen_random_uuid(), $1, $2, $3, $4, 'x' from generate_series(1, 3)",
            values["template_id"],
            values["template_version"],
            values["dispatch_id"],
            task["assignee_id"],
        )
    assert await db.fetchval("select count(*) from tasks") == before


async def test_a_task_with_good_origins_and_no_dispatch_is_accepted(db):
    task = await a_dispatched_task(db)
    new_id = uuid.uuid4()
    await db.execute(
        "insert into tasks (id, template_id, template_version, assignee_id, title)"
        " values ($1, $2, $3, $4, 'Ad hoc')",
        new_id,
        task["template_id"],
        task["template_version"],
        task["assignee_id"],
    )
    assert await db.fetchval("select title from tasks where id = $1", new_id) == "Ad hoc"


async def test_a_tasks_origin_never_changes_but_its_status_does(db):
    task = await a_dispatched_task(db)
    other = await db.fetchval(
        "select id from dispatches where id <> $1 limit 1", task["dispatch_id"]
    )
    assert other is not None
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("update tasks set dispatch_id = $2 where id = $1", task["id"], other)
    await db.execute("update tasks set status = 'cancelled' where id = $1", task["id"])
    row = await db.fetchrow("select dispatch_id, status from tasks where id = $1", task["id"])
    assert (row["dispatch_id"], row["status"]) == (task["dispatch_id"], "cancelled")

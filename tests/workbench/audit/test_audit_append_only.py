"""The audit trail is append-only in the database (migration 0060): UPDATE, DELETE and TRUNCATE
are refused for everyone, the table's owner included, even when no row matches; events are still
recorded; the tests' cleanup (triggers off, as a superuser) still empties the table."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.conftest import empty_written_tables
from workbench.audit import queries as audit
from workbench.db import use_json_codecs

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _recorded(db: Any) -> int:
    await use_json_codecs(db)  # as the pool's connections decode json
    async with db.transaction():
        await audit.record(
            db, action="user_updated", actor_id=None, subject="user:x", client_ip="10.0.0.1",
            detail={"fields": ["name"]},
        )  # fmt: skip
    return int(await db.fetchval("select count(*) from audit_events"))


@pytest.mark.parametrize(
    "statement",
    [
        "update audit_events set action = 'login' where action = 'user_updated'",
        "update audit_events set detail = '{}'",
        "delete from audit_events where action = 'user_updated'",
        "delete from audit_events where false",  # refused though it would remove nothing
        "truncate audit_events",
        "truncate users cascade",  # a cascade reaching the trail
    ],
)
async def test_no_statement_changes_or_removes_an_event(db, statement):
    count = await _recorded(db)
    assert count >= 1
    with pytest.raises(asyncpg.RestrictViolationError, match="audit_events is append-only"):
        await db.execute(statement)
    assert await db.fetchval("select count(*) from audit_events") == count
    row = await db.fetchrow("select action, detail from audit_events where action = 'user_updated'")
    assert (row["action"], row["detail"]) == ("user_updated", {"fields": ["name"]})


async def test_events_are_still_recorded_and_the_tests_cleanup_still_empties_them(db):
    assert await _recorded(db) >= 1
    assert await _recorded(db) >= 2
    await empty_written_tables(db)
    assert await db.fetchval("select count(*) from audit_events") == 0
    # The trigger is back on after the cleanup.
    await _recorded(db)
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("delete from audit_events")

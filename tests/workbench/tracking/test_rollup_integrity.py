"""The per-visitor rollup still refers only to real shares after its per-row foreign key gave way
to a check per statement (migrations/0028): a visitor row of a missing share is refused, as is
deleting a share that has visitor rows or changing either side's key; the worker's own writes
(new visitors, then more hits of the same visitors) go through."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.workbench.tracking.conftest import WECHAT


async def visitor_row(db, share_id: uuid.UUID, visitor: str) -> None:
    await db.execute(
        "insert into share_visitors (share_id, visitor_id, last_hit_at) values ($1, $2, now())",
        share_id,
        visitor,
    )


async def test_a_visitor_row_of_a_missing_share_is_refused_and_changes_nothing(shared, db):
    before = await db.fetchval("select count(*) from share_visitors")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with db.transaction():  # one statement: the real share's row is refused with it
            await db.execute(
                "insert into share_visitors (share_id, visitor_id, last_hit_at)"
                " values ($1, 'v-real', now()), ($2, 'v-ghost', now())",
                shared.share_id,
                uuid.uuid4(),
            )
    assert await db.fetchval("select count(*) from share_visitors") == before


async def test_a_share_with_visitors_is_not_deleted_nor_are_keys_changed(shared, db):
    await visitor_row(db, shared.share_id, "v-kept")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute("delete from shares where id = $1", shared.share_id)
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute("update shares set id = $1 where id = $2", uuid.uuid4(), shared.share_id)
    with pytest.raises(asyncpg.RestrictViolationError):
        await db.execute(
            "update share_visitors set share_id = $1 where share_id = $2",
            uuid.uuid4(),
            shared.share_id,
        )
    assert (
        await db.fetchval(
            "select count(*) from share_visitors where share_id = $1 and visitor_id = 'v-kept'",
            shared.share_id,
        )
        == 1
    )
    assert await db.fetchval("select count(*) from shares where id = $1", shared.share_id) == 1


async def test_the_workers_rollup_goes_through_for_new_and_known_visitors(shared, db):
    assert (await shared.beacon("open", ua=WECHAT, visitor_id="v-new")).status_code == 204
    assert (await shared.consume()).stored == 1
    assert (await shared.beacon("cta", ua=WECHAT, visitor_id="v-new")).status_code == 204
    assert (await shared.consume()).stored == 1
    row = await db.fetchrow(
        "select first_open_at, clicked_at from share_visitors"
        " where share_id = $1 and visitor_id = 'v-new'",
        shared.share_id,
    )
    assert row["first_open_at"] is not None
    assert row["clicked_at"] is not None

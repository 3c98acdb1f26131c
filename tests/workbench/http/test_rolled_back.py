"""A request whose transaction PostgreSQL rolls back against another one (a deadlock, a
serialization failure) answers 503 `service.unavailable`, never a 500, and changes nothing;
the same request sent again goes through."""

from __future__ import annotations

import pytest

from tests.helpers import device

LOGIN = "/api/v1/auth/login"

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _refuse_sessions(db, sqlstate: str) -> None:
    """Every new session fails as a deadlock's or a serialization failure's victim would."""
    await db.execute(
        f"""
        create function test_rolled_back() returns trigger language plpgsql as $$
        begin
          raise exception 'rolled back against another transaction' using errcode = '{sqlstate}';
        end $$
        """
    )
    await db.execute(
        "create trigger test_rolled_back before insert on sessions"
        " for each row execute function test_rolled_back()"
    )


async def _allow_sessions(db) -> None:
    await db.execute("drop trigger if exists test_rolled_back on sessions")
    await db.execute("drop function if exists test_rolled_back()")


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
async def test_a_rolled_back_request_is_503_changes_nothing_and_goes_through_again(
    client, db, sqlstate
):
    body = {"login": "rm01", "password": "workbench-demo", "device": device()}
    await _refuse_sessions(db, sqlstate)
    try:
        response = await client.post(LOGIN, json=body)
    finally:
        await _allow_sessions(db)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "service.unavailable"
    assert await db.fetchval("select count(*) from sessions") == 0

    again = await client.post(LOGIN, json=body)
    assert again.status_code == 200, again.text
    assert await db.fetchval("select count(*) from sessions") == 1

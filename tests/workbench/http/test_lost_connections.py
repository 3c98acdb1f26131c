"""A request whose PostgreSQL connection is lost under it (the server process ended by an admin,
a failover, a network drop) answers 503 `service.unavailable`, never a 500, and the same
process serves again on fresh connections, without a restart.

asyncpg reports such a loss in several ways: `ConnectionDoesNotExistError`, an `InterfaceError`
("connection is closed") from the rollback while the request's dependencies are cleaned up,
which Litestar hands on inside an exception group, or an `InternalClientError` ("cannot switch
to state …; another operation is in progress") from a connection met mid-protocol."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from tests.helpers import bearer, login
from workbench.http.problems import EXCEPTION_HANDLERS

CUSTOMERS = "/api/v1/customers"


def problem_app(error: BaseException) -> Litestar:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    return Litestar([boom], exception_handlers=EXCEPTION_HANDLERS)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        ExceptionGroup("cleanup", [asyncpg.InterfaceError("the underlying connection is closed")]),
        ExceptionGroup(
            "cleanup",
            [ConnectionResetError(), ExceptionGroup("inner", [asyncpg.InterfaceError("closed")])],
        ),
    ],
    ids=["mid-protocol", "grouped-rollback", "nested-group"],
)
async def test_a_lost_connection_is_503_however_it_is_reported(error: BaseException) -> None:
    async with AsyncTestClient(problem_app(error)) as client:
        response = await client.get("/boom")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service.unavailable"


async def test_a_group_holding_a_real_fault_stays_a_500() -> None:
    error = ExceptionGroup("cleanup", [asyncpg.InterfaceError("closed"), ValueError("a bug")])
    async with AsyncTestClient(problem_app(error)) as client:
        response = await client.get("/boom")
    assert (response.status_code, response.json()["code"]) == (500, "server.error")


@pytest.mark.usefixtures("demo_bank")
async def test_connections_ended_by_the_server_are_503_then_served_again(
    client: Any, db: asyncpg.Connection
) -> None:
    rm01 = bearer(await login(client, "rm01"))
    assert (await client.get(CUSTOMERS, headers=rm01)).status_code == 200
    for _ in range(3):  # as an admin ending the API's sessions would, or a failover
        # This app's own connections only: other apps of the run keep theirs.
        pool = client.app.state.pool
        pids = [h._con.get_server_pid() for h in pool._holders if h._con is not None]
        await db.execute("select pg_terminate_backend(pid) from unnest($1::int[]) pid", pids)
        for _ in range(6):
            response = await client.get(CUSTOMERS, headers=rm01, params={"limit": 5})
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert response.json()["code"] == "service.unavailable"
    # The pool has replaced its connections: the same process serves again.
    answers = [(await client.get(CUSTOMERS, headers=rm01)).status_code for _ in range(3)]
    assert answers[-1] == 200, answers


class _FailingRollback:
    """A transaction whose rollback fails as asyncpg's does on a connection in a bad state."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def rollback(self) -> None:
        raise self.error


async def test_a_rollback_failing_on_an_open_connection_is_a_logged_fault(
    settings: Any, caplog: Any
) -> None:
    # Only a lost connection is taken quietly; one still open whose rollback fails is a fault:
    # logged with its trace and closed, so the pool never hands it out mid-transaction.
    from workbench.db import _roll_back

    conn = await asyncpg.connect(settings.database_url)
    try:
        with caplog.at_level("WARNING", logger="workbench.db"):
            await _roll_back(conn, _FailingRollback(asyncpg.InterfaceError("in progress")))
        [record] = [r for r in caplog.records if r.name == "workbench.db"]
        assert (record.levelname, record.exc_info is not None) == ("ERROR", True)
        assert conn.is_closed()
    finally:
        conn.terminate()

    lost = await asyncpg.connect(settings.database_url)
    await lost.close()
    caplog.clear()
    with caplog.at_level("WARNING", logger="workbench.db"):
        await _roll_back(lost, _FailingRollback(asyncpg.InterfaceError("connection is closed")))
    [record] = [r for r in caplog.records if r.name == "workbench.db"]
    assert record.levelname == "WARNING"

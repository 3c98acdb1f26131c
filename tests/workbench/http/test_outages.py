"""Outages: with PostgreSQL or Redis unreachable the API answers 503 `service.unavailable`
(customer pages: a "try again shortly" page), changes nothing, and the same process serves
again as soon as the server is back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.outage import Outage

pytestmark = pytest.mark.usefixtures("demo_bank")


@contextlib.contextmanager
def outage_of(url: str, default_port: int) -> Iterator[Outage]:
    outage = Outage(url, default_port)
    outage.start()
    try:
        yield outage
    finally:
        outage.stop()


@pytest.fixture
def database_outage(settings) -> Iterator[Outage]:
    with outage_of(settings.database_url, 5432) as outage:
        yield outage


@pytest.fixture
def redis_outage(settings) -> Iterator[Outage]:
    with outage_of(settings.redis_url, 6379) as outage:
        yield outage


def unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "service.unavailable"
    assert int(response.headers["retry-after"]) > 0


LOGIN = {
    "login": "rm02",
    "password": "workbench-demo",
    "device": {"device_id": "outage-phone-1", "platform": "android"},
}


async def test_postgresql_down_answers_503_everywhere_and_the_process_recovers(
    make_client, database_outage, db
):
    client = await make_client(database_url=database_outage.url)
    admin = await headers_of(client, "admin")
    answer = await feed(
        client, admin, "customers", [customer_row("OUT-1", name="王小明", owner="rm01")]
    )
    assert answer["inserted"] == 1, answer
    rm01 = await headers_of(client, "rm01")
    customer_id = (await client.get("/api/v1/customers", headers=rm01)).json()["items"][0]["id"]
    invite = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=rm01
    )
    assert invite.status_code == 201, invite.text
    page = "/v/" + invite.json()["url"].rsplit("/v/", 1)[1]
    notes_before = await db.fetchval("select count(*) from customer_timeline")

    database_outage.cut()

    unavailable(await client.get("/api/v1/me", headers=rm01))
    unavailable(await client.get("/api/v1/customers", headers=rm01))
    unavailable(await client.get("/api/v1/tasks", headers=rm01))
    unavailable(
        await client.post(
            f"/api/v1/customers/{customer_id}/notes",
            json={"text": "停电时写的", "kind": "call"},
            headers=rm01,
        )
    )
    unavailable(await client.post("/api/v1/auth/login", json=LOGIN))
    customer_page = await client.get(page)
    assert customer_page.status_code == 503
    assert customer_page.headers["content-type"].startswith("text/html")
    assert "稍后再试" in customer_page.text
    assert int(customer_page.headers["retry-after"]) > 0
    assert (await client.get("/readyz")).status_code == 503

    database_outage.restore()

    assert (await client.get("/api/v1/me", headers=rm01)).status_code == 200
    assert (await client.get("/api/v1/customers", headers=rm01)).status_code == 200
    assert (await client.post("/api/v1/auth/login", json=LOGIN)).status_code == 200
    assert (await client.get(page)).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    # The note sent during the outage was not half-written; sent again, it lands once.
    assert await db.fetchval("select count(*) from customer_timeline") == notes_before
    again = await client.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"text": "恢复后写的", "kind": "call"},
        headers=rm01,
    )
    assert again.status_code == 201, again.text


async def test_redis_down_answers_503_and_the_process_recovers(make_client, redis_outage, caplog):
    client = await make_client(redis_url=redis_outage.url)
    rm01 = await headers_of(client, "rm01")
    assert (await client.get("/api/v1/me", headers=rm01)).status_code == 200

    redis_outage.cut()

    with caplog.at_level("WARNING", logger="workbench.redis"):
        unavailable(await client.get("/api/v1/me", headers=rm01))
        unavailable(await client.post("/api/v1/auth/login", json=LOGIN))
    # The operator reads why in the log (the access lines alone said 503).
    told = [r for r in caplog.records if r.name == "workbench.redis"]
    assert told
    assert all(r.getMessage() == "Redis unavailable" for r in told)

    redis_outage.restore()

    assert (await client.get("/api/v1/me", headers=rm01)).status_code == 200
    assert (await client.post("/api/v1/auth/login", json=LOGIN)).status_code == 200

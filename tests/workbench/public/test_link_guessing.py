"""Guessing the codes of customers' links: an address that opens too many unknown codes (of any
link page: /s/, /f/, /c/, /v/) is told to wait (429, a zh-CN page, Retry-After) on every link
page; links that open never count; other addresses are not affected; counts expire by
themselves; with Redis down the pages still serve."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.helpers import from_peer
from tests.outage import Outage
from tests.workbench.brochures.conftest import studio  # noqa: F401
from tests.workbench.tracking.conftest import shared  # noqa: F401

GUESSER = "203.0.113.7"
NEIGHBOUR = "198.51.100.4"
LIMIT = 30  # WORKBENCH_LINK_GUESS_LIMIT's default
# Unknown codes on each kind of link page (well-formed or not: a miss is a miss).
UNKNOWN = ("/s/Zz9yX8wV7u", "/f/not-a-survey-token", "/c/not-a-visit-token", "/v/nope",
           "/s/Zz9yX8wV7u/pages", "/f/not-a-survey-token/thanks")  # fmt: skip


def unknown(n: int) -> str:
    return UNKNOWN[n % len(UNKNOWN)]


def told_to_wait(response: Any, *, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 0 < int(response.headers["retry-after"]) <= window
    assert "访问过于频繁" in response.text
    assert "分钟后再试" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_the_31st_unknown_code_from_one_address_is_told_to_wait(shared):  # noqa: F811
    page = f"/s/{shared.code}"
    async with from_peer(shared.client, GUESSER) as guesser:
        for _ in range(5):  # a customer opening a real link again and again: never counted
            assert (await guesser.get(page)).status_code == 200
        for n in range(LIMIT - 1):
            assert (await guesser.get(unknown(n))).status_code == 404, n
        assert (await guesser.get(page)).status_code == 200  # 29 misses: within the limit
        assert (await guesser.get(unknown(LIMIT - 1))).status_code == 404  # the 30th
        told_to_wait(await guesser.get(unknown(LIMIT)), window=600)
        # From now on every link page answers it so, a real one included (else the guessing
        # would go on, a 200 telling a hit from a 404).
        told_to_wait(await guesser.get(page), window=600)
        told_to_wait(await guesser.post("/f/not-a-survey-token", data={"q": "1"}), window=600)
        head = await guesser.head(page)
        assert (head.status_code, head.content) == (429, b"")
    async with from_peer(shared.client, NEIGHBOUR) as neighbour:
        assert (await neighbour.get(page)).status_code == 200
        assert (await neighbour.get(unknown(0))).status_code == 404


async def test_the_count_expires_by_itself_within_the_window(make_client, settings):
    client = await make_client(link_guess_window_seconds=45, link_guess_limit=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        async with from_peer(client, GUESSER) as guesser:
            assert (await guesser.get(unknown(0))).status_code == 404
            key = client.app.state.link_guesses.key(GUESSER)
            assert 0 < await redis.ttl(key) <= 45
            assert (await guesser.get(unknown(1))).status_code == 404
            told_to_wait(await guesser.get(unknown(2)), window=45)
            # The window ended (the key expired): the address may open links again.
            await redis.delete(key)
            assert (await guesser.get(unknown(3))).status_code == 404
    finally:
        await redis.aclose()


async def test_ipv6_addresses_of_one_network_count_together(make_client):
    client = await make_client(link_guess_limit=2)
    for n, peer in enumerate(("2001:db8:1:2::a", "2001:db8:1:2::b")):
        async with from_peer(client, peer) as guesser:
            assert (await guesser.get(unknown(n))).status_code == 404
    async with from_peer(client, "2001:db8:1:2:ffff::c") as guesser:
        told_to_wait(await guesser.get(unknown(2)), window=600)
    async with from_peer(client, "2001:db8:1:3::a") as other_network:
        assert (await other_network.get(unknown(3))).status_code == 404


async def test_with_redis_down_the_pages_still_serve_and_the_log_names_no_address(
    shared,  # noqa: F811
    make_client,
    settings,
    caplog,
):
    outage = Outage(settings.redis_url, 6379)
    outage.start()
    try:
        client = await make_client(redis_url=outage.url, blob_dir=shared.studio.settings.blob_dir)
        outage.cut()
        caplog.set_level(logging.WARNING, logger="workbench.http.guessing")
        async with from_peer(client, GUESSER) as guesser:
            assert (await guesser.get(f"/s/{shared.code}")).status_code == 200
            for n in range(LIMIT + 2):
                assert (await guesser.get(unknown(n))).status_code == 404
    finally:
        outage.stop()
    logged = [r for r in caplog.records if r.name == "workbench.http.guessing"]
    assert logged
    assert all(GUESSER not in r.getMessage() and GUESSER not in str(r.__dict__) for r in logged)


@pytest.mark.parametrize("path", ["/nowhere/Zz9yX8wV7u", "/console/nope", "/media/x?exp=1&sig=x"])
async def test_404s_of_other_pages_are_not_counted(client, settings, path):
    async with from_peer(client, GUESSER) as guesser:
        for _ in range(3):
            await guesser.get(path)
    redis = Redis.from_url(settings.redis_url)
    try:
        assert await redis.exists(client.app.state.link_guesses.key(GUESSER)) == 0
    finally:
        await redis.aclose()


async def test_clients_without_an_address_are_not_counted_together(client):
    # No peer address (a Unix socket without a trusted proxy): counting them all as one would let
    # one guesser shut every customer's links.
    for n in range(LIMIT + 2):
        assert (await client.get(unknown(n))).status_code == 404

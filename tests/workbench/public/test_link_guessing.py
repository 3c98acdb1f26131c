"""Guessing the codes of customers' links: an address that opens too many unknown codes (of any
link page: /s/, /f/, /c/, /v/) is told to wait (429, a zh-CN page, Retry-After) on the link
pages, except signed links (surveys /f/, verification /v/) whose token verifies; links that
open never count; other addresses are not affected; counts expire by themselves; with Redis
down the pages still serve. Parallel requests cannot beat the limit; another site's page cannot
make a visitor's browser use up its network's misses."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.customers_data import headers_of
from tests.helpers import FromPeer, from_peer
from tests.outage import Outage
from tests.workbench.brochures.conftest import studio  # noqa: F401
from tests.workbench.public.test_verification_page import customers, invite, rm01  # noqa: F401
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish
from tests.workbench.tracking.conftest import shared  # noqa: F401
from workbench.http.guessing import LinkGuesses
from workbench.surveys.links import SurveyLinks

GUESSER = "203.0.113.7"
NEIGHBOUR = "198.51.100.4"
LIMIT = 30  # WORKBENCH_LINK_GUESS_LIMIT's default
# Unknown codes on each kind of link page (well-formed or not: a miss is a miss).
UNKNOWN = ("/s/Zz9yX8wV7u", "/f/not-a-survey-token", "/c/not-a-visit-token", "/v/nope",
           "/s/Zz9yX8wV7u/pages", "/f/not-a-survey-token/thanks")  # fmt: skip


def unknown(n: int) -> str:
    return UNKNOWN[n % len(UNKNOWN)]


# What another site's page makes a visitor's browser send for an <img src="/s/...">.
CROSS_SITE_IMAGE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors",
                    "Sec-Fetch-Dest": "image"}  # fmt: skip
# ...for a link opened from another site (a chat app's web page, a mail): a top-level navigation.
CROSS_SITE_OPEN = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
                   "Sec-Fetch-Dest": "document"}  # fmt: skip


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


class AtOnceFromPeer(FromPeer):
    """FromPeer whose requests do not wait for each other: the test client's transport blocks
    its caller until the app has answered, so each request goes through a thread of its own
    (the app, on its own event loop, then answers them all at once, as a busy server would)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await asyncio.to_thread(self.handle_request, request)


async def misses_count(client: AsyncTestClient[Litestar], redis_url: str, peer: str) -> int:
    redis = Redis.from_url(redis_url)
    try:
        return int(await redis.get(client.app.state.link_guesses.key(peer)) or 0)
    finally:
        await redis.aclose()


async def test_parallel_unknown_codes_from_two_processes_get_no_more_404s_than_the_limit(
    make_client, settings
):
    # Before, each request checked the count and only counted its miss after the route had
    # answered: requests arriving together all passed the check (10 at once, limit 5: 9 404s).
    limit = 5
    processes = [await make_client(link_guess_limit=limit) for _ in range(2)]
    guessers = [
        httpx.AsyncClient(transport=AtOnceFromPeer(p, GUESSER), base_url=p.base_url)
        for p in processes
    ]
    try:
        answers = await asyncio.gather(*(guessers[n % 2].get(unknown(n)) for n in range(limit * 3)))
    finally:
        for guesser in guessers:
            await guesser.aclose()
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(404) <= limit, statuses
    assert set(statuses) <= {404, 429}, statuses
    for answer in answers:
        if answer.status_code == 429:
            told_to_wait(answer, window=600)
    assert await misses_count(processes[0], settings.redis_url, GUESSER) <= limit


async def test_opening_a_real_link_leaves_the_count_where_it_was(shared, settings):  # noqa: F811
    async with from_peer(shared.client, GUESSER) as guesser:
        assert (await guesser.get(unknown(0))).status_code == 404
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 1
        assert (await guesser.get(f"/s/{shared.code}")).status_code == 200
        assert (await guesser.head(f"/s/{shared.code}")).status_code == 200
        assert (await guesser.get(f"/s/{shared.code}/pages")).status_code == 200
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 1
    async with from_peer(shared.client, NEIGHBOUR) as neighbour:  # no count: none is made
        assert (await neighbour.get(f"/s/{shared.code}")).status_code == 200
    redis = Redis.from_url(settings.redis_url)
    try:
        assert await redis.exists(shared.client.app.state.link_guesses.key(NEIGHBOUR)) == 0
    finally:
        await redis.aclose()


async def test_a_miss_given_back_after_the_window_ended_bars_no_one(settings):
    # A real link still opening when its address's window ends: giving its reserved miss back
    # must not make a count that never expires (the address barred for good).
    redis = Redis.from_url(settings.redis_url)
    guesses = LinkGuesses(redis, prefix=settings.redis_prefix, limit=2, window_seconds=60)
    key = guesses.key(GUESSER)
    try:
        assert await guesses.reserve_miss(GUESSER) == 0
        await redis.delete(key)  # the window ended
        await guesses.release_miss(GUESSER)
        assert await redis.exists(key) == 0
        assert await guesses.reserve_miss(GUESSER) == 0
        assert await guesses.reserve_miss(GUESSER) == 0
        assert 0 < await guesses.reserve_miss(GUESSER) <= 60  # at the limit: refused, not counted
        await guesses.release_miss(GUESSER)
        assert (await redis.get(key), 0 < await redis.ttl(key) <= 60) == (b"1", True)
    finally:
        await redis.aclose()


async def test_another_sites_images_neither_count_nor_bar_the_visitors_network(
    shared,  # noqa: F811
    settings,
):
    # Before, a page with 30 <img src="https://bank/s/bogus..."> shut the visitor's network out
    # of every link page for ten minutes.
    page = f"/s/{shared.code}"
    async with from_peer(shared.client, GUESSER) as visitor:
        for n in range(LIMIT + 10):
            answer = await visitor.get(unknown(n), headers=CROSS_SITE_IMAGE)
            assert answer.status_code == 404, (n, answer.text)
            assert "链接无效" in answer.text
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 0
        assert (await visitor.get(page, headers=CROSS_SITE_OPEN)).status_code == 200
        assert (await visitor.get(page)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        CROSS_SITE_IMAGE,
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"},
        CROSS_SITE_OPEN | {"Sec-Purpose": "prefetch"},
    ],
    ids=["image", "fetch", "frame", "prefetch"],
)
async def test_another_sites_subresource_learns_nothing_of_a_real_code(
    shared,  # noqa: F811
    settings,
    headers,
):
    # A guesser faking the headers is told "not found" for a real code too: no code is looked up.
    async with from_peer(shared.client, GUESSER) as guesser:
        for path in (f"/s/{shared.code}", f"/s/{shared.code}/pages"):
            answer = await guesser.get(path, headers=headers)
            assert answer.status_code == 404, (path, answer.text)
            assert "链接无效" in answer.text
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 0


async def test_a_link_opened_from_another_site_works_and_its_misses_count(
    shared,  # noqa: F811
    settings,
):
    async with from_peer(shared.client, GUESSER) as visitor:
        assert (await visitor.get(f"/s/{shared.code}", headers=CROSS_SITE_OPEN)).status_code == 200
        assert (await visitor.get(unknown(0), headers=CROSS_SITE_OPEN)).status_code == 404
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 1
        # Same-site pages and clients without Sec-Fetch headers (curl, a preview server) too.
        same_site = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}
        assert (await visitor.get(unknown(1), headers=same_site)).status_code == 404
        assert (await visitor.get(unknown(2))).status_code == 404
        assert await misses_count(shared.client, settings.redis_url, GUESSER) == 3


async def survey_link(client: Any, db: Any, settings: Any) -> str:
    """The path of a fresh survey link sent by rm01 to a new customer of theirs."""
    survey = await publish(db)
    (customer,) = await add_customers(db, 1, prefix=uuid.uuid4().hex[:6])
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(customer)]},
        headers=await headers_of(client, "rm01"),
    )
    assert sent.status_code == 201, sent.text
    url: str = sent.json()["recipients"][0]["url"]
    return url.removeprefix(settings.public_base_url.rstrip("/"))


def forged(path: str) -> str:
    """The link with one character of its token's tag changed: well-formed, its tag wrong."""
    return path[:-5] + ("A" if path[-5] != "A" else "B") + path[-4:]


async def bar(guesser: httpx.AsyncClient) -> None:
    """Someone on the guesser's network uses up its misses (all 30, some on survey links)."""
    for n in range(LIMIT):
        assert (await guesser.get(unknown(n))).status_code == 404, n
    told_to_wait(await guesser.get(unknown(LIMIT)), window=600)


@pytest.mark.usefixtures("demo_bank")
async def test_a_customer_on_a_barred_network_still_answers_a_survey(client, db, settings):
    # Before, a customer on a branch's Wi-Fi where someone had guessed got the 429 page on 提交
    # and lost every answer (the back button showed the 429 page again).
    path = await survey_link(client, db, settings)
    answers = urlencode([("nps", "9"), ("visit", "branch"), ("rating", "4")])
    async with from_peer(client, GUESSER) as customer:
        await bar(customer)
        page = await customer.get(path)
        assert page.status_code == 200, page.text
        assert "客户满意度调查" in page.text
        assert (await customer.head(path)).status_code == 200
        sent = await customer.post(
            path, content=answers, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert (sent.status_code, sent.headers.get("location")) == (303, f"{path}/thanks")
        thanks = await customer.get(f"{path}/thanks")
        assert thanks.status_code == 200
        assert "感谢" in thanks.text
        assert await misses_count(client, settings.redis_url, GUESSER) == LIMIT  # none counted
        # Everything else stays barred: a forged survey token, brochure codes, other links.
        told_to_wait(await customer.get(forged(path)), window=600)
        told_to_wait(await customer.post(forged(path), content=answers), window=600)
        told_to_wait(await customer.get(f"{forged(path)}/thanks"), window=600)
        told_to_wait(await customer.get("/s/Zz9yX8wV7u"), window=600)
        told_to_wait(await customer.get("/c/not-a-visit-token"), window=600)
    stored = await db.fetchval("select answers from survey_responses")
    assert json.loads(stored) == {"nps": 9, "visit": "branch", "rating": 4}


@pytest.mark.usefixtures("demo_bank")
async def test_a_barred_networks_misses_on_signed_links_still_count(client, settings):
    # A validly signed token of an invitation that does not exist (deleted): served, a 404,
    # counted like any miss.
    gone = SurveyLinks(settings.jwt_keys).token(uuid.uuid4())
    async with from_peer(client, GUESSER) as guesser:
        await bar(guesser)
        assert (await guesser.get(f"/f/{gone}")).status_code == 404
        assert await misses_count(client, settings.redis_url, GUESSER) == LIMIT + 1
        told_to_wait(await guesser.get(unknown(0)), window=600)


@pytest.mark.usefixtures("demo_bank")
async def test_a_customer_on_a_barred_network_still_opens_a_verification_link(
    client,
    settings,
    invite,  # noqa: F811
):
    async with from_peer(client, GUESSER) as customer:
        await bar(customer)
        page = await customer.get(invite["path"])
        assert page.status_code == 200, page.text
        assert "实名认证" in page.text
        assert (await customer.get(f"{invite['path']}/done")).status_code == 303
        told_to_wait(await customer.get(forged(invite["path"])), window=600)
        told_to_wait(await customer.get("/v/nope"), window=600)
        assert await misses_count(client, settings.redis_url, GUESSER) == LIMIT

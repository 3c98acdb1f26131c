"""The survey page answers a form with mistakes by a redirect to itself (Post/Redirect/Get), which
shows the mistakes with the answers kept: they wait in Redis, encrypted, under a random id in a
cookie on the link's path (nothing in the URL); any API process shows them; after the answer is
stored they are dropped. Redis unreachable: the page is the answer, as before."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
import redis.asyncio as aioredis

from tests.outage import Outage
from tests.workbench.surveys.test_public_survey_page import FORM, invite

pytestmark = pytest.mark.usefixtures("demo_bank")
REASON = "排队太久了，柜员态度一般"
MISSING_RATING = [("nps", "3"), ("why", REASON), ("visit", "branch"), ("liked", "staff")]
GOOD = [*MISSING_RATING, ("rating", "2")]


@pytest.fixture
async def redis(settings: Any) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@contextlib.contextmanager
def _redis_outage(settings: Any) -> Iterator[Outage]:
    outage = Outage(settings.redis_url, 6379)
    outage.start()
    try:
        yield outage
    finally:
        outage.stop()


async def _drafts(redis: aioredis.Redis, settings: Any) -> dict[bytes, bytes]:
    keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}survey_draft:*")]
    return {k: await redis.get(k) for k in keys}


def _shows_the_mistake_and_the_answers(html: str) -> None:
    assert "有 1 处需要修改" in html
    assert html.split('id="err-rating">', 1)[1].split("</p>", 1)[0] == "此题必答"
    assert 'name="nps" value="3" checked' in html
    assert 'name="visit" value="branch" checked' in html
    assert 'name="liked" value="staff" checked' in html
    assert f">{REASON}</textarea>" in html


async def test_a_form_with_mistakes_redirects_to_the_page_which_shows_them_with_answers_kept(
    client, db, settings, redis
):
    path, _ = await invite(client, db, settings)
    posted = await client.post(
        path, content=urlencode(MISSING_RATING), headers=FORM, follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == path  # nothing typed in the URL
    assert posted.headers["cache-control"] == "no-store"
    cookie = SimpleCookie(posted.headers["set-cookie"])["wb_draft"]
    assert cookie["path"] == path
    assert cookie["httponly"]
    assert 0 < int(cookie["max-age"]) <= 3600
    assert REASON not in posted.text
    # Kept in Redis for a while, encrypted: the text is nowhere in it.
    drafts = await _drafts(redis, settings)
    assert len(drafts) == 1
    (key, sealed), ttl = next(iter(drafts.items())), await redis.ttl(next(iter(drafts)))
    assert cookie.value in key.decode()
    assert 0 < ttl <= 3600
    assert REASON.encode() not in sealed
    assert b"staff" not in sealed

    for _ in range(2):  # the redirect's GET, then a reload: the same page, nothing stored
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        _shows_the_mistake_and_the_answers(page.text)
    assert await db.fetchval("select count(*) from survey_responses") == 0

    # Fixed and sent: stored, the draft and its cookie dropped; the thank-you.
    done = await client.post(path, content=urlencode(GOOD), headers=FORM, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}/thanks"
    set_cookies = SimpleCookie()
    for header in done.headers.get_list("set-cookie"):
        set_cookies.load(header)
    assert set_cookies["wb_draft"].value == ""
    assert set_cookies["wb_draft"]["path"] == path
    assert await _drafts(redis, settings) == {}
    assert await db.fetchval("select answers->>'rating' from survey_responses") == "2"
    assert (await client.get(path)).status_code == 409


async def test_another_api_process_shows_the_kept_answers(make_client, db, settings):
    first, second = await make_client(), await make_client()
    path, _ = await invite(first, db, settings)
    posted = await first.post(
        path, content=urlencode(MISSING_RATING), headers=FORM, follow_redirects=False
    )
    draft = SimpleCookie(posted.headers["set-cookie"])["wb_draft"].value
    page = await second.get(path, headers={"cookie": f"wb_draft={draft}"})
    assert page.status_code == 200
    _shows_the_mistake_and_the_answers(page.text)


async def test_a_draft_cookie_of_another_link_or_made_up_shows_nothing(client, db, settings):
    path, _ = await invite(client, db, settings)
    other, _ = await invite(client, db, settings)
    posted = await client.post(
        path, content=urlencode(MISSING_RATING), headers=FORM, follow_redirects=False
    )
    draft = SimpleCookie(posted.headers["set-cookie"])["wb_draft"].value
    client.cookies.clear()
    for value in (draft, "x" * 24, "../../etc", "*" * 24, ""):
        page = await client.get(other, headers={"cookie": f"wb_draft={value}"})
        assert page.status_code == 200
        assert REASON not in page.text
        assert "需要修改" not in page.text
        assert " checked" not in page.text


async def test_when_redis_cannot_keep_the_answers_the_page_is_the_answer(make_client, db, settings):
    with _redis_outage(settings) as outage:
        client = await make_client(redis_url=outage.url)
        path, _ = await invite(client, db, settings)
        outage.cut()
        page = await client.post(
            path, content=urlencode(MISSING_RATING), headers=FORM, follow_redirects=False
        )
        assert page.status_code == 422, page.text
        assert "set-cookie" not in page.headers
        _shows_the_mistake_and_the_answers(page.text)
        outage.restore()
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def test_with_redis_away_a_page_with_a_draft_cookie_still_shows_the_survey(
    make_client, db, settings
):
    # It was the 503 page: a customer back after a mistake could not answer until Redis was.
    with _redis_outage(settings) as outage:
        client = await make_client(redis_url=outage.url)
        path, _ = await invite(client, db, settings)
        sent = await client.post(
            path, content=urlencode(MISSING_RATING), headers=FORM, follow_redirects=False
        )
        assert sent.status_code == 303, sent.text
        outage.cut()
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert "<form" in page.text
        outage.restore()

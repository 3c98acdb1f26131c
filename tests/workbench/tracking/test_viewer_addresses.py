"""Addresses near the viewer's that a customer may open by hand: the no-script result page's
address opened again (`GET /s/{code}/contact`), a link cut short (`/s/`, `/f/`) or with a capital
letter (`/S/{code}`). Each is a page for a person, never a JSON answer; API answers stay JSON."""

from __future__ import annotations

import pytest

from tests.workbench.tracking.conftest import PHONE_SAFARI, stream_length

PHONE = {"User-Agent": PHONE_SAFARI}


async def test_the_contact_address_opened_again_leads_back_to_the_page_and_counts_nothing(
    shared, db
):
    path = f"/s/{shared.code}/contact"
    for method in ("GET", "HEAD"):
        answer = await shared.client.request(method, path, headers=PHONE, follow_redirects=False)
        assert answer.status_code == 303, (method, answer.text)
        assert answer.headers["location"] == f"/s/{shared.code}"
        assert answer.headers["cache-control"] == "no-store"
    followed = await shared.client.get(path, headers=PHONE, follow_redirects=True)
    assert followed.status_code == 200
    assert "我有兴趣，请联系我" in followed.text
    # An unknown or malformed code: the viewer's not-found page, no redirect.
    for code in ("Zz9Zz9Zz9Z", "bad-code"):
        answer = await shared.client.get(f"/s/{code}/contact", follow_redirects=True)
        assert answer.status_code == 404, code
        assert answer.headers["content-type"].startswith("text/html"), code
        assert "链接无效" in answer.text, code
    await shared.consume()
    assert await db.fetchval("select count(*) from share_hits") == 0
    assert await stream_length(shared.studio.settings) == 0


@pytest.mark.parametrize(
    "path", ["/s/", "/s", "/f/", "/f", "/S/Ab3dE5gH9k", "/S/Ab3dE5gH9k/contact", "/S/", "/F/abc"]
)
async def test_a_cut_short_or_capitalised_link_is_the_viewers_not_found_page(shared, path):
    for method in ("GET", "HEAD"):
        answer = await shared.client.request(method, path, headers=PHONE)
        assert answer.status_code == 404, (method, path)
        assert answer.headers["content-type"].startswith("text/html"), (method, path)
        assert answer.headers["cache-control"] == "no-store"
        assert "noindex" in answer.headers["x-robots-tag"]
        if method == "GET":
            assert "<title>链接无效" in answer.text
            assert "该链接无效或不完整，请向您的客户经理索取新的链接。" in answer.text
            assert shared.studio.settings.bank_name in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/s/{code}/x",
        "/s/{code}/pages/1",
        "/s/{code}/contact/again",
        "/f/Ab3dE5gH9k/thanks/x",
        "/c/",
        "/c",
        "/C/Ab3dE5gH9k",
        "/c/Ab3dE5gH9k/x",
        "/v/",
        "/V/Ab3dE5gH9k",
        "/v/Ab3dE5gH9k/done/x",
    ],
)
async def test_a_customer_link_with_more_after_it_or_cut_short_is_a_page(shared, path):
    """Every customer link (brochures /s/, surveys /f/, visit confirmations /c/, verification
    /v/): a path that matched no route is the not-found page, never English JSON."""
    path = path.format(code=shared.code)
    for method in ("GET", "HEAD"):
        answer = await shared.client.request(method, path, headers=PHONE)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.headers["content-type"].startswith("text/html"), (method, path)
        if method == "GET":
            assert "<title>链接无效" in answer.text
            assert shared.studio.settings.bank_name in answer.text


async def test_api_addresses_still_answer_problem_json(shared):
    for path in ("/api/v1/nothing", "/api/", "/t", "/sx", "/cv/1"):
        answer = await shared.client.get(path)
        assert answer.status_code in (404, 405), path
        assert answer.headers["content-type"] == "application/problem+json", path


async def test_a_link_with_a_final_slash_is_the_same_link(shared, db):
    # Some chat apps add a "/" to a link they shorten or unfold: the customer still sees the
    # brochure and its button, and opening the page counts nothing (beacons do).
    answer = await shared.client.get(f"/s/{shared.code}/", headers=PHONE)
    assert answer.status_code == 200
    assert "我有兴趣，请联系我" in answer.text
    assert f'action="/s/{shared.code}/contact"' in answer.text
    await shared.consume()
    assert await db.fetchval("select count(*) from share_hits") == 0

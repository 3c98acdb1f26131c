"""The no-script "我有兴趣，请联系我" form takes posts from the share's own page only: one whose
`Origin` (without one, `Referer`) names another site is refused with the customer page's error
and changes nothing (no beacon, no click, no word to the RM); an old browser's post with neither
header is taken as before."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.customers_data import headers_of
from tests.workbench.tracking.conftest import PHONE_SAFARI, hits, stream_length

EVIL = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}


def ours(shared: Any) -> str:
    """This site's origin, as the browser names it (the customer links' base URL)."""
    parts = urlsplit(shared.studio.settings.public_base_url)
    return f"{parts.scheme}://{parts.netloc}"


async def post(shared: Any, headers: dict[str, str]) -> Any:
    return await shared.client.post(
        f"/s/{shared.code}/contact",
        data={"v": "vis-1"},
        headers={"User-Agent": PHONE_SAFARI} | headers,
        follow_redirects=False,
    )


async def told(db: Any) -> int:
    """Notifications telling an RM of a share (opened, or a customer asking for contact)."""
    return int(
        await db.fetchval(
            "select count(*) from notifications"
            " where category in ('brochure.opened', 'brochure.contact_requested')"
        )
    )


async def clicks(shared: Any) -> int:
    rm01 = await headers_of(shared.client, "rm01")
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    count: int = listed["clicks"]
    return count


@pytest.mark.parametrize(
    "headers",
    [
        EVIL,  # QA's post: an old browser's headers, from another site's page
        {"Referer": "https://evil.example/page"},  # a browser that sends no Origin
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},  # made up
        {"Origin": "null"},  # another site's sandboxed frame, or a page sending no referrer
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Referer": "not a url"},
    ],
)
async def test_a_post_from_another_site_is_refused_and_changes_nothing(shared, db, headers):
    refused = await post(shared, headers)
    assert refused.status_code == 403, refused.text
    assert "无法提交" in refused.text
    assert "请在资料页面上点击按钮。" in refused.text
    assert "set-cookie" not in refused.headers
    assert await stream_length(shared.studio.settings) == 0
    await shared.consume()
    assert await hits(db) == []
    assert await told(db) == 0
    assert await clicks(shared) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},  # an old browser: neither Origin nor Referer
        {"Sec-Fetch-Site": "same-origin"},
        # the share page's own post (its policy sends the Origin to this site)
        {"Origin": "{ours}", "Sec-Fetch-Site": "same-origin"},
        {"Referer": "{ours}/s/{code}"},  # a browser that sends no Origin: the page it was on
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # a page of the old policy
    ],
)
async def test_a_post_from_the_share_page_or_an_old_browser_is_taken(shared, db, headers):
    headers = {k: v.format(ours=ours(shared), code=shared.code) for k, v in headers.items()}
    taken = await post(shared, headers)
    assert taken.status_code == 303, taken.text
    assert taken.headers["location"] == f"/s/{shared.code}/contact/sent"
    await shared.consume()
    assert sorted(h["type"] for h in await hits(db)) == ["cta", "open"]
    assert await clicks(shared) == 1
    assert await told(db) == 1  # "想了解《…》，请尽快联系" (the click alone is told)


async def test_the_share_page_names_itself_to_its_own_site_only(shared):
    """What lets the form's post carry its page's Origin: the referrer goes to this site and
    to no other (a browser that does not know `same-origin` keeps to `no-referrer`)."""
    page = await shared.client.get(f"/s/{shared.code}", headers={"User-Agent": PHONE_SAFARI})
    assert page.status_code == 200, page.text
    assert page.headers["referrer-policy"] == "no-referrer, same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.text

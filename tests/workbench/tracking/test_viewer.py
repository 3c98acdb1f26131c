"""The public viewer `GET /s/{code}`: what a customer sees of a shared brochure, that showing it
counts nothing, and that a link stops at once when the brochure goes offline."""

from __future__ import annotations

import re

from tests.workbench.tracking.conftest import PHONE_SAFARI, SLACK, hits, stream_length


async def test_a_live_share_shows_its_pages_product_and_button_and_counts_nothing(shared, db):
    response = await shared.client.get(f"/s/{shared.code}", headers={"User-Agent": PHONE_SAFARI})
    assert response.status_code == 200, response.text
    html = response.text
    assert response.headers["cache-control"] == "no-store"
    assert "noindex" in response.headers["x-robots-tag"]
    assert '<meta name="viewport"' in html
    assert "稳享90天" in html  # the title and the product's risk level in plain words
    assert "R2 中低风险" in html
    assert "我有兴趣，请联系我" in html
    assert shared.studio.settings.bank_name in html
    assert "您的客户经理：张伟" in html  # who shared it (rm01): whom the customer will hear from
    assert "稳健理财" not in html  # the talk track is for the RM only
    images = re.findall(r'<img class="page" data-page="(\d)" src="(/media/[^"]+)" width="\d+"'
                        r' height="\d+" loading="(\w+)"', html)  # fmt: skip
    assert [(page, loading) for page, _, loading in images] == [("1", "eager"), ("2", "lazy")]
    og_image = re.search(r'<meta property="og:image" content="([^"]+)">', html)
    assert og_image
    assert og_image.group(1).endswith(images[0][1])
    assert '<meta property="og:title" content="稳享90天">' in html
    nonce = re.search(r"script-src 'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce
    assert f'<script nonce="{nonce.group(1)}">' in html
    assert "set-cookie" not in response.headers  # viewing needs no cookie
    # The page image loads with its signed URL; fetching it counts nothing either.
    image = await shared.client.get(images[0][1].replace("&amp;", "&"))
    assert image.status_code == 200
    assert await hits(db) == []
    assert await db.fetchval("select count(*) from share_visitors") == 0
    assert await stream_length(shared.studio.settings) == 0


async def test_head_prefetch_and_link_previews_count_nothing(shared, db):
    head = await shared.client.head(f"/s/{shared.code}")
    assert head.status_code == 200
    assert head.content == b""
    for headers in ({"Sec-Purpose": "prefetch"}, {"Purpose": "prefetch"}, {"User-Agent": SLACK}):
        assert (await shared.client.get(f"/s/{shared.code}", headers=headers)).status_code == 200
    await shared.consume()
    assert await hits(db) == []
    assert await db.fetchval("select count(*) from share_visitors") == 0


async def test_an_unpublished_brochure_is_gone_at_once_behind_links_already_shared(shared):
    assert (await shared.client.get(f"/s/{shared.code}")).status_code == 200
    unpublished = await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    assert unpublished.status_code == 200, unpublished.text
    response = await shared.client.get(f"/s/{shared.code}")
    assert response.status_code == 410
    assert "该资料已下架/已过期" in response.text
    assert "/media/" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_an_expired_brochure_is_gone(shared, db):
    await db.execute(
        "update brochure_versions set live_until = now() - interval '1 second'"
        " where brochure_id = $1 and status = 'published'",
        __import__("uuid").UUID(shared.brochure_id),
    )
    response = await shared.client.get(f"/s/{shared.code}")
    assert response.status_code == 410
    assert "已过期" in response.text


async def test_a_bad_or_unknown_code_is_a_404_page(shared):
    for code in ("Zz9Zz9Zz9Z", "short", "has-dash-1", "x" * 40, "abc.defghi"):
        response = await shared.client.get(f"/s/{code}")
        assert response.status_code == 404, code
        assert response.headers["content-type"].startswith("text/html"), code
        assert "链接无效" in response.text, code
    # A NUL byte is refused before anything looks it up, still as a page.
    response = await shared.client.get("/s/%00abcdefgh")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")

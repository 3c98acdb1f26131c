"""The public viewer `GET /s/{code}`: what a customer sees of a shared brochure, that showing it
counts nothing, and that a link stops at once when the brochure goes offline."""

from __future__ import annotations

import json
import re

import pytest

from tests.workbench.tracking.conftest import PHONE_SAFARI, SLACK, hits, stream_length, visitors


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
    assert "<title>该资料已无法查看" in response.text  # plain words, no "下架/已过期"
    assert "/" not in response.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "请联系您的客户经理 张伟" in response.text  # who shared it (rm01)
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


async def _product(shared, db, *, category: str, risk_level: int) -> None:
    """The shared brochure's product, in this category at this risk level, as compliance
    approved it (a level other than the approved one takes it off: brochures.queries.LIVE)."""
    await db.execute(
        "update products set category = $1, risk_level = $2"
        " where code = (select product_code from shares where id = $3)",
        category, risk_level, shared.share_id,
    )  # fmt: skip
    await db.execute(
        "update brochure_versions set approved_risk_level = $1"
        " where brochure_id = (select brochure_id from shares where id = $2)",
        risk_level, shared.share_id,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("category", "risk_level", "note", "tone"),
    [
        ("deposit", 1, "存款产品受《存款保险条例》保护，以银行公告为准。", "low"),
        ("deposit", 2, "结构性存款不同于一般性存款，具有投资风险", "low"),
        ("insurance", 2, "保险产品由保险公司承保，不是银行存款，以保险合同为准。", "low"),
        ("wealth", 3, "理财非存款，产品有风险，投资须谨慎。", "mid"),
        ("fund", 4, "理财非存款，产品有风险，投资须谨慎。", "high"),
        ("precious_metal", 5, "贵金属价格波动较大", "high"),
    ],
)
async def test_the_risk_note_fits_the_products_category_and_the_level_its_colour(
    shared, db, category, risk_level, note, tone
):
    await _product(shared, db, category=category, risk_level=risk_level)
    html = (await shared.client.get(f"/s/{shared.code}")).text
    footer = html.split('<p class="note">', 1)[1].split("</p>", 1)[0]
    assert note in footer
    assert html.count("须谨慎") <= 1  # said once, in one place
    if category in ("deposit", "insurance"):
        assert "理财非存款" not in html
    assert f'<span class="risk {tone}">R{risk_level} ' in html


async def test_the_button_works_without_a_script_and_counts_as_the_beacon_would(shared, db):
    html = (await shared.client.get(f"/s/{shared.code}")).text
    assert (
        "form-action 'self'"
        in (await shared.client.get(f"/s/{shared.code}")).headers["content-security-policy"]
    )
    form = re.search(r'<form class="cta" id="cta-bar" method="post" action="([^"]+)">', html)
    assert form
    assert form.group(1) == f"/s/{shared.code}/contact"
    assert '<button id="cta" type="submit">' in html
    visitor = re.search(r'<input type="hidden" name="v" value="([0-9a-f]{32})">', html)
    assert visitor

    phone = {"User-Agent": PHONE_SAFARI, "Sec-Fetch-Site": "same-origin"}
    posted = await shared.client.post(
        form.group(1), data={"v": visitor.group(1)}, headers=phone, follow_redirects=False
    )
    # Post/Redirect/Get: a reload or Forward of the result page posts nothing again.
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/s/{shared.code}/contact/sent"
    assert f"wb_vid={visitor.group(1)}" in posted.headers["set-cookie"]
    answer = await shared.client.get(posted.headers["location"], headers=phone)
    assert answer.status_code == 200, answer.text
    assert "已告知您的客户经理 张伟，将尽快与您联系" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    # Nothing is written to PostgreSQL by the request: the beacons go to the stream.
    assert await db.fetchval("select count(*) from share_hits") == 0
    assert await stream_length(shared.studio.settings) == 2
    # Tapped twice (the cookie now names the visitor): a retry, counted once.
    again = await shared.client.post(form.group(1), data={"v": "other"}, headers=phone)
    assert again.status_code == 200
    await shared.consume()
    stored = await hits(db)
    assert sorted(h["type"] for h in stored) == ["cta", "open"]
    assert {h["verdict"] for h in stored} == {"human"}
    [visitor_row] = await visitors(db, shared.share_id)
    assert visitor_row["clicked_at"] is not None
    assert visitor_row["first_open_at"] is not None
    told = await db.fetch("select category, data from notifications")
    assert [(t["category"], json.loads(t["data"])["action"]) for t in told] == [
        ("brochure.contact_requested", "contact")
    ]


async def test_the_form_is_labelled_as_the_beacon_would_be_and_only_from_this_site(shared, db):
    shared.client.cookies.clear()
    path = f"/s/{shared.code}/contact"
    slack = await shared.client.post(path, data={"v": "preview1"}, headers={"User-Agent": SLACK})
    assert slack.status_code == 200
    foreign = await shared.client.post(
        path, data={"v": "visitor2"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert foreign.status_code == 403
    assert (await shared.client.post("/s/Zz9Zz9Zz9Z/contact", data={})).status_code == 404
    await shared.consume()
    assert {(h["visitor_id"], h["verdict"]) for h in await hits(db)} == {("preview1", "bot")}
    assert await db.fetchval("select count(*) from notifications") == 0


async def test_fresh_page_urls_are_as_scoped_as_the_page_and_count_nothing(shared, db):
    answer = await shared.client.get(f"/s/{shared.code}/pages")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    pages = answer.json()["pages"]
    assert [p["page"] for p in pages] == [1, 2]
    image = await shared.client.get(pages[1]["jpeg"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert (await shared.client.get("/s/Zz9Zz9Zz9Z/pages")).status_code == 404
    assert (await shared.client.get("/s/bad-code/pages")).status_code == 404
    await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    gone = await shared.client.get(f"/s/{shared.code}/pages")
    assert gone.status_code == 410
    assert gone.json()["code"] == "share.gone"  # problem+json: tests/test_list_rule_share_pages.py
    assert await stream_length(shared.studio.settings) == 0

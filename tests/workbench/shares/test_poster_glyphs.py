"""Posters never draw an empty box: a character the font (Noto Sans SC) has no glyph for, such as
an emoji in a survey's title or an RM's name, is left out of the survey and brochure posters (or
drawn as its plain form), both as drawn and as served."""

from __future__ import annotations

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import add_customers, publish
from workbench.shares import poster
from workbench.surveys import share_poster

URL = "https://bank.example/f/AaJEA3OIez6JgAuy2o2iPgF8RQuub1iJBcg"


def facts(title: str, rm_name: str = "王小五", bank: str = "示例银行") -> poster.PosterFacts:
    return poster.PosterFacts(bank=bank, title=title, rm_name=rm_name, url=URL)


@pytest.mark.parametrize(
    ("shown", "plain"),
    [
        (facts("QA 全题型问卷 🧪"), facts("QA 全题型问卷")),
        (facts("问卷", rm_name="王小五 🌸"), facts("问卷", rm_name="王小五")),
        (facts("👍🏽 满意度 ❤️‍🔥 调查"), facts("满意度 调查")),
        (facts("问卷", bank="示例银行🏦"), facts("问卷")),
    ],
)
def test_characters_the_font_lacks_are_left_out_of_every_poster(shown, plain):
    assert share_poster.draw(shown) == share_poster.draw(plain)
    assert poster.draw(shown, None) == poster.draw(plain, None)


def test_text_the_font_draws_is_kept_and_plain_forms_stand_in():
    assert poster.drawable("年化 3.5%，《稳享》—— A/B") == "年化 3.5%，《稳享》—— A/B"
    assert poster.drawable("𝐀𝐁 问卷 🧪 ") == "AB 问卷"
    assert poster.drawable("🧪") == ""


@pytest.mark.usefixtures("demo_bank")
async def test_a_survey_poster_with_an_emoji_title_is_served_without_a_box(
    make_client, db, tmp_path, settings
):
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, title="QA 全题型问卷 🧪")
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    body = {"survey_id": str(survey), "channel": "wechat", "customer_id": str(customer)}
    share = (await client.post("/api/v1/shares", json=body, headers=rm01)).json()
    got = await client.get("/" + share["poster_png_url"].split("/", 3)[3], headers=rm01)
    assert got.status_code == 200
    rm_name = await db.fetchval("select name from users where login = 'rm01'")
    expected = poster.PosterFacts(
        bank=settings.bank_name, title="QA 全题型问卷", rm_name=rm_name, url=share["url"]
    )
    assert got.content == share_poster.draw(expected)

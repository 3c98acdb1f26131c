"""A phone or ID number typed into a note is masked whatever is typed between its groups: spaces
of any width, dashes of any kind, underscores, commas, slashes, and characters that show nothing
inside it; prose without a long number stays as typed."""

from __future__ import annotations

import re

import pytest

from tests.customers_data import CUSTOMERS, customer_row, feed, headers_of
from workbench.customers.personal_data import mask_long_numbers

pytestmark = pytest.mark.usefixtures("demo_bank")

SEPARATORS = {
    "no-break space": "\u00a0",
    "narrow no-break space": "\u202f",
    "thin space": "\u2009",
    "ideographic space": "\u3000",
    "tab": "\t",
    "en dash": "\u2013",
    "em dash": "\u2014",
    "minus": "\u2212",
    "hyphen": "\u2010",
    "non-breaking hyphen": "\u2011",
    "underscore": "_",
    "comma": ",",
    "full-width comma": "\uff0c",
    "comma and space": ", ",
    "slash": "/",
    "full-width slash": "\uff0f",
    "spaced dash": " \u2013 ",
}
INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
}


def digits_shown(text: str) -> int:
    return len(re.findall(r"\d", text))


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_a_phone_in_groups_shows_five_digits_at_most(sep: str) -> None:
    for number in (f"138{sep}1234{sep}5678", f"110105{sep}19491231{sep}002X"):
        masked = mask_long_numbers(f"客户说电话是{number}，请回电")
        assert masked.startswith("客户说电话是"), masked
        assert masked.endswith("，请回电"), masked
        assert digits_shown(masked) <= 5, masked
    assert mask_long_numbers(f"138{sep}1234{sep}5678") == "138" + "*" * (6 + 2 * len(sep)) + "78"


@pytest.mark.parametrize("zw", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_character_that_shows_nothing_does_not_cut_a_number_in_two(zw: str) -> None:
    for typed in (f"138{zw}12345678", f"1381234{zw}5678", zw.join("13812345678")):
        assert mask_long_numbers(f"电话{typed}") == "电话138******78", typed


def test_prose_without_a_long_number_stays_as_typed() -> None:
    for text in (
        "1, 2, 3",
        "选了1、2、3项",
        "评分9，10",
        "10:30-11:45 到访",
        "第3/4季度",
        "收益3.5%，5.2%",
        "iPhone15Pro 的 5G",
        "1\u200b2-3-4",  # four digits
    ):
        assert mask_long_numbers(text) == text
    # What was masked before still is, the same way.
    assert mask_long_numbers("2026-12-05") == "202*****05"
    assert mask_long_numbers("12-345") == "12-*45"
    assert mask_long_numbers("护照E1234 5678") == "护照E123****78"


async def test_a_note_with_a_separated_phone_is_read_masked(client, db) -> None:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("M-1", name="张三", seq=1)])
    customer = await db.fetchval("select id from customers where external_id = 'M-1'")
    rm01 = await headers_of(client, "rm01")
    path = f"{CUSTOMERS}/{customer}"
    texts = [
        "回电 138\u00a01234\u00a05678",
        "回电 138\u20131234\u20135678",
        "回电 138_1234_5678",
        "回电 138，1234，5678",
        "回电 138/1234/5678",
        "回电 1381234\u200b5678",
    ]
    for text in texts:
        posted = await client.post(
            f"{path}/notes", json={"kind": "call", "text": text}, headers=rm01
        )
        assert posted.status_code == 201, posted.text
    for who in ("rm01", "bh.east"):
        timeline = await client.get(f"{path}/timeline", headers=await headers_of(client, who))
        assert timeline.status_code == 200, timeline.text
        shown = [e["text"] for e in timeline.json()["items"] if e["kind"] == "note.call"]
        assert len(shown) == len(texts), who
        for text in shown:
            assert text.startswith("回电 138"), text
            assert text.endswith("78"), text
            assert digits_shown(text) == 5, text

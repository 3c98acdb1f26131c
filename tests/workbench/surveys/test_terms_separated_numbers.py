"""A number typed with any separator between its groups (a no-break space, an en dash, an
underscore, a comma, a slash) or with a zero-width character inside it is masked in the answers
shown, so no word holding it, or a part of it, is a term; migration 0047 deletes such terms
stored before, by the pattern the code drops them by, read alike by PostgreSQL."""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.results_data import RESULTS
from tests.workbench.surveys.test_public_survey_page import invite
from tests.workbench.surveys.test_terms_long_numbers import QUESTIONS
from workbench import migrate
from workbench.customers.personal_data import NUMBER_SEPARATORS, mask_long_numbers
from workbench.surveys.terms import LONG_NUMBER_TERM, holds_long_number, terms

COMMENT = (
    "请加微信wxid_abc138_1234_5678，电话138\u00a01234\u00a05678，"
    "卡号6222\u20140212\u20143456\u20147890abc，QQ987\u200b654321，排队太久"
)
NUMBERS = ("wxid_abc138_1234_5678", "7890abc", "qq987", "wxid_abc138")
MIGRATION = next(Path(migrate.default_directory()).glob("0047_*.sql"))


def test_a_separated_number_and_the_words_beside_it_are_no_terms() -> None:
    assert terms(COMMENT) == ["请加", "微信", "电话", "卡号", "排队", "太久"]
    assert terms("订单 ab12/34/56 排队太久") == ["订单", "排队", "太久"]  # six digits
    # Five digits, separated by slashes: neither masked nor dropped.
    assert terms("订单 ab12/34/5 排队太久") == ["订单", "ab12", "排队", "太久"]
    assert mask_long_numbers("订单 ab12/34/5 排队太久") == "订单 ab12/34/5 排队太久"


def test_every_separator_the_mask_takes_is_a_term_separator_after_nfkc() -> None:
    between = re.compile(f"[{NUMBER_SEPARATORS}]")
    separators = [chr(c) for c in range(sys.maxunicode + 1) if between.fullmatch(chr(c))]
    assert len(separators) > 40
    for sep in separators:
        word = unicodedata.normalize("NFKC", f"a123{sep}456").lower()
        assert holds_long_number(word), (hex(ord(sep)), word)
    assert not holds_long_number("a1,2,3")
    assert not holds_long_number("ab12/34")


def test_the_migration_deletes_by_the_very_pattern() -> None:
    sql = MIGRATION.read_text(encoding="utf-8")
    assert sql.count(f"term ~ '{LONG_NUMBER_TERM.pattern}'") == 2


async def test_postgresql_reads_the_pattern_as_python_does(db) -> None:
    rng = random.Random(47)
    alphabet = "0123456789x*-. _,/a理\t\u00b7\u3001\u2013\u2014\u2212\u2010\u200b\ufeff\u00ad"
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 20))) for _ in range(3000)]
    rows = await db.fetch(
        "select w, w ~ $2 as held from unnest($1::text[]) w", words, LONG_NUMBER_TERM.pattern
    )
    differ = [r["w"] for r in rows if r["held"] != holds_long_number(r["w"])]
    assert differ == []
    assert 300 < sum(r["held"] for r in rows) < 2700  # both kinds are there


@pytest.mark.usefixtures("demo_bank")
async def test_separated_numbers_in_a_comment_are_never_terms_of_the_results(
    client, db, settings
) -> None:
    path, _ = await invite(client, db, settings, questions=QUESTIONS)
    answered = await client.post(path, json={"answers": {"score": 3, "comment": COMMENT}})
    assert answered.status_code == 201, answered.text
    survey = await db.fetchval("select survey_id from survey_responses")
    headers = await headers_of(client, "marketing")
    found = await client.get(RESULTS.format(survey), headers=headers)
    assert found.status_code == 200, found.text
    shown = {t["term"] for t in found.json()["top_terms"]}
    assert shown == {"请加", "微信", "电话", "卡号", "排队", "太久"}
    for number in (*NUMBERS, "138\u00a01234\u00a05678"):
        searched = await client.get(
            RESULTS.format(survey) + "/answers", params={"term": number}, headers=headers
        )
        assert searched.status_code == 200, searched.text
        assert searched.json()["items"] == [], number
    stored = await db.fetch(
        "select term from survey_term_tallies union all select term from survey_term_answers"
    )
    assert not [r["term"] for r in stored if any(ch.isdigit() for ch in r["term"])]

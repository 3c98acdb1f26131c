"""A phone, ID, passport or chat-id number a customer types into a comment is no word of the
results: never among the top terms (overall or per question), never found by the word search,
never stored as a term; migrations 0044 and 0047 delete such terms counted before, by the same
rule."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import rjieba

from tests.customers_data import headers_of
from tests.workbench.surveys.results_data import RESULTS
from tests.workbench.surveys.test_public_survey_page import invite
from workbench import migrate
from workbench.surveys.terms import holds_long_number, terms

pytestmark = pytest.mark.usefixtures("demo_bank")

COMMENT = (
    "请回电，身份证号11010519820921001X，护照E12345678，微信wxid13812345678，QQ987654321，排队太久"
)
NUMBERS = ("11010519820921001x", "e12345678", "wxid13812345678", "qq987654321")
MIGRATIONS = [
    next(Path(migrate.default_directory()).glob(f"{number}_*.sql")) for number in ("0044", "0047")
]


def test_a_number_of_six_characters_or_more_is_no_term() -> None:
    assert terms(COMMENT) == ["回电", "身份证号", "护照", "微信", "排队", "太久"]
    # Full-width, with dashes, beside letters and underscores: what `mask_long_numbers` masks.
    typed = "卡号６２２２-０２１２-３４５６-７８９０ABC，微信wxid_abc138123456"
    assert terms(typed) == ["卡号", "微信"]
    # A part of one beside a letter shows what the masked answer hides ("E123****78").
    assert terms("护照 E1234 5678 已过期") == ["护照", "已过期"]
    # Short numbers with letters still say something.
    assert terms("iPhone15Pro 的 5G 信号差") == ["iphone15pro", "5g", "信号"]


async def test_numbers_in_a_comment_are_never_terms_of_the_results(client, db, settings):
    path, _ = await invite(client, db, settings, questions=QUESTIONS)
    answered = await client.post(path, json={"answers": {"score": 3, "comment": COMMENT}})
    assert answered.status_code == 201, answered.text
    survey = await db.fetchval("select survey_id from survey_responses")

    for login in ("marketing", "bh.east"):
        headers = await headers_of(client, login)
        found = await client.get(RESULTS.format(survey), headers=headers)
        assert found.status_code == 200, found.text
        body = found.json()
        shown = {t["term"] for t in body["top_terms"]}
        shown |= {t["term"] for q in body["questions"] for t in q["top_terms"]}
        assert shown == {"回电", "身份证号", "护照", "微信", "排队", "太久"}, login
        for number in NUMBERS:
            assert number not in found.text
            searched = await client.get(
                RESULTS.format(survey) + "/answers", params={"term": number}, headers=headers
            )
            assert searched.status_code == 200, searched.text
            assert searched.json()["items"] == [], (login, number)
        listed = await client.get(
            RESULTS.format(survey) + "/answers", params={"term": "护照"}, headers=headers
        )
        assert [a["text"] for a in listed.json()["items"]] == [
            "请回电，身份证号110*************1X，护照E123***78，微信wxid138******78，"
            "QQ987****21，排队太久"
        ]
    stored = await db.fetch(
        "select term from survey_term_tallies union all select term from survey_term_answers"
    )
    assert not [r["term"] for r in stored if any(ch.isdigit() for ch in r["term"])]


async def test_the_migration_deletes_the_terms_the_code_drops(client, db, settings):
    """Terms counted before the fix, as the old code kept them (any word with a letter), are
    deleted by 0044 and 0047 exactly when the code now drops them; the others stay."""
    path, _ = await invite(client, db, settings, questions=QUESTIONS)
    answered = await client.post(path, json={"answers": {"score": 9, "comment": "服务态度很好"}})
    assert answered.status_code == 201, answered.text
    response = await db.fetchrow("select id, survey_id, org_unit_id from survey_responses")
    old_terms = sorted(_old_terms())
    assert {"11010519820921001x", "e12345678", "wxid13812345678", "6222-0212-3456-7890abc"} <= (
        set(old_terms)
    )
    assert {"wxid_abc138_1234_5678", "abc123_456_789x"} <= set(old_terms)  # only 0047 deletes
    day = await db.fetchval("select current_date")
    await db.executemany(
        """insert into survey_term_tallies (survey_id, question_key, term, org_unit_id, day, count)
           values ($1, 'comment', $2, $3, $4, 1)""",
        [(response["survey_id"], t, response["org_unit_id"], day) for t in old_terms],
    )
    await db.executemany(
        """insert into survey_term_answers (survey_id, term, question_key, response_id, day,
                                            org_unit_id, submitted_at)
           values ($1, $2, 'comment', $3, $4, $5, now())""",
        [(response["survey_id"], t, response["id"], day, response["org_unit_id"])
         for t in old_terms],
    )  # fmt: skip

    # Stored before the fix, they are still never searched for.
    headers = await headers_of(client, "marketing")
    answers = RESULTS.format(response["survey_id"]) + "/answers"
    for term in ("e12345678", "E12345678", "６２２２-０２１２-３４５６-７８９０abc"):
        searched = await client.get(answers, params={"term": term}, headers=headers)
        assert searched.status_code == 200, searched.text
        assert searched.json()["items"] == [], term
    found = await client.get(answers, params={"term": "服务态度"}, headers=headers)
    assert [a["text"] for a in found.json()["items"]] == ["服务态度很好"]

    for migration in MIGRATIONS:
        await db.execute(migration.read_text(encoding="utf-8"))

    kept = {"服务态度"} | {t for t in old_terms if not holds_long_number(t)}
    for table in ("survey_term_tallies", "survey_term_answers"):
        left = {r["term"] for r in await db.fetch(f"select term from {table}")}  # noqa: S608
        assert left == kept, table
    assert 0 < len(kept) - 1 < len(old_terms)  # some kept, some deleted
    found = await client.get(RESULTS.format(response["survey_id"]), headers=headers)
    assert not {t["term"] for t in found.json()["top_terms"]} & set(NUMBERS)


def _old_terms() -> set[str]:
    """What the code before 0044 counted as terms (words with a letter, lower-cased, NFKC) of
    answers with numbers in every form a customer types them, and of random text."""
    texts = [
        COMMENT,
        "ID 110105-19820921001X 卡号6222-0212-3456-7890abc 电话138 0013 8000",
        "全角１３９００１３９０００ｘ，护照 E1234 5678，wxid_abc138123456，a1234-5678b",
        "订单号 ab12.34.56 和 x12345 以及 12345x 还有 abcdefg1234567 iphone15pro 5g",
        "wxid_abc138_1234_5678 和 abc123_456_789x 以及 ab12_34",
    ]
    rng = random.Random(44)
    alphabet = "0123456789xX*-. _abcE理财经理好١٢３４－．＊Ｘ　＿,，/–\u00a0\u200b"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(4, 30))) for _ in range(3000)]
    found: set[str] = set()
    for text in texts:
        for token in rjieba.cut(unicodedata.normalize("NFKC", text)):
            word = token.strip().lower()
            if 2 <= len(word) <= 40 and any(unicodedata.category(c).startswith("L") for c in word):
                found.add(word)
    return found


QUESTIONS: list[dict[str, Any]] = [
    {"key": "score", "type": "nps", "text": "您向亲友推荐我行的可能性有多大？", "required": True},
    {"key": "comment", "type": "text", "text": "其他建议"},
]

"""A text answer's line breaks count as one character each, as the text box counts them: a
browser sends them as CRLF; they are stored as LF, from the form and from JSON alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import answer_errors
from tests.workbench.surveys.test_public_survey_page import FORM, form, invite
from workbench.security.vault import Vault
from workbench.surveys.answers import MAX_TEXT
from workbench.surveys.submission import texts_aad

pytestmark = pytest.mark.usefixtures("demo_bank")

LINE = "网点排队时间太长了希望多开几个窗口谢谢您"  # 20 characters
TYPED = "\n".join([LINE] * 95)  # 1,994 characters in the text box (its maxlength: 2,000)


async def stored_texts(db: Any, settings: Any) -> dict[str, str]:
    row = await db.fetchrow("select id, texts_enc from survey_responses")
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    return json.loads(vault.cipher.decrypt(row["texts_enc"], aad=texts_aad(row["id"])))


async def test_a_long_answer_over_many_lines_is_taken_from_the_form(client, db, settings):
    assert len(TYPED) == 1994
    path, _ = await invite(client, db, settings)
    page = await client.get(path)
    assert f'maxlength="{MAX_TEXT}"' in page.text
    sent = TYPED.replace("\n", "\r\n")  # as a browser posts a text box
    answers = [("nps", "3"), ("why", sent), ("visit", "branch"), ("rating", "2")]
    done = await client.post(path, content=form(answers), headers=FORM, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}/thanks"
    assert await stored_texts(db, settings) == {"why": TYPED}


async def test_json_answers_store_each_line_break_as_lf(client, db, settings):
    path, _ = await invite(client, db, settings)
    why = "第一行\r\n第二行\r第三行\n" + "长" * (MAX_TEXT - 12)
    assert len(why.replace("\r\n", "\n")) == MAX_TEXT
    answered = await client.post(
        path, json={"answers": {"nps": 3, "why": why, "visit": "branch", "rating": 2}}
    )
    assert answered.status_code == 201, answered.text
    assert await stored_texts(db, settings) == {
        "why": "第一行\n第二行\n第三行\n" + "长" * (MAX_TEXT - 12)
    }


async def test_more_than_the_box_takes_is_still_refused(client, db, settings):
    path, _ = await invite(client, db, settings)
    too_long = "\r\n".join([LINE] * 96)  # 2,015 characters, line breaks counted once
    answered = await client.post(
        path, json={"answers": {"nps": 3, "why": too_long, "visit": "branch", "rating": 2}}
    )
    assert answered.status_code == 422
    assert answer_errors(answered.json()) == {"why": f"最多 {MAX_TEXT} 字"}
    assert await db.fetchval("select count(*) from survey_responses") == 0

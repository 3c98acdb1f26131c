"""The public survey page /f/{token}: opening never uses the link; every question type good and
bad through the form; skip logic on the server; expired, used and forged links; one answer
when 100 submissions race."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import EVERY_TYPE, SURVEYS, add_customers, publish
from workbench.security.vault import Vault
from workbench.surveys.links import SurveyLinks
from workbench.surveys.submission import texts_aad

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def invite(client: Any, db: Any, settings: Any, **publish_args: Any) -> tuple[str, Any]:
    """A fresh link to a survey for a new customer of rm01: (path, customer id)."""
    survey = await publish(db, **publish_args)
    (customer,) = await add_customers(db, 1, prefix=uuid.uuid4().hex[:6])
    response = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(customer)]},
        headers=await headers_of(client, "rm01"),
    )
    assert response.status_code == 201, response.text
    url = response.json()["recipients"][0]["url"]
    return url.removeprefix(settings.public_base_url.rstrip("/")), customer


def form(fields: list[tuple[str, str]]) -> str:
    return urlencode(fields)


async def test_opening_the_link_shows_every_question_and_uses_nothing(client, db, settings):
    path, _ = await invite(client, db, settings)
    for _ in range(3):
        page = await client.get(path, headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"})
        assert page.status_code == 200
    assert (await client.head(path)).status_code == 200
    html = page.text
    assert "示例银行" in html
    assert "客户满意度调查" in html
    assert "您的客户经理：张伟" in html
    for key in ("nps", "why", "visit", "liked", "rating"):
        assert f'data-key="{key}"' in html
    assert 'type="radio" name="visit" value="branch"' in html
    assert 'type="checkbox" name="liked"' in html
    assert "<textarea" in html
    assert 'data-show-key="nps"' in html
    assert "第 1 题评分为 0–8 分时作答" in html  # a score's run, not each score quoted
    assert "“0”" not in html
    assert "共 5 题" not in html  # how many apply depends on the answers: no count
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert '<script src="/public/static/survey.js?v=' in html
    assert "<script>" not in html
    script = await client.get("/public/static/survey.js")
    assert script.status_code == 200
    assert "data-show-in" in script.text
    assert await db.fetchval("select count(*) from survey_responses") == 0
    assert (
        await db.fetchval("select count(*) from survey_invitations where responded_at is not null")
        == 0
    )


async def test_a_good_form_is_stored_once_with_tags_timeline_and_encrypted_text(
    client, db, settings
):
    path, customer = await invite(client, db, settings)
    answers = [("nps", "6"), ("why", "排队太久了"), ("visit", "branch"), ("liked", "staff"),
               ("liked", "speed"), ("rating", "4")]  # fmt: skip
    done = await client.post(path, content=form(answers), headers=FORM, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}/thanks"
    thanks = await client.get(f"{path}/thanks")
    assert thanks.status_code == 200
    assert "感谢" in thanks.text

    row = await db.fetchrow("select * from survey_responses")
    assert json.loads(row["answers"]) == {
        "nps": 6, "visit": "branch", "liked": ["speed", "staff"], "rating": 4,
    }  # fmt: skip
    assert row["customer_id"] == customer
    assert row["rm_id"] is not None
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    text = vault.cipher.decrypt(row["texts_enc"], aad=texts_aad(row["id"]))
    assert text == '{"why":"排队太久了"}'
    assert await db.fetchval("select tags from customers where id = $1", customer) == ["到店客户"]
    kinds = await db.fetch("select kind from customer_timeline where customer_id = $1", customer)
    assert [k["kind"] for k in kinds] == ["survey.answered"]

    # This client (its cookie) answered: posting again shows the thank-you; another browser
    # is told the link was answered. The first answer is kept either way.
    again = await client.post(path, content=form(answers), headers=FORM)
    assert again.status_code == 200
    assert "提交成功" in again.text
    client.cookies.clear()
    elsewhere = await client.post(path, content=form(answers), headers=FORM)
    assert elsewhere.status_code == 409
    assert "您已提交过本问卷" in elsewhere.text
    assert (await client.get(path)).status_code == 409
    assert await db.fetchval("select count(*) from survey_responses") == 1


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        ([("visit", "branch"), ("rating", "4")], "nps", "此题必答"),
        ([("nps", "11"), ("visit", "branch"), ("rating", "4")], "nps", "0 到 10"),
        ([("nps", "x"), ("visit", "branch"), ("rating", "4")], "nps", "0 到 10"),
        ([("nps", "9"), ("visit", "bus"), ("rating", "4")], "visit", "请选择一个选项"),
        ([("nps", "9"), ("visit", "branch"), ("rating", "0")], "rating", "1 到 5"),
        ([("nps", "9"), ("visit", "branch"), ("rating", "4"), ("liked", "speed"),
          ("liked", "speed")], "liked", "选项不能重复"),
        ([("nps", "9"), ("visit", "branch"), ("rating", "4"), ("liked", "nope")], "liked",
         "请从选项中选择"),
        ([("nps", "3"), ("visit", "branch"), ("rating", "4"), ("why", "x" * 2001)], "why",
         "最多 2000 字"),
    ],
)  # fmt: skip
async def test_bad_answers_come_back_with_messages_and_values_kept(
    client, db, settings, fields, key, message
):
    path, _ = await invite(client, db, settings)
    page = await client.post(path, content=form(fields), headers=FORM)  # 303, then the page
    assert page.status_code == 200
    html = page.text
    error = html.split(f'id="err-{key}">', 1)[1].split("</p>", 1)[0]
    assert message in error
    kept = "4" if ("rating", "4") in fields else "9"
    assert f'value="{kept}" checked' in html  # what was chosen stays chosen
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def test_every_type_good_and_the_hidden_question_left_out_through_json(client, db, settings):
    path, _ = await invite(client, db, settings)
    hidden = await client.post(path, json={"answers": {"nps": 10, "why": "好", "visit": "phone",
                                                       "rating": 5}})  # fmt: skip
    assert hidden.status_code == 422
    assert hidden.json()["code"] == "survey.answers_invalid"
    assert answer_errors(hidden.json()) == {"why": "此题无需作答"}
    good = await client.post(path, json={"answers": {"nps": 10, "visit": "phone", "liked": [],
                                                     "rating": 5}})  # fmt: skip
    assert good.status_code == 201
    again = await client.post(path, json={"answers": {"nps": 1, "visit": "phone", "rating": 1}})
    assert again.status_code == 409
    assert again.json()["code"] == "survey.already_answered"
    assert await db.fetchval("select answers->>'nps' from survey_responses") == "10"


async def test_expired_forged_and_unknown_links_get_a_clear_page(client, db, settings):
    path, _customer = await invite(client, db, settings)
    forged = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    assert (await client.get(forged)).status_code == 404
    assert "链接无效" in (await client.get("/f/not-a-token")).text
    unknown = SurveyLinks(settings.jwt_keys).token(uuid.uuid4())
    assert (await client.get(f"/f/{unknown}")).status_code == 404
    assert (await client.post(f"/f/{unknown}", json={"answers": {}})).status_code == 404
    await db.execute("update survey_invitations set expires_at = $1", datetime.now(UTC))
    expired = await client.get(path)
    assert expired.status_code == 410
    assert "问卷已过期" in expired.text
    late = await client.post(path, content=form([("nps", "9")]), headers=FORM)
    assert late.status_code == 410
    # An app's JSON submission gets its errors as problem+json, not the customer's page.
    late_app = await client.post(path, json={"answers": {"nps": 9}})
    assert late_app.status_code == 410
    assert late_app.headers["content-type"].startswith("application/problem+json")
    assert late_app.json()["code"] == "survey.link_expired"
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def test_an_apps_json_answers_with_a_nul_or_none_get_problems(client, db, settings):
    path, _ = await invite(client, db, settings)
    nul = await client.post(path, json={"answers": {"nps": 3, "why": "太慢\x00了", "visit": "phone",
                                                    "rating": 2}})  # fmt: skip
    assert nul.status_code == 422
    assert nul.headers["content-type"].startswith("application/problem+json")
    assert nul.json()["code"] == "request.validation_failed"
    assert [e["path"] for e in nul.json()["errors"]] == ["$.answers.why"]
    none = await client.post(path, json={"answers": None})
    assert none.status_code == 422
    assert none.headers["content-type"].startswith("application/problem+json")
    assert list(answer_errors(none.json())) == ["answers"]
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def test_one_of_a_hundred_racing_submissions_is_stored(client, db, settings):
    path, _ = await invite(client, db, settings, questions=[EVERY_TYPE[0]])

    async def submit(n: int) -> int:
        response = await client.post(path, json={"answers": {"nps": n % 11}})
        return response.status_code

    codes = await asyncio.gather(*(submit(n) for n in range(100)))
    assert sorted(codes) == [201] + [409] * 99
    assert await db.fetchval("select count(*) from survey_responses") == 1


async def test_a_text_questions_placeholder_says_whether_it_may_be_left_empty(client, db, settings):
    questions = [
        {"key": "reason", "type": "text", "text": "原因", "required": True},
        {"key": "comment", "type": "text", "text": "其他意见"},
    ]
    path, _ = await invite(client, db, settings, questions=questions)
    html = (await client.get(path)).text
    required = html[html.index('name="reason"') : html.index("</textarea>")]
    assert 'placeholder="请填写"' in required
    optional = html[html.index('name="comment"') :]
    assert 'placeholder="选填，可留空"' in optional[: optional.index("</textarea>")]
    assert "选填项可留空" not in html


async def test_a_form_without_the_script_drops_answers_the_score_makes_moot(client, db, settings):
    # Without the script the "why" box stays on the page; filled after a 9 (a promoter is not
    # asked why), the answer is left out and the rest is stored. The JSON API stays strict.
    path, _ = await invite(client, db, settings)
    fields = [("nps", "9"), ("why", "x" * 2001), ("visit", "branch"), ("rating", "4")]
    done = await client.post(path, content=form(fields), headers=FORM, follow_redirects=False)
    assert done.status_code == 303, done.text
    row = await db.fetchrow("select answers, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {"nps": 9, "visit": "branch", "rating": 4}
    assert row["texts_enc"] is None


async def test_a_survey_without_skip_logic_says_how_many_questions(client, db, settings):
    path, _ = await invite(client, db, settings, questions=[EVERY_TYPE[0], EVERY_TYPE[2]])
    assert "共 2 题，带" in (await client.get(path)).text


async def test_the_same_browser_posting_again_while_the_first_is_stored_sees_thanks(
    client, db, settings
):
    # The form's answer sets a cookie on the link's path only; with it, a second post (a double
    # tap, the back button and submit) lands on the thank-you, not on "already answered".
    path, _ = await invite(client, db, settings)
    answers = form([("nps", "10"), ("visit", "phone"), ("rating", "5")])
    first = await client.post(path, content=answers, headers=FORM, follow_redirects=False)
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("wb_answered=1;")
    assert f"Path={path}" in cookie
    assert "HttpOnly" in cookie
    again = await client.post(path, content=answers, headers=FORM, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == f"{path}/thanks"
    # An app's JSON answer is still told it was answered.
    app = await client.post(path, json={"answers": {"nps": 1, "visit": "phone", "rating": 1}})
    assert app.status_code == 409
    assert await db.fetchval("select answers->>'nps' from survey_responses") == "10"

"""The survey page /f/{token} as a tester used it: a browser form sent as multipart/form-data is
taken like any other (never a raw 500 JSON to the customer); with the script on, a low score's
reason restored by the back button (after a gateway error, or after leaving the page) is shown
again and sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.console.browser import browser, phone_context  # noqa: F401
from tests.serving import serving
from tests.workbench.surveys.test_public_survey_page import invite
from workbench.security.vault import Vault
from workbench.surveys.submission import texts_aad

pytestmark = pytest.mark.usefixtures("demo_bank")
REASON = "很抱歉没能让您满意：排队时间太长"
FIELDS = [("nps", "4"), ("why", REASON), ("visit", "branch"), ("liked", "staff"),
          ("liked", "speed"), ("rating", "2")]  # fmt: skip


def _reason(row: Any, settings: Any) -> str:
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    texts = vault.cipher.decrypt(row["texts_enc"], aad=texts_aad(row["id"]))
    return str(json.loads(texts)["why"])


async def test_a_multipart_form_is_stored_like_a_urlencoded_one(client, db, settings):
    path, _ = await invite(client, db, settings)
    done = await client.post(path, files=[(k, (None, v)) for k, v in FIELDS],
                             follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{path}/thanks"
    row = await db.fetchrow("select id, answers::text, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {
        "nps": 4, "visit": "branch", "liked": ["speed", "staff"], "rating": 2,
    }  # fmt: skip
    assert _reason(row, settings) == REASON


async def test_a_multipart_form_with_a_mistake_comes_back_to_the_page(client, db, settings):
    path, _ = await invite(client, db, settings)
    fields = [("nps", "4"), ("why", REASON), ("visit", "bus"), ("rating", "2")]
    back = await client.post(path, files=[(k, (None, v)) for k, v in fields])
    assert back.status_code == 200, back.text
    assert "有 1 处需要修改" in back.text
    assert REASON in back.text  # the answers kept
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def _answer_with_a_low_score(page: Any, link: str) -> None:
    """Score 4, the reason asked for a low score typed in, the rest answered."""
    assert (await page.goto(link)).status == 200
    why = page.locator("#q-why")
    await page.locator('#q-nps input[value="4"]').check()
    await why.wait_for(state="visible")
    await why.locator("textarea").fill(REASON)
    await page.get_by_text("网点", exact=True).click()
    await page.locator('#q-rating input[value="2"]').check()


async def _back_shows_the_reason_and_sends_it(page: Any) -> None:
    """Back on the survey: the score and its reason are there as typed, and submitted."""
    why = page.locator("#q-why")
    await why.wait_for(state="visible")
    assert await page.locator('#q-nps input[value="4"]').is_checked()
    assert await why.locator("textarea").input_value() == REASON
    assert await why.locator("textarea").is_enabled()
    await page.get_by_role("button", name="提交").click()
    await page.get_by_text("提交成功").wait_for()


async def _stored_with_the_reason(db: Any, settings: Any) -> None:
    row = await db.fetchrow("select id, answers::text, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {"nps": 4, "visit": "branch", "rating": 2}
    assert _reason(row, settings) == REASON


@pytest.mark.parametrize("away", ["another page", "a gateway error on submit"])
async def test_the_low_scores_reason_comes_back_with_the_back_button_and_is_sent(
    browser: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    db: Any,
    settings: Any,
    away: str,
) -> None:
    link, _ = await invite(client, db, settings)
    async with serving(settings) as base:
        context = await phone_context(browser, base)
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            await _answer_with_a_low_score(page, link)
            if away == "another page":
                assert (await page.goto("/public/static/survey.js")).status == 200
            else:
                await page.route(f"{base}{link}", _gateway_error_on_submit)
                async with page.expect_navigation() as sent:
                    await page.get_by_role("button", name="提交").click()
                assert (await sent.value).status == 502
                await page.unroute(f"{base}{link}")
            back = await page.go_back()
            assert back is not None
            assert back.request.method == "GET"
            await _back_shows_the_reason_and_sends_it(page)
        finally:
            await context.close()
    assert errors == []
    await _stored_with_the_reason(db, settings)


async def _gateway_error_on_submit(route: Any) -> None:
    """A gateway in front of the app failing the submission (the page itself still loads)."""
    if route.request.method == "POST":
        await route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")
    else:
        await route.continue_()

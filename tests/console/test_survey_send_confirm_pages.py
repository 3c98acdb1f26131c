"""The send page sends nothing from its form: it answers a confirmation that says how many
customers (or staff) the sending reaches, counted with the sending's own selection, scope and
skips, and only 确认发送 there sends, once. Before, 发送问卷 with the branch preselected sent to
every customer of the branch at one click, and the progress page's main button was 再次发送."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.test_pages import console_page
from tests.workbench.surveys.delivery_data import add_customers, publish, unit
from workbench.console import once

pytestmark = pytest.mark.usefixtures("demo_bank")
TAG = "回访核对"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def page_actions(html: str) -> str:
    """The buttons beside the page's heading."""
    start = html.index('<div class="page-actions">')
    return html[start : html.index("</div>", start)]


def confirmation_fields(html: str) -> dict[str, str]:
    """The hidden fields of the confirmation's form (its choice and one-time token)."""
    form = html[html.index('class="device-confirm-form"') :]
    form = form[: form.index("</form>")]
    return {name: value for name, value in _HIDDEN.findall(form) if name != "_csrf_token"}


async def deliveries(db: Any) -> int:
    count: int = await db.fetchval("select count(*) from survey_deliveries")
    return count


async def test_the_send_form_asks_first_with_how_many_it_reaches_then_sends_once(
    console: Any, db: Any
) -> None:
    survey = await publish(db, title="网点服务回访")
    other = [await publish(db, title=f"其他问卷 {n}") for n in (1, 2)]
    await add_customers(db, 5, owner="rm01", prefix="T", tags=[TAG])
    token = await signed_in(console, "bh.east")
    url = f"/console/surveys/{survey}/send"
    # T-000000 holds an unanswered link to this survey; T-000001 got two survey messages
    # this week (the contact cap), from two other surveys.
    for sent_to, survey_id in (("T-000000", survey), ("T-000001", other[0]),
                               ("T-000001", other[1])):  # fmt: skip
        one = {"mode": "ids", "ids": sent_to, "step": "send"}
        made = await post_form(console, f"/console/surveys/{survey_id}/send", one, token=token)
        assert made.status_code == 303, made.text
    before = await deliveries(db)

    form = {"mode": "unit", "unit": str(unit("branch-east")), "tag": TAG, "once": once.new_token()}
    asked = console_page(await post_form(console, url, form, token=token), 200)
    assert '将发送给约 <strong class="num">3</strong> 位客户' in asked
    assert (
        "已排除 1 位已持有本问卷未作答、未过期链接的客户、 1 位近 7 天已收到 2 条问卷消息" in asked
    )
    assert "所选共 5 位" in asked
    assert "东城支行" in asked
    assert TAG in asked
    assert "确认发送给约 3 位客户" in asked
    assert await deliveries(db) == before  # nothing sent yet

    fields = confirmation_fields(asked)
    assert fields["once"] == form["once"]  # the form's token: 确认发送 acts once
    sent = await post_form(console, url, {**fields, "step": "send"}, token=token)
    assert sent.status_code == 303, sent.text
    assert await deliveries(db) == before + 1
    progress = console_page(await console.get(sent.headers["location"]), 200)
    actions = page_actions(progress)
    assert "返回问卷列表" in actions
    assert "再次发送" not in progress
    assert "/send" not in actions

    again = await post_form(console, url, {**fields, "step": "send"}, token=token)
    again_html = console_page(again, 409)
    assert sent.headers["location"] in again_html  # links to the first sending's progress
    assert await deliveries(db) == before + 1


async def test_a_staff_survey_confirmation_counts_staff_and_goes_back_to_the_form(
    console: Any, db: Any
) -> None:
    survey = await publish(db, audience="staff", title="员工脉搏调查")
    token = await signed_in(console, "bh.east")
    url = f"/console/surveys/{survey}/send"
    team = {"mode": "unit", "unit": str(unit("team-east-1"))}
    staff = await db.fetchval(
        "select count(*) from users where active and org_unit_id = $1", unit("team-east-1")
    )
    asked = console_page(await post_form(console, url, team, token=token), 200)
    assert f'将发送给约 <strong class="num">{staff}</strong> 位员工' in asked
    assert "没有需要排除的员工" in asked
    assert await deliveries(db) == 0

    back = await post_form(console, url, {**confirmation_fields(asked), "step": "edit"},
                           token=token)  # fmt: skip
    form = console_page(back, 200)
    assert "下一步：核对收件人" in form  # the form again, the team still chosen
    assert f'<option value="{unit("team-east-1")}" selected>' in form
    assert await deliveries(db) == 0

    sent = await post_form(console, url, {**confirmation_fields(asked), "step": "send"},
                           token=token)  # fmt: skip
    assert sent.status_code == 303, sent.text
    # Asked again, everyone has it waiting in their inbox: nobody to send to, no send button.
    again = console_page(await post_form(console, url, team, token=token), 200)
    assert '将发送给约 <strong class="num">0</strong> 位员工' in again
    assert f"已排除 {staff} 位本问卷仍在“我的问卷”中未作答的员工" in again
    assert 'value="send"' not in again

    # Another branch's unit is out of reach, asked or sent, as the API's sending is.
    west = {"mode": "unit", "unit": str(unit("branch-west"))}
    console_page(await post_form(console, url, west, token=token), 404)
    assert await deliveries(db) == 1

"""Stale work-order forms: a step chosen on a page drawn in another state than the work order is
in now (another tab, a colleague) is refused (409) with the state it is in and the typed note kept,
never applied to that state (a resolved work order is not silently reopened); the API's optional
`from` does the same. And an alert rule's keyword too long is refused by its length."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import field_error, value_of
from tests.console.test_alert_rule_edit import edit_form
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.sync.test_work_order_sync import Desk, open_desk
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/work-orders"
RULES = f"{LIST}/rules"


@pytest.fixture
async def desk(console: Any, db: Any, settings: Settings) -> Desk:
    """rm01's customer's low score: one open work order (bh.east's subtree)."""
    return await open_desk(console, db, settings)


def step_form(html: str) -> dict[str, str]:
    """The hidden fields of the page's 下一步 form (its `once` token, the state it was drawn
    in), as a browser sends them."""
    form = html[html.index('class="wo-step"') :]
    form = form[: form.index("</form>")]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    return {name: value for name, value in hidden if name != "_csrf_token"}


async def state_and_events(db: Any, order: uuid.UUID) -> tuple[str, int]:
    row = await db.fetchrow(
        "select state, (select count(*) from work_order_events where work_order_id = $1) as n"
        " from work_orders where id = $1",
        order,
    )
    return row["state"], row["n"]


async def test_a_stale_tab_does_not_reopen_a_resolved_work_order(
    console: Any, db: Any, desk: Desk
) -> None:
    """Tabs A and B show the open work order; A starts and resolves it; B, still offering
    开始处理, sends its note: nothing is recorded (409), the page says it is 已解决 now and keeps
    B's note, with the steps of a resolved one (none chosen for B)."""
    token = await signed_in(console, "bh.east")
    page = f"{LIST}/{desk.order}"
    path = f"{page}/transition"
    tab_a = step_form(console_page(await console.get(page), 200))
    tab_b = step_form(console_page(await console.get(page), 200))
    assert tab_b["from"] == "open"

    started = await post_form(console, path, {**tab_a, "to": "in_progress", "note": "已致电客户"},
                              token=token)  # fmt: skip
    assert started.status_code == 303, started.text
    tab_a = step_form(console_page(await console.get(page), 200))
    resolved = await post_form(console, path, {**tab_a, "to": "resolved", "note": "已加开窗口"},
                               token=token)  # fmt: skip
    assert resolved.status_code == 303, resolved.text
    before = await state_and_events(db, desk.order)
    assert before == ("resolved", 3)

    note = "客户说周五再来网点，届时当面致歉"
    stale = await post_form(console, path, {**tab_b, "to": "in_progress", "note": note},
                            token=token)  # fmt: skip
    html = console_page(stale, 409)
    assert "工单状态已变化（现为「已解决」），请查看后再操作" in html
    assert value_of(html, "note") == note  # what was typed is kept
    assert 'value="in_progress" checked' not in html  # 重新处理 is not chosen for B
    assert await state_and_events(db, desk.order) == before

    # The page it came back as is drawn in the state it is in: reopening from it is a choice.
    again = step_form(html)
    assert again["from"] == "resolved"
    reopened = await post_form(console, path, {**again, "to": "in_progress", "note": note},
                               token=token)  # fmt: skip
    assert reopened.status_code == 303, reopened.text
    assert await state_and_events(db, desk.order) == ("in_progress", 4)


async def test_a_note_for_a_work_order_closed_meanwhile_is_shown_not_lost(
    console: Any, db: Any, desk: Desk
) -> None:
    token = await signed_in(console, "bh.east")
    page = f"{LIST}/{desk.order}"
    path = f"{page}/transition"
    for to in ("in_progress", "resolved"):
        await post_form(console, path, {"to": to, "note": "处理"}, token=token)
    stale = step_form(console_page(await console.get(page), 200))
    closed = await post_form(
        console, path, {"to": "closed", "note": "结案", "root_cause": "wait_time"}, token=token
    )
    assert closed.status_code == 303, closed.text
    refused = await post_form(console, path, {**stale, "to": "in_progress", "note": "还要再跟进"},
                              token=token)  # fmt: skip
    html = console_page(refused, 409)
    assert "工单状态已变化（现为「已关闭」），请查看后再操作" in html
    assert "还要再跟进" in html
    assert (await state_and_events(db, desk.order))[0] == "closed"


async def test_the_api_transition_takes_an_optional_from(console: Any, db: Any, desk: Desk) -> None:
    """`from` naming the state read: moved; naming another: 409 `work_order.state_changed`
    with `current_status`, nothing recorded; without it (older apps): as before."""
    headers = await headers_of(console, "bh.east")
    url = f"/api/v1/work-orders/{desk.order}/transition"
    started = await console.post(
        url, json={"to": "in_progress", "note": "已致电", "from": "open"}, headers=headers
    )
    assert started.status_code == 200, started.text
    await console.post(url, json={"to": "resolved", "note": "已解决"}, headers=headers)
    before = await state_and_events(db, desk.order)
    stale = await console.post(
        url, json={"to": "in_progress", "note": "旧屏幕", "from": "open"}, headers=headers
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "work_order.state_changed"
    assert stale.json()["current_status"] == "resolved"
    assert await state_and_events(db, desk.order) == before
    reopened = await console.post(
        url, json={"to": "in_progress", "note": "客户再次反映"}, headers=headers
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "in_progress"


async def test_a_keyword_too_long_is_refused_by_its_length(
    console: Any, db: Any, desk: Desk
) -> None:
    """A 10,000-character keyword on a text question: the add and the edit form say the limit
    (40, the API's), not that it holds control characters; 40 characters are taken."""
    token = await signed_in(console, "admin")
    rules = "select count(*) from alert_rules"
    before = await db.fetchval(rules)
    typed = {"question": f"{desk.survey}:comment", "op": "contains", "assign_to": "owner_rm",
             "sla_hours": "24", "sla_kind": "hours"}  # fmt: skip
    for value in ("投诉" * 5000, "长" * 41):
        sent = {**typed, "value": value}
        html = console_page(await post_form(console, RULES, sent, token=token), 422)
        assert field_error(html, "value") == "关键词最多 40 个字，请删减后再提交。"
    assert await db.fetchval(rules) == before

    rule = await db.fetchval("select id from alert_rules where survey_id = $1", desk.survey)
    form = console_page(await console.get(f"{RULES}/{rule}/edit"), 200)
    change = {"question_key": "comment", "op": "contains", "value": "投诉" * 5000}
    sent = edit_form(form, change)
    html = console_page(await post_form(console, f"{RULES}/{rule}/edit", sent, token=token), 422)
    assert field_error(html, "value") == "关键词最多 40 个字，请删减后再提交。"

    taken = await post_form(console, RULES, {**typed, "value": "长" * 40}, token=token)
    assert taken.status_code == 303, taken.text
    assert await db.fetchval(rules) == before + 1

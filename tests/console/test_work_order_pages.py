"""The work-order pages of the console: the list (branch head: their subtree; overdue ones lead,
with how late), a work order with its answer (customer masked) and events, the forms that move
it on through the work-order service (a close without a root cause is a message; CSRF like every
console form), another branch's head gets the 404 page; the admin's alert rules (add one, apply
it to past answers) and root causes. A real browser takes the list and a work order at tablet
size (tests/artifacts/console/)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import banners, field_error, valid, value_of
from tests.console.test_pages import console_page
from tests.customers_data import customer_row, feed, headers_of
from tests.sync.test_work_order_sync import Desk, answer, open_desk
from workbench.ids import uuid5_for
from workbench.settings import Settings
from workbench.workorders.console._admin import CAUSE_WORDS

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/work-orders"


@pytest.fixture
async def desk(console: Any, db: Any, settings: Settings) -> Desk:
    """rm01's customer's low score: one work order, made overdue by two hours."""
    found = await open_desk(console, db, settings)
    await db.execute(
        "update work_orders set due_at = now() - interval '2 hours 5 minutes' where id = $1",
        found.order,
    )
    return found


async def state_of(db: Any, order: uuid.UUID) -> str:
    state: str = await db.fetchval("select state from work_orders where id = $1", order)
    return state


async def test_the_branch_head_works_a_work_order_through_the_forms(
    console: Any, db: Any, desk: Desk
) -> None:
    token = await signed_in(console, "bh.east")
    html = console_page(await console.get(LIST), 200)
    assert f'href="{LIST}/{desk.order}"' in html
    assert "司马光明" not in html  # masked
    assert "到店服务回访" in html
    assert "已逾期 2 小时" in html
    assert "wo-row-late" in html
    overdue_only = console_page(await console.get(f"{LIST}?state=active&overdue=1"), 200)
    assert f"{LIST}/{desk.order}" in overdue_only
    closed_only = console_page(await console.get(f"{LIST}?state=closed"), 200)
    assert f'{LIST}/{desk.order}"' not in closed_only
    assert "没有符合条件的工单" in closed_only

    page = console_page(await console.get(f"{LIST}/{desk.order}"), 200)
    assert "司马光明" not in page
    assert "柜台排队一个小时" in page  # the handler reads the customer's words
    assert "命中预警规则" in page
    assert "预警规则生成工单" in page
    assert "开始处理" in page

    path = f"{LIST}/{desk.order}/transition"
    refused = await post_form(console, path, {"to": "in_progress", "note": "x"}, token=None)
    assert refused.status_code == 403
    assert await state_of(db, desk.order) == "open"

    # A note of zero-width spaces shows nothing: refused as spaces are, nothing moves.
    for note in ("   ", "\u200b\u200b\u200b"):
        blank = await post_form(console, path, {"to": "in_progress", "note": note}, token=token)
        assert "请填写处理说明" in console_page(blank, 422)
    assert await state_of(db, desk.order) == "open"
    events = "select count(*) from work_order_events where work_order_id = $1"
    assert await db.fetchval(events, desk.order) == 1  # only its opening

    started = await post_form(
        console, path, {"to": "in_progress", "note": "已致电客户"}, token=token
    )
    assert started.status_code == 303
    assert started.headers["location"] == f"{LIST}/{desk.order}"
    assert await state_of(db, desk.order) == "in_progress"
    moved = await post_form(console, path, {"to": "resolved", "note": "已加开窗口"}, token=token)
    assert moved.status_code == 303

    no_cause = await post_form(console, path, {"to": "closed", "note": "结案"}, token=token)
    html = console_page(no_cause, 422)
    assert "关闭工单需要选择根本原因" in html
    assert "结案" in html  # the note as it was sent
    assert await state_of(db, desk.order) == "resolved"
    closed = await post_form(
        console, path, {"to": "closed", "note": "结案", "root_cause": "wait_time"}, token=token
    )
    assert closed.status_code == 303
    assert await state_of(db, desk.order) == "closed"
    page = console_page(await console.get(f"{LIST}/{desk.order}"), 200)
    assert "等候时间过长" in page
    assert "已致电客户" in page
    assert "工单已关闭，处理记录保留备查" in page

    stale = await post_form(console, path, {"to": "resolved", "note": "again"}, token=token)
    assert "工单状态已变化" in console_page(stale, 409)


async def test_a_refused_note_is_said_beside_it_and_comes_back_whole(
    console: Any, db: Any, desk: Desk
) -> None:
    """A note too long (however long) or blank: the form again (422), the reason under the note,
    the note and the step as typed, the work order unchanged."""
    token = await signed_in(console, "bh.east")
    path = f"{LIST}/{desk.order}/transition"
    events = "select count(*) from work_order_events where work_order_id = $1"
    long_note = "已致电客户，" + "客户反映排队时间过长。" * 500  # 5006 characters
    too_long = await post_form(console, path, {"to": "in_progress", "note": long_note},
                               token=token)  # fmt: skip
    html = console_page(too_long, 422)
    assert field_error(html, "note") == "处理说明最多 2000 字，请删减后再提交。"
    assert value_of(html, "note") == long_note  # all of it, not the first 4000 characters
    assert 'value="in_progress" checked' in html

    blank = await post_form(console, path, {"to": "in_progress", "note": "  \u200b "}, token=token)
    html = console_page(blank, 422)
    assert field_error(html, "note") == "请填写处理说明。"
    assert await state_of(db, desk.order) == "open"
    assert await db.fetchval(events, desk.order) == 1  # only its opening

    await post_form(console, path, {"to": "in_progress", "note": "已致电"}, token=token)
    await post_form(console, path, {"to": "resolved", "note": "已加开窗口"}, token=token)
    no_cause = await post_form(console, path, {"to": "closed", "note": "结案说明"}, token=token)
    html = console_page(no_cause, 422)
    assert field_error(html, "root_cause") == "关闭工单需要选择根本原因。"
    assert valid(html, "note")
    assert value_of(html, "note") == "结案说明"
    assert 'value="closed" checked' in html
    assert await state_of(db, desk.order) == "resolved"


async def test_another_branch_head_gets_the_404_page(console: Any, db: Any, desk: Desk) -> None:
    token = await signed_in(console, "bh.west")
    assert f"{LIST}/{desk.order}" not in console_page(await console.get(LIST), 200)
    console_page(await console.get(f"{LIST}/{desk.order}"), 404)
    moved = await post_form(
        console, f"{LIST}/{desk.order}/transition", {"to": "in_progress", "note": "x"}, token=token
    )
    console_page(moved, 404)
    assert await state_of(db, desk.order) == "open"
    console_page(await console.get(f"{LIST}/rules"), 404)  # admins only


async def test_a_unit_outside_the_subtree_is_the_404_page_not_the_whole_list(
    console: Any, db: Any, desk: Desk
) -> None:
    """bh.west asking for the east branch's work orders got their own list as if unfiltered;
    as the dashboard, a unit they may not see (or no unit at all) is the 404 page."""
    await signed_in(console, "bh.west")
    for elsewhere in ("team-east-1", "branch-east", "head-office"):
        page = await console.get(f"{LIST}?unit={uuid5_for(f'org:{elsewhere}')}")
        html = console_page(page, 404)
        assert "机构不存在" in html
        assert f"{LIST}/{desk.order}" not in html
    console_page(await console.get(f"{LIST}?unit=not-a-unit"), 404)
    console_page(await console.get(f"{LIST}?unit={uuid.uuid4()}&state=all"), 404)
    # Their own units and no unit at all still list.
    console_page(await console.get(f"{LIST}?unit={uuid5_for('org:team-west-1')}"), 200)
    console_page(await console.get(f"{LIST}?unit=&state=all"), 200)


async def test_the_admin_adds_a_rule_applies_it_and_keeps_root_causes(
    console: Any, db: Any, settings: Settings, desk: Desk
) -> None:
    # A past answer of rm05's customer that no rule caught (a 7).
    assert await answer(db, settings, desk.survey, desk.customers["C-5"], nps=7) is None
    token = await signed_in(console, "admin")
    html = console_page(await console.get(f"{LIST}/rules"), 200)
    assert "应用到历史回答" in html
    assert f'value="{desk.survey}:nps"' in html

    bad = await post_form(console, f"{LIST}/rules", {
        "question": f"{desk.survey}:nps", "op": "lte", "value": "12", "assign_to": "owner_rm",
        "sla_hours": "24", "sla_kind": "hours",
    }, token=token)  # fmt: skip
    assert "0–10 之间的整数" in field_error(console_page(bad, 422), "value")
    added = await post_form(console, f"{LIST}/rules", {
        "question": f"{desk.survey}:nps", "op": "lte", "value": "8", "assign_to": "branch_head",
        "sla_hours": "8", "sla_kind": "business_hours",
    }, token=token)  # fmt: skip
    assert added.status_code == 303
    rule = await db.fetchval("select id from alert_rules where sla_kind = 'business_hours'")
    applied = await post_form(console, f"{LIST}/rules/{rule}/apply", token=token)
    assert applied.status_code == 303
    page = console_page(await console.get(f"{LIST}/rules"), 200)
    assert "新生成 1 张工单" in page
    assert await db.fetchval("select count(*) from work_orders") == 2
    again = await post_form(console, f"{LIST}/rules/{rule}/apply", token=token)
    assert again.status_code == 303
    assert "新生成 0 张工单" in console_page(await console.get(f"{LIST}/rules"), 200)

    causes = f"{LIST}/root-causes"
    assert "等候时间过长" in console_page(await console.get(causes), 200)
    new = await post_form(
        console, causes, {"code": "queue_system", "label": "排队叫号系统故障", "active": "1"},
        token=token,
    )  # fmt: skip
    assert new.status_code == 303
    off = await post_form(console, causes, {"code": "wait_time", "label": "等候时间过长"},
                          token=token)  # fmt: skip
    assert off.status_code == 303
    active = dict(await db.fetch("select code, active from work_order_root_causes"))
    assert active["queue_system"] is True
    assert active["wait_time"] is False
    assert "代码只能用小写英文字母" in console_page(
        await post_form(console, causes, {"code": "Bad Code", "label": "x"}, token=token), 422
    )


async def test_a_refused_alert_rule_is_said_beside_the_field_at_fault(
    console: Any, db: Any, desk: Desk
) -> None:
    """A score out of range, a condition the question does not take, a question that is not in
    the survey, a time limit out of range: the form again (422), the reason under the field it
    concerns, every field as chosen, no rule added."""
    token = await signed_in(console, "admin")
    rules = "select count(*) from alert_rules"
    before = await db.fetchval(rules)
    nps = f"{desk.survey}:nps"
    typed = {"question": nps, "op": "lte", "value": "6", "assign_to": "branch_head",
             "sla_hours": "48", "sla_kind": "business_hours"}  # fmt: skip
    cases = [
        ({"value": "11"}, "value", "NPS 题的值须为 0–10 之间的整数。"),
        ({"value": "好"}, "value", "NPS 题的值须为 0–10 之间的整数。"),
        ({"op": "contains"}, "op", "NPS 题的条件只能是 ≤、≥ 或 等于。"),
        ({"question": f"{desk.survey}:gone"}, "question", "该问卷最新发布的版本中没有这道题。"),
        ({"question": f"{uuid.uuid4()}:nps"}, "question", "没有这份问卷，或它尚未发布。"),
        ({"question": ""}, "question", "请选择问卷题目。"),
        ({"sla_hours": "0"}, "sla_hours", "处理时限须为 1–8760 之间的整数（小时）。"),
        ({"sla_hours": "9000"}, "sla_hours", "处理时限须为 1–8760 之间的整数（小时）。"),
        ({"value": " "}, "value", "请填写条件值。"),
    ]
    for change, where, message in cases:
        sent = {**typed, **change}
        html = console_page(await post_form(console, f"{LIST}/rules", sent, token=token), 422)
        assert field_error(html, where) == message, change
        for name in ("question", "op", "assign_to", "sla_kind"):
            if name != where:  # the others as chosen, and not marked
                assert valid(html, name), (change, name)
                assert value_of(html, name) == sent[name], (change, name)
        for name in ("value", "sla_hours"):
            assert value_of(html, name) == sent[name].strip(), (change, name)
        assert message not in banners(html)
    assert await db.fetchval(rules) == before


def add_form(html: str, typed: dict[str, str]) -> dict[str, str]:
    """What a browser sends from the 添加原因 form with `typed` in its fields: the page's own
    fields, in the page's order (hidden ones with their values)."""
    form = html[html.index("wo-cause-new") :]
    form = form[: form.index("</form>")]
    fields = re.findall(r'<input[^>]*\bname="([^"]+)"(?:[^>]*\bvalue="([^"]*)")?', form)
    return {name: typed.get(name, value) for name, value in fields if name != "_csrf_token"}


async def test_adding_a_root_cause_under_a_code_in_use_changes_nothing(
    console: Any, db: Any, desk: Desk
) -> None:
    token = await signed_in(console, "admin")
    causes = f"{LIST}/root-causes"
    label_of = "select label from work_order_root_causes where code = $1"
    html = console_page(await console.get(causes), 200)
    taken = await post_form(
        console, causes, add_form(html, {"code": "wait_time", "label": "重复"}), token=token
    )
    page = console_page(taken, 409)
    assert "代码已存在" in page
    assert "“重复”已启用" not in page
    again = page[page.index("wo-cause-new") :]  # the add form as typed
    assert 'value="wait_time"' in again
    assert 'value="重复"' in again
    assert await db.fetchval(label_of, "wait_time") == "等候时间过长"

    # A row of the list still renames its own cause; a new code is added.
    renamed = await post_form(
        console, causes, {"code": "wait_time", "label": "排队太久", "active": "1"}, token=token
    )
    assert renamed.status_code == 303
    assert await db.fetchval(label_of, "wait_time") == "排队太久"
    added = await post_form(
        console, causes, add_form(html, {"code": "queue_system", "label": "叫号故障"}), token=token
    )
    assert added.status_code == 303
    assert await db.fetchval(label_of, "queue_system") == "叫号故障"

    # A name that shows nothing, or reads backwards, makes no cause (the form of a page drawn
    # again: the one above was sent, and its one-time token with it).
    html = console_page(await console.get(causes), 200)
    for label in ("   ", "\u200b", "\u200b\u2060\ufeff"):
        blank = await post_form(
            console, causes, add_form(html, {"code": "blank_cause", "label": label}), token=token
        )
        assert field_error(console_page(blank, 422), "label") == CAUSE_WORDS["label_blank"]
    backwards = await post_form(
        console, causes, add_form(html, {"code": "blank_cause", "label": "\u202e因原"}), token=token
    )
    assert "控制字符" in console_page(backwards, 422)
    assert await db.fetchval(label_of, "blank_cause") is None


async def test_the_list_and_a_work_order_on_a_tablet(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any, shot: Any
) -> None:
    desk = await open_desk(client, db, settings)
    await db.execute(
        "update work_orders set due_at = now() - interval '3 hours 20 minutes' where id = $1",
        desk.order,
    )
    admin = await headers_of(client, "admin")
    await feed(
        client, admin, "customers", [customer_row("C-3", name="欧阳娜娜", owner="rm03", seq=3)]
    )
    c3 = await db.fetchval("select id from customers where external_id = 'C-3'")
    second = await answer(db, settings, desk.survey, c3, nps=2,
                          comment="理财经理解释不清楚，产品风险和宣传不一致")  # fmt: skip
    assert second is not None
    await sign_in(page, "bh.east")
    await page.goto(LIST)
    await page.get_by_text("已逾期 3 小时").wait_for()
    await shot(page, "work-orders", sizes=("tablet-portrait",))
    await page.wait_for_load_state("networkidle")  # the icon too: leaving never aborts it
    await page.locator(f'a.row-title[href="{LIST}/{desk.order}"]').click()
    await page.get_by_text("触发预警的回答").wait_for()
    await page.get_by_label("处理说明").fill("已致电客户致歉，约定周五到网点面谈")
    await shot(page, "work-order", sizes=("tablet-portrait",))
    await page.wait_for_load_state("networkidle")
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    await page.get_by_text("工单已进入处理中").wait_for()


async def test_a_root_cause_is_added_by_its_name_alone_and_refusals_sit_beside_their_fields(
    console: Any, db: Any, desk: Desk
) -> None:
    """Before, 添加原因 wanted an English snake_case code and any mistake was one banner (代码用小
    写英文字母…名称 1–100 个字) with no field marked. Now the code is optional (made up when left
    blank), and each refusal is under its field, the form as typed."""
    token = await signed_in(console, "admin")
    causes = f"{LIST}/root-causes"
    html = console_page(await console.get(causes), 200)
    assert valid(html, "code")
    assert valid(html, "label")

    # A bad code and a blank name at once: both said, each under its own field.
    both = await post_form(console, causes, add_form(html, {"code": "Bad Code", "label": " "}),
                           token=token)  # fmt: skip
    page = console_page(both, 422)
    assert field_error(page, "code") == CAUSE_WORDS["code_shape"]
    assert field_error(page, "label") == CAUSE_WORDS["label_blank"]
    assert value_of(page, "code") == "Bad Code"
    assert "代码用小写英文字母" not in banners(page)

    # A name already in the list (its code elsewhere) is said under the name.
    same = await post_form(console, causes, add_form(html, {"label": "等候时间过长"}), token=token)
    assert "已有名为“等候时间过长”的原因" in field_error(console_page(same, 422), "label")

    # Only a name: added under a code made up for it, which the staff never see.
    added = await post_form(console, causes, add_form(html, {"label": "叫号系统故障"}), token=token)
    assert added.status_code == 303, added.text
    made = await db.fetchval("select code from work_order_root_causes where label = '叫号系统故障'")
    assert re.fullmatch(r"cause_\d+", made)
    html = console_page(await console.get(causes), 200)
    second = await post_form(console, causes, add_form(html, {"label": "停车不便"}), token=token)
    assert second.status_code == 303, second.text
    again = await db.fetchval("select code from work_order_root_causes where label = '停车不便'")
    assert again != made
    assert re.fullmatch(r"cause_\d+", again)

    # A row renamed to nothing: the message under that row's name, as typed, nothing saved.
    blank = await post_form(console, causes, {"code": made, "label": "\u200b", "active": "1"},
                            token=token)  # fmt: skip
    assert field_error(console_page(blank, 422), f"label-{made}") == CAUSE_WORDS["label_blank"]
    assert (
        await db.fetchval("select label from work_order_root_causes where code = $1", made)
        == "叫号系统故障"
    )


async def test_a_work_orders_page_gives_its_due_time_with_the_year_as_its_other_times(
    console: Any, db: Any, desk: Desk, settings: Settings
) -> None:
    """到期时间 read "11-26 18:00" beside 生成于 "2026-11-26 08:16": one format on the page."""
    from zoneinfo import ZoneInfo

    await signed_in(console, "bh.east")
    html = console_page(await console.get(f"{LIST}/{desk.order}"), 200)
    due_at = await db.fetchval("select due_at from work_orders where id = $1", desk.order)
    local = due_at.astimezone(ZoneInfo(settings.bank_timezone)).strftime("%Y-%m-%d %H:%M")
    due = re.search(r'<span class="wo-due[^"]*">\s*<time datetime="[^"]+">([^<]+)</time>', html)
    assert due is not None
    assert due.group(1) == local
    created = re.search(r"生成于 (\S+ \S+)</span>", html)
    assert created is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", created.group(1))
    # The list keeps its short day and hour.
    listed = console_page(await console.get(LIST), 200)
    assert f">{local[5:]}</time>" in listed

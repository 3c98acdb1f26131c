"""The admin pauses, resumes and edits an alert rule from the console's rules page, through the
same service as PATCH /api/v1/alert-rules/{id}: a paused rule opens no work order for new answers
while the ones it opened stay; the edit form comes filled with the rule's settings, saves only
what was changed (a rule paused meanwhile stays paused), says a refusal beside its field in
Chinese and saves nothing then; each change is one audit row; CSRF as every console form; only
admins, an unknown rule is the 404 page. A real browser pauses a rule on a landscape tablet."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS
from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import banners, by_id, field_error, parse, valid, value_of
from tests.console.test_pages import console_page
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from tests.console.test_work_order_browser import demo_rule  # noqa: F401
from tests.sync.test_work_order_sync import Desk, answer, open_desk
from workbench.settings import Settings
from workbench.workorders.demo import DEMO_RULE

RULES = "/console/work-orders/rules"


@pytest.fixture
async def desk(console: Any, db: Any, settings: Settings, demo_bank: Any) -> Desk:
    """A customer NPS survey whose rule (NPS ≤ 6 to the RM, 24 hours) opened rm01's work order."""
    return await open_desk(console, db, settings)


async def the_rule(db: Any, desk: Desk) -> Any:
    return await db.fetchrow("select * from alert_rules where survey_id = $1", desk.survey)


async def updates(db: Any, rule_id: uuid.UUID) -> list[Any]:
    """The audit rows of changes to the rule: (who, which fields)."""
    rows = await db.fetch(
        """
        select u.login, e.detail->'changed' as changed
          from audit_events e join users u on u.id = e.actor_id
         where e.action = 'alert_rule.updated' and e.subject = $1
         order by e.id
        """,
        f"alert_rule:{rule_id}",
    )
    return [(r["login"], r["changed"]) for r in rows]


def switch_form(html: str, rule_id: uuid.UUID) -> tuple[str, str]:
    """The rule's 停用/启用 form on the rules page: what it sends and the question it asks."""
    found = re.search(
        rf'<form method="post" action="{RULES}/{rule_id}/active"[^>]*data-confirm="([^"]*)">'
        r'.*?name="active" value="([01])"',
        html,
        re.S,
    )
    assert found, "no 停用/启用 form for the rule"
    return found.group(2), found.group(1)


async def test_pausing_a_rule_stops_new_work_orders_and_keeps_the_ones_it_opened(
    console: Any, db: Any, settings: Settings, desk: Desk
) -> None:
    token = await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    page = console_page(await console.get(RULES), 200)
    sends, question = switch_form(page, rule["id"])
    assert sends == "0"
    assert "新的回答不再因它生成工单" in question
    assert "已生成的工单保持不变" in question
    assert "已启用" in page
    assert "已停用" not in page

    paused = await post_form(console, f"{RULES}/{rule['id']}/active", {"active": "0"}, token=token)
    assert paused.status_code == 303, paused.text
    page = console_page(await console.get(RULES), 200)
    assert "规则已停用：新的回答不再因它生成工单" in banners(page)
    assert "已停用" in page
    assert switch_form(page, rule["id"])[0] == "1"  # now it offers 启用
    assert f"{RULES}/{rule['id']}/apply" not in page  # a paused rule is not applied
    assert await db.fetchval("select active from alert_rules where id = $1", rule["id"]) is False
    assert await updates(db, rule["id"]) == [("admin", ["active"])]
    # The work order it opened stays; a new low score opens none.
    assert await db.fetchval("select state from work_orders where id = $1", desk.order) == "open"
    assert await answer(db, settings, desk.survey, desk.customers["C-5"], nps=2) is None

    resumed = await post_form(console, f"{RULES}/{rule['id']}/active", {"active": "1"}, token=token)
    assert resumed.status_code == 303
    assert "规则已启用" in banners(console_page(await console.get(RULES), 200))
    assert await answer(db, settings, desk.survey, desk.customers["C-5"], nps=1) is not None
    assert len(await updates(db, rule["id"])) == 2

    odd = await post_form(console, f"{RULES}/{rule['id']}/active", {"active": "x"}, token=token)
    assert odd.status_code == 303
    assert "没有更改" in banners(console_page(await console.get(RULES), 200))
    assert len(await updates(db, rule["id"])) == 2


async def test_the_edit_form_comes_filled_and_saves_what_was_changed(
    console: Any, db: Any, desk: Desk
) -> None:
    token = await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    order = await db.fetchrow("select assignee_id, due_at from work_orders where id = $1",
                              desk.order)  # fmt: skip
    rules_page = console_page(await console.get(RULES), 200)
    assert f'href="{RULES}/{rule["id"]}/edit"' in rules_page
    form = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    shown = {"question_key": "nps", "op": "lte", "value": "6", "assign_to": "owner_rm",
             "sla_hours": "24", "sla_kind": "hours"}  # fmt: skip
    for name, value in shown.items():
        assert value_of(form, name) == value, name
    assert "checked" in by_id(parse(form), "active").attrs  # 启用这条规则, ticked

    sent = edit_form(form, {"assign_to": "branch_head", "sla_hours": "48", "value": "5"})
    saved = await post_form(console, f"{RULES}/{rule['id']}/edit", sent, token=token)
    assert saved.status_code == 303, saved.text
    assert "规则已保存" in banners(console_page(await console.get(RULES), 200))
    after = await the_rule(db, desk)
    assert (after["assign_to"], after["sla_hours"], after["value"]) == ("branch_head", 48, 5)
    assert after["active"] is True
    assert await updates(db, rule["id"]) == [("admin", ["value", "assign_to", "sla_hours"])]
    # The work order it opened keeps its assignee and due time.
    assert tuple(await db.fetchrow(
        "select assignee_id, due_at from work_orders where id = $1", desk.order
    )) == tuple(order)  # fmt: skip

    # Sent again as it is: nothing to save, no audit row.
    form = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    same = await post_form(console, f"{RULES}/{rule['id']}/edit", edit_form(form, {}), token=token)
    assert same.status_code == 303
    assert "没有更改" in banners(console_page(await console.get(RULES), 200))
    assert len(await updates(db, rule["id"])) == 1

    # Unticking 启用 pauses it, as 停用 does.
    off = {k: v for k, v in edit_form(form, {}).items() if k != "active"}
    assert (
        await post_form(console, f"{RULES}/{rule['id']}/edit", off, token=token)
    ).status_code == 303
    assert await db.fetchval("select active from alert_rules where id = $1", rule["id"]) is False


async def test_an_edit_does_not_switch_back_on_a_rule_paused_meanwhile(
    console: Any, db: Any, desk: Desk
) -> None:
    """Another admin pauses the rule while this one has its form open with 启用 ticked: saving a
    new time limit keeps it paused."""
    token = await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    form = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    await post_form(console, f"{RULES}/{rule['id']}/active", {"active": "0"}, token=token)
    sent = edit_form(form, {"sla_hours": "12"})
    assert sent["active"] == "1"
    assert (
        await post_form(console, f"{RULES}/{rule['id']}/edit", sent, token=token)
    ).status_code == 303
    after = await the_rule(db, desk)
    assert (after["sla_hours"], after["active"]) == (12, False)


async def test_a_refused_edit_is_said_beside_the_field_and_saves_nothing(
    console: Any, db: Any, desk: Desk
) -> None:
    token = await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    form = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    cases = [
        ({"value": "11"}, "value", "NPS 题的值须为 0–10 之间的整数。"),
        ({"value": "好"}, "value", "NPS 题的值须为 0–10 之间的整数。"),
        ({"value": " "}, "value", "请填写条件值。"),
        ({"op": "contains"}, "op", "NPS 题的条件只能是 ≤、≥ 或 等于。"),
        ({"question_key": "comment"}, "op", "文本题的条件只能是 包含。"),
        ({"question_key": "gone"}, "question_key", "该问卷最新发布的版本中没有这道题。"),
        ({"sla_hours": "0"}, "sla_hours", "处理时限须为 1–8760 之间的整数（小时）。"),
        ({"sla_hours": "9000"}, "sla_hours", "处理时限须为 1–8760 之间的整数（小时）。"),
        ({"assign_to": "someone"}, "assign_to", "请选择分派对象。"),
    ]
    for change, where, message in cases:
        sent = edit_form(form, change)
        html = console_page(
            await post_form(console, f"{RULES}/{rule['id']}/edit", sent, token=token), 422
        )
        assert field_error(html, where) == message, change
        assert message not in banners(html)
        for name in ("op", "sla_kind"):
            if name != where:  # the others as chosen, and not marked
                assert valid(html, name), (change, name)
                assert value_of(html, name) == sent[name], (change, name)
        for name in ("value", "sla_hours"):
            assert value_of(html, name) == sent[name].strip(), (change, name)
    assert dict(await the_rule(db, desk)) == dict(rule)
    assert await updates(db, rule["id"]) == []


async def test_csrf_roles_and_unknown_rules(
    console: Any, make_console: Any, db: Any, desk: Desk
) -> None:
    """Without the page's token or from another site: the 403 page, nothing changed. A branch
    head does not get the pages; a rule that does not exist is the 404 page."""
    token = await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    form = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    switch = f"{RULES}/{rule['id']}/active"
    edit = f"{RULES}/{rule['id']}/edit"
    console_page(await post_form(console, switch, {"active": "0"}, token=None), 403)
    console_page(await post_form(console, switch, {"active": "0"}, token="forged"), 403)
    console_page(
        await post_form(console, switch, {"active": "0"}, token=token, origin="https://evil.test"),
        403,
    )
    console_page(await post_form(console, edit, edit_form(form, {"sla_hours": "2"}), token=None),
                 403)  # fmt: skip
    assert dict(await the_rule(db, desk)) == dict(rule)
    assert await updates(db, rule["id"]) == []

    gone = uuid.uuid4()
    console_page(await console.get(f"{RULES}/{gone}/edit"), 404)
    console_page(await post_form(console, f"{RULES}/{gone}/active", {"active": "0"}, token=token),
                 404)  # fmt: skip
    console_page(await post_form(console, f"{RULES}/{gone}/edit", edit_form(form, {}),
                                 token=token), 404)  # fmt: skip

    branch = await make_console()
    head = await signed_in(branch, "bh.east")
    console_page(await branch.get(f"{RULES}/{rule['id']}/edit"), 404)
    console_page(await post_form(branch, switch, {"active": "0"}, token=head), 404)
    assert await db.fetchval("select active from alert_rules where id = $1", rule["id"]) is True


def edit_form(html: str, typed: dict[str, str]) -> dict[str, str]:
    """What a browser sends from the edit form with `typed` in its fields: the page's own
    fields as shown (hidden ones too; 启用 only when ticked), `typed` over them."""
    form = html[html.index('class="form-grid wo-form-grid"') :]
    form = form[: form.index("</form>")]
    sent: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'\bname="([^"]+)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if not name or name.group(1) == "_csrf_token":
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        sent[name.group(1)] = value.group(1) if value else ""
    for select in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select[1])
        sent[select[0]] = chosen.group(1) if chosen else ""
    return {**sent, **typed}


# ---- in a browser --------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_rule")
async def test_the_admin_pauses_a_rule_on_a_landscape_tablet(
    page: Any, sign_in: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await page.set_viewport_size(TABLETS["tablet-landscape"])  # 1024×768
    await sign_in(page, "admin")
    await page.goto(RULES)
    panel = page.get_by_role("region", name="现有规则")
    row = panel.locator("tbody tr").first
    await expect(row.locator(".wo-rule-state")).to_have_text("已启用")
    asked: list[str] = []

    async def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    async with page.expect_navigation():
        await row.get_by_role("button", name="停用").click()
    assert len(asked) == 1
    assert "已生成的工单保持不变" in asked[0], asked
    await expect(page.locator(".flash")).to_contain_text("规则已停用")
    await expect(row.locator(".wo-rule-state")).to_have_text("已停用")
    await expect(row.get_by_role("button", name="启用")).to_be_visible()
    await page.wait_for_function("() => document.fonts.status === 'loaded'")
    assert await db.fetchval("select active from alert_rules where id = $1", DEMO_RULE) is False

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "alert-rule-paused-tablet.png"), full_page=True)
    await row.get_by_role("link", name="编辑").click()
    await expect(page.get_by_label("处理时限（小时）")).to_have_value("8")
    await expect(page.get_by_label("启用这条规则")).not_to_be_checked()
    await page.screenshot(path=str(ARTIFACTS / "alert-rule-edit-tablet.png"), full_page=True)


async def test_a_rule_on_an_archived_survey_is_listed_with_its_title_and_question(
    console: Any, db: Any, settings: Settings, desk: Desk
) -> None:
    """Archived, the survey's old links still take answers and its rule still opens work
    orders: the rules list names it (marked archived) and its question, not a raw key."""
    await signed_in(console, "admin")
    rule = await the_rule(db, desk)
    await db.execute("update surveys set status = 'archived' where id = $1", desk.survey)
    assert await answer(db, settings, desk.survey, desk.customers["C-5"], nps=2) is not None
    page = console_page(await console.get(RULES), 200)
    row = page[: page.index(f'href="{RULES}/{rule["id"]}/edit"')].rsplit("<tr>", 1)[1]
    what = row.split('class="wo-rule-what">', 1)[1].split("</td>", 1)[0]
    assert "到店服务回访 v1（已归档）" in what
    assert "您有多大可能向朋友推荐我们？" in what
    assert "未发布" not in what
    assert ">nps<" not in what

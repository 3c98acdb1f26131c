"""An alert rule on a choice question takes its value from the question's options, shown by their
labels (the option's value is what is saved), on the add and the edit form; the rules list says
the option's label. Before, the hint "选择题填选项值" had the admin type an internal value
(`slow`) that the survey editor never shows them. Score and text questions keep a box to type
in. A real browser swaps the box for the options as the question changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import by_id, field_error, parse, value_of
from tests.console.test_pages import console_page
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from workbench.surveys.demo import demo_nps_survey_id

pytestmark = pytest.mark.usefixtures("demo_surveys")
RULES = "/console/work-orders/rules"
SPEED = {"fast": "很快", "ok": "还可以", "slow": "较慢"}  # the demo survey's 效率 question


def options_of(html: str, control_id: str) -> dict[str, str]:
    """A <select>'s options: value -> the words shown."""
    control = by_id(parse(html), control_id)
    assert control.tag == "select", control.tag
    return {e.attrs["value"]: e.text() for e in control.walk() if e.tag == "option"}


async def test_a_choice_questions_value_is_one_of_its_options_by_label(
    console: Any, db: Any
) -> None:
    token = await signed_in(console, "admin")
    speed = f"{demo_nps_survey_id()}:speed"
    page = console_page(await console.get(RULES), 200)
    assert by_id(parse(page), "value").tag == "input"  # no question chosen yet
    assert "选择题填选项值" not in page

    # Refused for its time limit: the form again, the value picked from the options' labels.
    typed = {"question": speed, "op": "eq", "value": "较慢", "assign_to": "branch_head",
             "sla_hours": "0", "sla_kind": "hours"}  # fmt: skip
    refused = console_page(await post_form(console, RULES, typed, token=token), 422)
    assert options_of(refused, "value") == {"": "请选择选项", **SPEED}
    assert value_of(refused, "value") == "slow"  # the label typed is the option
    assert field_error(refused, "sla_hours")

    added = await post_form(console, RULES, {**typed, "value": "slow", "sla_hours": "8"},
                            token=token)  # fmt: skip
    assert added.status_code == 303, added.text
    rule = await db.fetchrow("select id, value from alert_rules where question_key = 'speed'")
    assert rule["value"] == "slow"
    listed = console_page(await console.get(RULES), 200)
    assert "等于 较慢" in listed
    assert "等于 slow" not in listed

    edit = console_page(await console.get(f"{RULES}/{rule['id']}/edit"), 200)
    assert options_of(edit, "value") == {"": "请选择选项", **SPEED}
    assert value_of(edit, "value") == "slow"
    assert "slow" not in by_id(parse(edit), "value").text()  # labels shown, never the value

    # An option that is not the question's: said in its labels, beside the value.
    wrong_value = {**typed, "value": "超快", "sla_hours": "8"}
    wrong = console_page(await post_form(console, RULES, wrong_value, token=token), 422)
    assert field_error(wrong, "value") == "单选题的值须为这道题的选项之一：很快、还可以、较慢。"


async def test_the_value_box_follows_the_question_in_a_browser(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in {"1280": {"width": 1280, "height": 900}, **TABLETS}.items():
        await page.set_viewport_size(viewport)
        await page.goto(RULES)
        question = page.get_by_label("问卷题目")
        value = page.locator("#value")
        await question.select_option(f"{demo_nps_survey_id()}:speed")
        await expect(value).to_have_js_property("tagName", "SELECT")
        assert await value.locator("option").all_text_contents() == ["请选择选项", *SPEED.values()]
        await value.select_option(label="较慢")
        await expect(page.locator("#value-hint")).to_contain_text("选一个选项")
        assert await sideways(page) == [], size
        await page.locator("section.wo-rule-form").screenshot(
            path=str(ARTIFACTS / f"rule-value-picker-{size}.png")
        )
        await question.select_option(f"{demo_nps_survey_id()}:score")
        await expect(value).to_have_js_property("tagName", "INPUT")
        await expect(page.locator("#value-hint")).to_contain_text("评分题填分数")

    # Picked and sent: the rule keeps the option's value and the list says its label.
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(RULES)
    await page.get_by_label("问卷题目").select_option(f"{demo_nps_survey_id()}:speed")
    await page.locator("#value").select_option(label="还可以")
    await page.get_by_role("button", name="添加规则").click()
    await expect(page.locator(".wo-rules")).to_contain_text("等于 还可以")

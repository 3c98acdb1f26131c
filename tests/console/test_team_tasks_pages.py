"""The team-task page of the console (/console/tasks): a branch head sees their subtree's open
tasks (another branch's are absent; other roles get the 404 page), soonest due first with the
overdue ones marked, filtered by RM (disabled ones marked) and overdue, the customer masked; 转派
hands a task on through the reassign service (the new RM's inbox has it), a refusal is said
beside the form and changes nothing, and the form sent twice hands it over once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import field_error
from tests.console.test_pages import console_page
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push.test_reminders import db_now
from tests.tasks_data import create_template, issue, issue_tasks, user
from tests.test_task_reassign import inbox_ids, set_active

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/tasks"
_ONCE = re.compile(r'<input type="hidden" name="once" value="([^"]+)">')


async def team_tasks(client: Any, db: Any) -> dict[str, uuid.UUID]:
    """Customer-less tasks for team-east-1 (rm01 张伟, rm02 王芳; 季度回访, rm01's overdue by two
    hours) and team-west-1 (rm05, rm06; 西区盘点), and a visit of rm01's customer 司马光明:
    {login or "customer": task id}."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    due = await db_now(db) + timedelta(days=3)
    east = await issue(client, db, admin, template["id"], title="季度回访",
                       org_unit="team-east-1", due_at=due)  # fmt: skip
    west = await issue(client, db, admin, template["id"], title="西区盘点",
                       org_unit="team-west-1", due_at=due)  # fmt: skip
    await feed(client, admin, "customers",
               [customer_row("R-1", name="司马光明", owner="rm01", seq=1)])  # fmt: skip
    [(_, visit, _)] = await issue_tasks(
        client, db, admin, template["id"], title="客户拜访",
        customer_ids=[(await customer_ids(db))["R-1"]], due_at=due + timedelta(days=400),
    )  # fmt: skip
    await db.execute(
        "update tasks set due_at = now() - interval '2 hours 5 minutes' where id = $1",
        east["rm01"],
    )
    return {**east, **west, "customer": visit}


async def assignee_of(db: Any, task_id: uuid.UUID) -> uuid.UUID:
    found: uuid.UUID = await db.fetchval("select assignee_id from tasks where id = $1", task_id)
    return found


def row_of(html: str, task_id: uuid.UUID) -> str:
    """The list's row of the task."""
    start = html.index(f'id="task-{task_id}"')
    return html[html.rindex("<li", 0, start) : html.index("</li>", start)]


async def test_the_head_sees_their_subtree_open_tasks_filtered(console, client, db):
    tasks = await team_tasks(client, db)
    await signed_in(console, "bh.east")
    html = console_page(await console.get(LIST), 200)
    assert "团队任务" in html
    assert html.count("季度回访") >= 2
    assert "西区盘点" not in html
    assert html.index(str(tasks["rm01"])) < html.index(str(tasks["rm02"]))  # soonest due first
    late = row_of(html, tasks["rm01"])
    assert "wo-row-late" in late
    assert "已逾期 2 小时" in late
    assert "待开始" in late
    assert "wo-row-late" not in row_of(html, tasks["rm02"])
    visit = row_of(html, tasks["customer"])
    assert "司**明" in visit
    # A task about a customer follows the customer: no one to hand it to, and it says so.
    assert "客户任务随客户移交" in visit
    assert "/reassign" not in visit
    assert "司马光明" not in html
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", visit)  # due next year: with its year
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row_of(html, tasks["rm02"]))

    only_rm02 = console_page(await console.get(f"{LIST}?rm={user('rm02')}"), 200)
    assert str(tasks["rm02"]) in only_rm02
    assert str(tasks["rm01"]) not in only_rm02
    overdue = console_page(await console.get(f"{LIST}?overdue=1"), 200)
    assert str(tasks["rm01"]) in overdue
    assert str(tasks["rm02"]) not in overdue
    west_rm = console_page(await console.get(f"{LIST}?rm={user('rm05')}"), 200)
    assert "西区盘点" not in west_rm  # another branch's RM is no filter: the whole list

    await set_active(client, "rm02", False)
    html = console_page(await console.get(LIST), 200)
    assert "王芳（已停用）" in html  # still in the RM filter, marked
    assert f'<option value="{user("rm02")}">王芳</option>' not in row_of(html, tasks["rm01"])
    assert "已停用" in row_of(html, tasks["rm02"])

    await console.post("/console/sign-out", data={})
    west = await make_west(console)
    assert "西区盘点" in west
    assert "季度回访" not in west


async def make_west(console: Any) -> str:
    console.cookies.clear()
    await signed_in(console, "bh.west")
    return console_page(await console.get(LIST), 200)


async def test_other_roles_get_the_404_page(console, client, db):
    await team_tasks(client, db)
    for login in ("marketing", "admin"):
        console.cookies.clear()
        await signed_in(console, login)
        html = console_page(await console.get(LIST), 404)
        assert "季度回访" not in html
        assert f'href="{LIST}"' not in html  # not in their navigation


async def test_reassigning_through_the_form_moves_the_task(console, client, db):
    tasks = await team_tasks(client, db)
    token = await signed_in(console, "bh.east")
    page = console_page(await console.get(f"{LIST}?rm={user('rm01')}"), 200)
    [sent_once] = _ONCE.findall(row_of(page, tasks["rm01"]))
    form = {"assignee": str(user("rm03")), "rm": str(user("rm01")), "once": sent_once}
    path = f"{LIST}/{tasks['rm01']}/reassign"

    assert (await post_form(console, path, form, token=None)).status_code == 403  # no CSRF
    assert await assignee_of(db, tasks["rm01"]) == user("rm01")

    done = await post_form(console, path, form, token=token)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{LIST}?rm={user('rm01')}"  # the list as it was
    after = console_page(await console.get(done.headers["location"]), 200)
    assert "已转派给 李娜" in after
    assert str(tasks["rm01"]) not in after
    assert await assignee_of(db, tasks["rm01"]) == user("rm03")
    assert str(tasks["rm01"]) in await inbox_ids(client, await headers_of(client, "rm03"))

    # The same form again (a reload, a double click): nothing handed over a second time.
    again = console_page(await post_form(console, path, {**form, "assignee": str(user("rm04"))},
                                         token=token), 409)  # fmt: skip
    assert "这个表单已经提交过，本次没有再执行" in again
    assert await assignee_of(db, tasks["rm01"]) == user("rm03")
    events = "select count(*) from audit_events where action = 'task.reassigned'"
    assert await db.fetchval(events) == 1


async def test_a_refused_reassignment_is_said_beside_the_form(console, client, db):
    tasks = await team_tasks(client, db)
    token = await signed_in(console, "bh.east")
    visit = tasks["customer"]
    path = f"{LIST}/{visit}/reassign"
    # rm01's customer's visit, sent by hand: only rm01 may do it (the page offers no form).
    refused = await post_form(console, path, {"assignee": str(user("rm02"))}, token=token)
    html = console_page(refused, 409)
    assert "只能转派给该客户现在的主管客户经理" in row_of(html, visit)
    assert str(tasks["rm02"]) in html  # the list is kept
    assert await assignee_of(db, visit) == user("rm01")
    # A form drawn while rm01 had the task, sent after it went to rm03 (a second tab): refused,
    # the task stays where the first form put it.
    rm01_task = tasks["rm01"]
    moved = await post_form(console, f"{LIST}/{rm01_task}/reassign",
                            {"assignee": str(user("rm03")), "from": str(user("rm01"))},
                            token=token)  # fmt: skip
    assert moved.status_code == 303, moved.text
    stale = await post_form(console, f"{LIST}/{rm01_task}/reassign",
                            {"assignee": str(user("rm04")), "from": str(user("rm01"))},
                            token=token)  # fmt: skip
    assert "已转派给其他客户经理" in field_error(console_page(stale, 409), f"assignee-{rm01_task}")
    assert await assignee_of(db, rm01_task) == user("rm03")
    # A disabled RM is offered nowhere, and refused if sent by hand.
    await set_active(client, "rm04", False)
    refused = await post_form(console, f"{LIST}/{tasks['rm02']}/reassign",
                              {"assignee": str(user("rm04"))}, token=token)  # fmt: skip
    assert "只能转派给在岗的客户经理" in field_error(
        console_page(refused, 409), f"assignee-{tasks['rm02']}"
    )
    # No RM chosen.
    blank = await post_form(console, f"{LIST}/{tasks['rm02']}/reassign", {"assignee": ""},
                            token=token)  # fmt: skip
    assert "请选择要转派给的客户经理" in field_error(
        console_page(blank, 422), f"assignee-{tasks['rm02']}"
    )
    # A task already submitted has no form, and is refused if sent by hand.
    await db.execute("update tasks set status = 'submitted' where id = $1", tasks["rm02"])
    html = console_page(await console.get(LIST), 200)
    assert f"{LIST}/{tasks['rm02']}/reassign" not in html
    assert "已提交" in html
    refused = await post_form(console, f"{LIST}/{tasks['rm02']}/reassign",
                              {"assignee": str(user("rm03"))}, token=token)  # fmt: skip
    assert "不能再转派" in console_page(refused, 409)
    assert await assignee_of(db, tasks["rm02"]) == user("rm02")
    events = "select count(*) from audit_events where action = 'task.reassigned'"
    assert await db.fetchval(events) == 1  # the one move above, the refused ones none
    # Another branch's task: the 404 page.
    other = await post_form(console, f"{LIST}/{tasks['rm05']}/reassign",
                            {"assignee": str(user("rm03"))}, token=token)  # fmt: skip
    console_page(other, 404)
    assert await assignee_of(db, tasks["rm05"]) == user("rm05")

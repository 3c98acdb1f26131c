"""A NUL character pasted into a console form is refused with a page that says what it is and
leads back to the form (where the page script offers the typed text back), not the general
"提交的内容无效" page with only 返回首页; nothing is stored, and the API's answer is the same
problem+json as before. The wordings a branch head reads: the surveys card says what they can do
there, and an error page does not tell them to use the RMs' app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import ORIGIN, csrf_of, signed_in
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.sync.test_work_order_sync import open_desk
from tests.workbench.identity.test_org_scope import unit
from workbench.console import once
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

LIST = "/console/work-orders"
NUL_TEXT = "提交的内容中含有无法保存的不可见字符（NUL），通常来自复制粘贴，请删除后重新提交"
APP_HINT = "客户经理请在手机或平板上使用工作台 App"


async def send(
    console: Any, path: str, fields: dict[str, str], *, token: str, referer: str | None
) -> Any:
    """POST a console form as a browser does from the page at `referer`."""
    headers = {"Origin": ORIGIN}
    if referer is not None:
        headers["Referer"] = ORIGIN + referer
    data = {"once": once.new_token(), **fields, "_csrf_token": token}
    return await console.post(path, data=data, headers=headers)


async def state_of(db: Any, order: Any) -> str:
    state: str = await db.fetchval("select state from work_orders where id = $1", order)
    return state


async def test_a_note_with_a_nul_is_refused_with_a_page_back_to_the_form(
    client: Any, console: Any, db: Any, settings: Settings
) -> None:
    desk = await open_desk(client, db, settings)
    token = await signed_in(console, "bh.east")
    page = f"{LIST}/{desk.order}"
    refused = await send(
        console,
        f"{page}/transition",
        {"to": "in_progress", "note": "已致电客户\x00，约定周五面谈"},
        token=token,
        referer=page,
    )
    html = console_page(refused, 422)
    assert NUL_TEXT in html
    assert 'data-submit-refused="nul"' in html  # the page script keeps what was typed
    assert 'data-nul-field="note"' in html  # and names the field by its label
    assert f'<a class="button button-primary" href="{page}">返回修改</a>' in html
    assert "返回首页" not in html
    assert "提交的内容无效" not in html
    assert await state_of(db, desk.order) == "open"
    events = "select count(*) from work_order_events where work_order_id = $1"
    assert await db.fetchval(events, desk.order) == 1  # only its opening

    # Without a Referer (or with one that is no console page) 返回修改 goes home.
    for referer in (None, "/api/v1/me", "/console/../api"):
        elsewhere = await send(
            console, f"{page}/transition", {"to": "in_progress", "note": "\x00"},
            token=token, referer=referer,
        )  # fmt: skip
        assert 'href="/console">返回修改</a>' in console_page(elsewhere, 422)
    assert await state_of(db, desk.order) == "open"

    # The API says it as before: problem+json naming the field.
    api = await client.post(
        f"/api/v1/work-orders/{desk.order}/transition",
        json={"to": "in_progress", "note": "a\x00b"},
        headers=await headers_of(client, "bh.east"),
    )
    assert api.status_code == 422, api.text
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["errors"][0]["path"] == "$.note"
    assert await state_of(db, desk.order) == "open"


async def test_a_new_users_login_and_a_search_with_a_nul_get_the_same_page(
    console: Any, db: Any
) -> None:
    await signed_in(console, "admin")
    new = "/console/admin/users/new"
    form = console_page(await console.get(new), 200)
    fields = {"login": "rm\x0009", "name": "周敏", "role": "rm", "org_unit_id": unit("team-east-2")}
    refused = await send(console, new, fields, token=csrf_of(form), referer=new)
    html = console_page(refused, 422)
    assert NUL_TEXT in html
    assert 'data-nul-field="login"' in html
    assert f'href="{new}">返回修改</a>' in html
    assert await db.fetchval("select count(*) from users where login like 'rm%09'") == 0

    users = "/console/admin"  # the users table
    search = await console.get(
        users, params={"q": "周\x00"}, headers={"Referer": f"{ORIGIN}{users}?role=rm"}
    )
    html = console_page(search, 422)
    assert NUL_TEXT in html
    assert 'data-nul-field="q"' in html
    assert f'href="{users}?role=rm">返回修改</a>' in html


def surveys_card(home: str) -> str:
    """The home page's 问卷与回访 card."""
    return home.split('class="card card-link" href="/console/surveys"')[1].split("</a>")[0]


async def test_a_branch_head_reads_what_they_can_do_with_surveys(
    console: Any, make_console: Any
) -> None:
    await signed_in(console, "bh.east")
    home = console_page(await console.get("/console"), 200)
    card = surveys_card(home)
    assert "发送已发布的问卷，查看回访结果与满意度" in card
    assert "设计问卷" not in card

    other = await make_console()
    await signed_in(other, "marketing")
    home = console_page(await other.get("/console"), 200)
    assert "设计问卷" in surveys_card(home)


async def test_an_error_page_does_not_send_staff_to_the_rm_app(console: Any) -> None:
    await signed_in(console, "bh.east")
    # A page opened the wrong way (a POST-only address typed or bookmarked): answered before
    # the session is looked at, so on the signed-out frame, but read by a branch head.
    wrong_way = console_page(await console.get("/console/sign-out"), 405)
    assert "不支持这样打开此页面" in wrong_way
    assert APP_HINT not in wrong_way
    missing = console_page(await console.get("/console/no-such-page"), 404)
    assert APP_HINT not in missing
    # The sign-in page still says it (an RM may well land there).
    await console.post("/console/sign-out", data={}, headers={"Origin": ORIGIN})
    console.cookies.clear()
    assert APP_HINT in console_page(await console.get("/console/sign-in"), 200)

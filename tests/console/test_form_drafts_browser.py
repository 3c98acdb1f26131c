"""What a branch head typed into a console form survives a submission the server did not take:
the session idled out (the sign-in page), or the page had expired (CSRF refused). The console
offers it back on the form's page; after a submission that was taken, nothing is offered. In a
real browser: the keeping is the page script's (sessionStorage), the server stores nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.sync.test_work_order_sync import open_desk
from workbench.seed import DEMO_PASSWORD
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

NOTE = "已致电客户致歉，约定周五到网点面谈。客户希望由原客户经理继续跟进。"
LIST = "/console/work-orders"


async def notes_of(db: Any, order: Any) -> int:
    """The work order's steps taken with a note (notes are encrypted at rest)."""
    return int(
        await db.fetchval(
            "select count(*) from work_order_events where work_order_id = $1"
            " and kind = 'transition' and note_enc is not null",
            order,
        )
    )


async def test_a_note_typed_before_the_session_idled_out_is_offered_back(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any, shot: Any
) -> None:
    from playwright.async_api import expect

    desk = await open_desk(client, db, settings)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_label("处理说明").fill(NOTE)
    # Away from the desk longer than the idle timeout: the submit lands on the sign-in page.
    await db.execute("update console_sessions set last_seen_at = now() - interval '1 day'")
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    assert urlsplit(page.url).path == "/console/sign-in"
    assert await notes_of(db, desk.order) == 0

    await page.get_by_label("账号").fill("bh.east")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()
    # Home says there is something not sent, and leads back to it.
    offer = page.locator(".draft-offer")
    await expect(offer).to_contain_text("有未提交成功的内容")
    async with page.expect_navigation():
        await offer.get_by_role("link").click()
    assert urlsplit(page.url).path == f"{LIST}/{desk.order}"
    note = page.get_by_label("处理说明")
    await expect(note).to_have_value("")
    await expect(page.locator(".draft-offer")).to_contain_text("没有提交成功")
    await shot(page, "form-draft-offered", sizes=("tablet-portrait",))
    await page.get_by_role("button", name="恢复填写的内容").click()
    await expect(note).to_have_value(NOTE)
    await expect(page.locator(".draft-offer")).to_have_count(0)

    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    await page.get_by_text("工单已进入处理中").wait_for()
    assert await notes_of(db, desk.order) == 1
    # Taken: nothing is offered any more, here or elsewhere.
    await page.goto(f"{LIST}/{desk.order}")
    await page.goto("/console")
    await expect(page.locator(".draft-offer")).to_have_count(0)


async def test_a_note_refused_as_an_expired_page_is_offered_back_and_can_be_dropped(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any
) -> None:
    from playwright.async_api import expect

    desk = await open_desk(client, db, settings)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_label("处理说明").fill(NOTE)
    # The page's token no longer matches (a page left open across a sign-out and sign-in).
    await page.evaluate(
        "document.querySelectorAll('input[name=_csrf_token]').forEach(i => i.value = 'x')"
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    await expect(page.get_by_role("heading", name="页面已过期")).to_be_visible()
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_role("button", name="恢复填写的内容").click()
    await expect(page.get_by_label("处理说明")).to_have_value(NOTE)
    # Still not sent: offered again until it is sent or dropped. Dropped, a reload offers nothing.
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_role("button", name="丢弃").click()
    await page.reload()
    await expect(page.locator(".draft-offer")).to_have_count(0)
    await expect(page.get_by_label("处理说明")).to_have_value("")
    assert await notes_of(db, desk.order) == 0


async def test_a_form_refused_with_its_values_shown_again_offers_nothing(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any
) -> None:
    """A refusal the page itself explains (422, the typed text kept in the form) is not a lost
    submission: no second copy is offered."""
    from playwright.async_api import expect

    desk = await open_desk(client, db, settings)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    too_long = "很" * 2001
    await page.get_by_label("处理说明").evaluate(
        "(el, text) => { el.removeAttribute('maxlength'); el.value = text; }", too_long
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    await expect(page.locator("#note-error")).to_be_visible()
    await expect(page.locator(".draft-offer")).to_have_count(0)
    await page.goto(f"{LIST}/{desk.order}")
    await expect(page.locator(".draft-offer")).to_have_count(0)


async def kept_in_tab(page: Any) -> str:
    """Everything this tab's sessionStorage holds, as text."""
    return str(await page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))"))


async def test_what_one_person_typed_is_not_offered_to_the_next_one_signing_in_at_the_tab(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any
) -> None:
    """A shared branch PC: the head's session ends with a note not sent, and the admin signs in
    at the same tab. The admin is offered nothing, and the tab no longer holds the note."""
    from playwright.async_api import expect

    desk = await open_desk(client, db, settings)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_label("处理说明").fill(NOTE)
    await db.execute("update console_sessions set last_seen_at = now() - interval '1 day'")
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    assert urlsplit(page.url).path == "/console/sign-in"
    assert NOTE in await kept_in_tab(page)  # kept for its author, who may sign in again

    await page.get_by_label("账号").fill("admin")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".account-name")).to_be_visible()
    await expect(page.locator(".draft-offer")).to_have_count(0)
    assert NOTE not in await kept_in_tab(page)
    await page.goto(f"{LIST}/{desk.order}")
    await expect(page.locator(".draft-offer")).to_have_count(0)
    await expect(page.get_by_label("处理说明")).to_have_value("")


async def test_signing_out_forgets_what_was_not_sent(
    client: Any, db: Any, settings: Settings, page: Any, sign_in: Any
) -> None:
    from playwright.async_api import expect

    desk = await open_desk(client, db, settings)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    await page.get_by_label("处理说明").fill(NOTE)
    await page.evaluate(
        "document.querySelectorAll('input[name=_csrf_token]').forEach(i => i.value = 'x')"
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="提交").click()
    await expect(page.get_by_role("heading", name="页面已过期")).to_be_visible()
    await page.goto("/console")
    await expect(page.locator(".draft-offer")).to_contain_text("有未提交成功的内容")

    async with page.expect_navigation():
        await page.get_by_role("button", name="退出登录").click()
    assert NOTE not in await kept_in_tab(page)
    await sign_in(page, "bh.east")
    await page.goto(f"{LIST}/{desk.order}")
    await expect(page.locator(".draft-offer")).to_have_count(0)

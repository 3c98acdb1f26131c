"""The console in a real browser: marketing signs in, sees the home page, signs out. Screenshots
of the pages at desktop and tablet sizes go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.usefixtures("demo_bank")


def path_of(page) -> str:
    return urlsplit(page.url).path


async def test_marketing_signs_in_sees_home_and_signs_out(browser, page, sign_in, shot):
    from playwright.async_api import expect

    await page.goto("/console")  # not signed in: the sign-in page
    assert path_of(page) == "/console/sign-in"
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    await expect(page.get_by_label("账号")).to_be_focused()
    await shot(page, "sign-in")

    await page.get_by_label("账号").fill("marketing")
    await page.get_by_label("密码").fill("not-my-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_have_text("账号或密码不正确。")
    await expect(page.get_by_label("账号")).to_have_value("marketing")
    await shot(page, "sign-in-refused", sizes=("desktop",))

    await sign_in(page, "marketing")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("市场部 Marketing")
    await expect(page.locator(".account-role")).to_have_text("市场营销 · 总行 Head Office")
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link")).to_have_text(
        ["首页", "产品宣传册", "分享与转化", "问卷与回访"]
    )
    await expect(nav.get_by_role("link", name="首页")).to_have_attribute("aria-current", "page")
    await expect(page.locator(".card-link").first).to_have_attribute("href", "/console/brochures")
    await expect(page.locator(".session-box")).to_contain_text("30 分钟无操作后")
    await shot(page, "home")

    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["__Host-wb_console"]
    assert session["httpOnly"]
    assert session["secure"]
    assert session["sameSite"] == "Strict"
    assert session["expires"] == -1  # a browser-session cookie
    assert await page.evaluate("document.cookie") == ""  # scripts see no cookie at all

    await page.goto("/console/no-such-page")
    await expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    await shot(page, "not-found", sizes=("desktop", "tablet-portrait"))

    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url("**/console/sign-in")
    await expect(page.get_by_role("status")).to_have_text("您已安全退出。")
    await shot(page, "signed-out", sizes=("desktop",))
    await page.goto("/console")
    assert path_of(page) == "/console/sign-in"
    assert "__Host-wb_console" not in {c["name"] for c in await page.context.cookies()}


async def test_a_relationship_manager_is_sent_to_the_app(page, shot):
    from playwright.async_api import expect

    await page.goto("/console/sign-in")
    await page.get_by_label("账号").fill("rm01")
    await page.get_by_label("密码").fill("workbench-demo")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name="请使用工作台 App")).to_be_visible()
    await shot(page, "rm-refused", sizes=("desktop", "tablet-portrait"))


@pytest.mark.parametrize(
    ("login", "name", "links"),
    [
        (
            "admin",
            "home-admin",
            [
                "首页",
                "团队看板",
                "产品宣传册",
                "分享与转化",
                "过滤的访问",
                "问卷与回访",
                "预警工单",
                "离线包",
                "月度报告",
                "我的导出",
                "设备管理",
                "机构与用户",
            ],
        ),
        (
            "bh.east",
            "home-branch-head",
            [
                "首页",
                "团队看板",
                "分享与转化",
                "问卷与回访",
                "预警工单",
                "月度报告",
                "我的导出",
                "设备管理",
            ],
        ),
    ],
)
async def test_every_role_has_its_home_page(page, sign_in, shot, login, name, links):
    from playwright.async_api import expect

    await sign_in(page, login)
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link")).to_have_text(links)
    await shot(page, name, sizes=("desktop", "tablet-portrait"))

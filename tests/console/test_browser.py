"""The console in a real browser: marketing signs in, sees the home page, signs out; the keyboard
focus shows plainly, on the page and on the red controls. Screenshots of the pages at desktop and
tablet sizes go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

import re
from typing import Any
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
                "审计日志",
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
                "团队任务",
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


# The focused element: whether it shows as keyboard focus, its outline, its own background and
# the page's.
FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {
    text: e.textContent.trim(), visible: e.matches(':focus-visible'), style: s.outlineStyle,
    width: parseFloat(s.outlineWidth), offset: parseFloat(s.outlineOffset), ring: s.outlineColor,
    own: s.backgroundColor, page: getComputedStyle(document.body).backgroundColor,
  };
}"""


def _rgba(css: str) -> tuple[float, ...]:
    """`rgb(…)` or `rgba(…)` as (r, g, b, alpha)."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)


def _over(top: str, below: str) -> tuple[float, ...]:
    """The colour seen where `top` (maybe see-through) is drawn on the opaque `below`."""
    *rgb, alpha = _rgba(top)
    return tuple(alpha * a + (1 - alpha) * b for a, b in zip(rgb, _rgba(below)[:3], strict=True))


def _luminance(rgb: tuple[float, ...]) -> float:
    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG's contrast ratio of two opaque colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def tab_to(page: Any, selector: str) -> dict[str, Any]:
    """Press Tab until the element `selector` has the focus; what FOCUSED says of it."""
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement.matches(s)", selector):
            focused: dict[str, Any] = await page.evaluate(FOCUSED)
            return focused
    raise AssertionError(f"Tab never reached {selector}")


async def test_the_keyboard_focus_shows_on_the_page_and_on_red_controls(page, sign_in):
    """The ring was 3 px of the brand red at 22 % opacity: next to nothing on the page and nothing
    at all on the selected (red) chip or a red button. It is a solid ring that contrasts 3:1 or
    more with the page and with the control it rings, for the keyboard only."""
    await sign_in(page, "marketing")
    await page.goto("/console/brochures")
    await page.wait_for_load_state("networkidle")
    for selector, name in (  # in the order Tab reaches them
        ("a.nav-item[aria-current=page]", "产品宣传册"),
        (".page-actions .button-primary", "上传宣传册"),
        (".chip[aria-current=true]", "全部"),
    ):
        ring = await tab_to(page, selector)
        assert ring["text"] == name, ring
        assert ring["visible"], ring
        assert ring["style"] == "solid", ring
        assert ring["width"] >= 2, ring
        assert ring["offset"] >= 1, ring
        seen = _over(ring["ring"], ring["page"])
        assert contrast(seen, _rgba(ring["page"])) >= 3, ring
        own = _over(ring["own"], ring["page"])  # a link without a background: the page
        assert contrast(seen, own) >= 3, ring

    # A mouse press (held, then let go elsewhere: no click) focuses without a ring.
    button = page.get_by_role("link", name="上传宣传册", exact=True)
    box = await button.bounding_box()
    assert box
    await page.mouse.move(box["x"] + 10, box["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(1, 1)
    await page.mouse.up()
    pressed = await page.evaluate(FOCUSED)
    assert pressed["text"] == "上传宣传册", pressed
    assert not pressed["visible"], pressed
    assert pressed["style"] == "none", pressed

"""Long names in the console's tables on tablets and phones, in a real browser.

A login may be 64 characters without a space. Before, a 63-character one made 设备管理 1229 px wide
on a 1024×768 tablet and the admin's user list 811 px wide on a 768×1024 one: the row's 停用 was
off the screen. On a 390 px phone the org tree's 添加下级 and 添加用户 sat past the left edge, 26 px
wide; and its lead said a unit's count was its own staff, where it counts its whole subtree.
Screenshots go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.console.browser import ARTIFACTS, TABLETS
from tests.tasks_data import unit
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

# 63 characters and no place to break a line: the longest kind of login people are given.
LONG_LOGIN = "zhang.weiming.east-branch.relationship-manager.team1@bank.cn.01"
PHONE = {"width": 390, "height": 844}
TOUCH_TARGET = 44  # px: the smallest button a finger hits without a miss

# The page's width beyond the window, and the window's width.
_PAGE_WIDTH = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
# The page scrolled down (never sideways) to the element; where the element is in the window,
# cut to what the boxes around it that scroll sideways (a table's card) show of it.
_SCROLLED_DOWN_TO = """(el) => {
  const top = el.getBoundingClientRect().top + window.scrollY;
  window.scrollTo(0, Math.max(0, top - window.innerHeight / 2));
  const r = el.getBoundingClientRect();
  let left = r.left, right = r.right;
  for (let box = el.parentElement; box; box = box.parentElement) {
    if (getComputedStyle(box).overflowX === 'visible') continue;
    const shown = box.getBoundingClientRect();
    left = Math.max(left, shown.left + box.clientLeft);
    right = Math.min(right, shown.left + box.clientLeft + box.clientWidth);
  }
  return {x: r.x, width: r.width, shownLeft: left, shownRight: right};
}"""


@pytest.fixture
async def long_login(console_server: str) -> str:
    """An RM with the long login, created by the admin, signed in once on a phone (a device)."""
    assert len(LONG_LOGIN) == 63
    async with httpx.AsyncClient(base_url=console_server) as api:
        admin = await _signed_in(api, "admin", "admin-api")
        created = await api.post(
            "/api/v1/admin/users",
            headers=admin,
            json={
                "login": LONG_LOGIN,
                "name": "张伟明",
                "role": "rm",
                "org_unit_id": str(unit("team-east-1")),
                "password": DEMO_PASSWORD,
            },
        )
        assert created.status_code in (200, 201), created.text
        await _signed_in(api, LONG_LOGIN, "long-login-phone")
    return LONG_LOGIN


async def _signed_in(api: httpx.AsyncClient, login: str, device_id: str) -> dict[str, str]:
    """Sign in through the API from a phone; the bearer header of the session."""
    device = {"device_id": device_id, "platform": "ios", "model": "iPhone 15"}
    signed = await api.post(
        "/api/v1/auth/login", json={"login": login, "password": DEMO_PASSWORD, "device": device}
    )
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}


async def _sticking_out(page: Any) -> list[str]:
    """The page's width when it scrolls sideways (wider than the window): empty when it fits."""
    page_width, window = await page.evaluate(_PAGE_WIDTH)
    return [] if page_width <= window else [f"the page is {page_width} px wide in {window} px"]


async def _off_screen(button: Any, window: dict[str, int], least_width: float = 0) -> list[str]:
    """Where the button is off the screen or hidden in its table's scrolling card, left or right,
    or too narrow: empty when all of it shows with neither the page nor the card scrolled."""
    box: dict[str, float] = await button.evaluate(_SCROLLED_DOWN_TO)
    right = box["x"] + box["width"]
    return [
        *([f"starts at x={box['x']:.0f}"] if box["x"] < 0 else []),
        *([f"ends at x={right:.0f}"] if right > window["width"] else []),
        *([f"{right - box['shownRight']:.0f} px hidden"] if box["shownRight"] < right else []),
        *([f"{box['shownLeft'] - box['x']:.0f} px hidden"] if box["shownLeft"] > box["x"] else []),
        *([f"{box['width']:.0f} px wide"] if box["width"] < least_width else []),
    ]


async def _shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("() => document.fonts.ready.then(() => true)")
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_a_long_login_keeps_the_rows_buttons_on_a_tablet(
    page: Any, sign_in: Any, long_login: str
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    lists = {"devices": ("/console/devices", "tr.device-row"), "admin-users": (
        "/console/admin", "tr.admin-user-row"
    )}  # fmt: skip
    problems = []
    for name, (path, rows) in lists.items():
        for size, window in TABLETS.items():
            await page.set_viewport_size(window)
            await page.goto(path)
            row = page.locator(rows, has_text=long_login)
            await expect(row).to_contain_text(long_login)  # all of it, on more than one line
            await _shoot(page, f"long-login-{name}-{size}")
            problems += [f"{name} at {size}: {p}" for p in await _sticking_out(page)]
            off = await _off_screen(row.get_by_role("link", name="停用"), window)
            problems += [f"{name} at {size}: 停用 {p}" for p in off]
    assert problems == [], "\n".join(problems)


async def test_the_org_trees_buttons_are_on_a_phone(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.set_viewport_size(PHONE)
    await page.goto("/console/admin/units")
    rows = page.locator("tr.admin-unit-row")
    await expect(rows).to_have_count(7)
    head_office = rows.filter(has_text="总行 Head Office")
    await expect(head_office).to_contain_text("13 人")  # all 13 of the bank: its link lists them
    await expect(head_office).to_contain_text("本级 3 人")
    await _shoot(page, "org-tree-phone")
    problems = await _sticking_out(page)
    for n in range(await rows.count()):
        for action in ("添加下级", "添加用户", "重命名或移动"):
            button = rows.nth(n).get_by_role("link", name=action)
            off = await _off_screen(button, PHONE, least_width=TOUCH_TARGET)
            problems += [f"row {n} {action}: {p}" for p in off]
    assert problems == [], "\n".join(problems)
    await expect(page.locator(".page-lead")).to_contain_text("人数含下级机构的员工")


async def test_on_a_phone_only_the_top_bar_stays_in_view_when_the_page_scrolls(
    page: Any, sign_in: Any
) -> None:
    """The menu is at the top of every page and scrolls away with it: held under the top bar,
    its three rows of sections covered 221 to 317 of a phone's 844 px of every page."""
    await sign_in(page, "bh.east")
    await page.set_viewport_size(PHONE)
    await page.goto("/console/dashboard")
    await page.evaluate("() => window.scrollTo(0, 1200)")
    covered = await page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('.topbar, .sidenav')].map(
             (el) => Math.min(el.getBoundingClientRect().bottom, window.innerHeight)))"""
    )
    await _shoot(page, "dashboard-phone-scrolled")
    top_bar = await page.evaluate("() => document.querySelector('.topbar').offsetHeight")
    assert covered <= top_bar, f"{covered} px of the phone's window stay covered by the frame"

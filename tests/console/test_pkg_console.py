"""The admin's offline-package page: packages, releases with their forms (release, widen, pause,
resume, roll back), adoption per version and the devices still on a rolled-back version; in a
real browser too, with screenshots in tests/artifacts/console/."""

from __future__ import annotations

import pytest

from tests.console.conftest import post_form, signed_in
from tests.sync.test_pkg_releases import APP, add_package, user_id

pytestmark = pytest.mark.usefixtures("demo_bank")
PAGE = "/console/packages"


async def add_install(db, *, login: str, device: str, version: int, sha256: str) -> None:
    await db.execute(
        """insert into devices (device_id, user_id, platform, model) values ($1, $2, 'ios', $3)
           on conflict (device_id) do nothing""",
        device,
        user_id(login),
        "iPhone 15",
    )
    await db.execute(
        """insert into offline_package_installs (device_id, user_id, app_id, version, sha256)
           values ($1, $2, $3, $4, $5)""",
        device,
        user_id(login),
        APP,
        version,
        sha256,
    )


async def test_the_admin_releases_widens_pauses_and_rolls_back_from_the_page(console, db):
    token = await signed_in(console, "admin")
    empty = await console.get(PAGE)
    assert empty.status_code == 200
    assert "还没有离线安装包" in empty.text
    assert 'href="/console/packages"' in empty.text  # in the navigation

    v1, v2 = await add_package(db, 1), await add_package(db, 2)
    page = await console.get(PAGE)
    assert APP in page.text
    assert "v2" in page.text
    assert "还没有发布" in page.text
    east = await db.fetchval("select id from org_units where name like '东城支行%'")

    sent = await post_form(
        console, f"{PAGE}/release",
        {"package_id": v1["id"], "percent": "100"}, token=token,
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    sent = await console.post(
        f"{PAGE}/release",
        data={"package_id": v2["id"], "percent": "10", "org_unit_ids": [str(east)],
              "logins": "rm05，RM06", "_csrf_token": token},
        headers={"Origin": "https://console.test"},
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    shown = await console.get(PAGE)
    assert "版本 2 已发布：灰度 10%，1 个机构，2 名员工" in shown.text
    release = await db.fetchrow(
        "select * from offline_releases where package_id = $1::uuid", v2["id"]
    )
    assert release["org_unit_ids"] == [east]
    assert set(release["user_ids"]) == {user_id("rm05"), user_id("rm06")}
    assert "东城支行" in shown.text
    assert "陈静（rm05）" in shown.text

    # Refusals are said on the page, and change nothing.
    unknown = await post_form(
        console, f"{PAGE}/release",
        {"package_id": v2["id"], "percent": "20", "logins": "rm99"}, token=token,
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "没有这些员工账号：rm99" in unknown.text
    narrower = await post_form(
        console, f"{PAGE}/release", {"package_id": v2["id"], "percent": "5"}, token=token
    )
    assert narrower.status_code == 409
    assert "灰度比例只能扩大" in narrower.text
    assert (
        await db.fetchval("select percent from offline_releases where id = $1", release["id"]) == 10
    )

    # Devices report versions; after v2's rollback one is still on it.
    await add_install(db, login="rm05", device="device-pkg-0005", version=2, sha256=v2["sha256"])
    await add_install(db, login="rm01", device="device-pkg-0001", version=1, sha256=v1["sha256"])
    await add_install(db, login="rm02", device="device-pkg-0002", version=1, sha256=v1["sha256"])

    paused = await post_form(console, f"{PAGE}/{v2['id']}/pause", token=token)
    assert paused.status_code == 303
    assert "已暂停" in (await console.get(PAGE)).text
    await post_form(console, f"{PAGE}/{v2['id']}/resume", token=token)
    rolled = await post_form(console, f"{PAGE}/{v2['id']}/rollback", token=token)
    assert rolled.status_code == 303
    after = await console.get(PAGE)
    assert "版本 2 已回滚" in after.text
    assert "仍在已回滚版本上的设备（1）" in after.text
    assert "device-pkg-0005" in after.text
    assert "陈静" in after.text
    assert await db.fetchval("select state from offline_releases where id = $1", release["id"]) == (
        "rolled_back"
    )
    again = await post_form(console, f"{PAGE}/{v2['id']}/pause", token=token)
    assert again.status_code == 303
    assert "不允许这个操作" in (await console.get(PAGE)).text

    # Without the page's CSRF token nothing happens.
    forged = await post_form(console, f"{PAGE}/{v1['id']}/rollback", token="forged")
    assert forged.status_code == 403
    assert (
        await db.fetchval(
            "select state from offline_releases where package_id = $1::uuid", v1["id"]
        )
        == "active"
    )


async def test_the_page_is_not_there_for_other_staff(console, db):
    package = await add_package(db, 1)
    token = await signed_in(console, "marketing")
    assert (await console.get(PAGE)).status_code == 404
    refused = await post_form(
        console, f"{PAGE}/release", {"package_id": package["id"], "percent": "100"}, token=token
    )
    assert refused.status_code == 404
    assert await db.fetchval("select count(*) from offline_releases") == 0
    assert 'href="/console/packages"' not in (await console.get("/console")).text


async def test_the_admin_sees_the_page_in_a_browser(page, sign_in, shot, db):
    from playwright.async_api import expect

    v1, v2, _ = await add_package(db, 1), await add_package(db, 2), await add_package(db, 3)
    await db.execute(
        """insert into offline_releases (id, app_id, package_id, state, percent)
           values (gen_random_uuid(), $1, $2::uuid, 'active', 100),
                  (gen_random_uuid(), $1, $3::uuid, 'rolled_back', 20)""",
        APP, v1["id"], v2["id"],
    )  # fmt: skip
    for n, login in enumerate(("rm01", "rm02", "rm03", "rm05")):
        target = v2 if n == 0 else v1
        await add_install(db, login=login, device=f"device-pkg-{n:04}",
                          version=target["version"], sha256=target["sha256"])  # fmt: skip

    await sign_in(page, "admin")
    await page.wait_for_load_state("networkidle")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="离线包").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("离线包")
    await page.get_by_label("灰度比例（%）").fill("15")
    await page.get_by_label("员工账号").fill("rm06")
    await page.get_by_role("button", name="发布").click()
    await expect(page.get_by_text("已发布：灰度 15%")).to_be_visible()
    await expect(page.get_by_text("仍在已回滚版本上的设备（1）")).to_be_visible()
    await shot(page, "packages", sizes=("desktop", "tablet-portrait"))
    await page.wait_for_load_state("networkidle")


async def test_the_rollback_message_says_what_actually_happened(console, db):
    """Not "devices go back" when they do not: here v1's file cannot be read (no file stored),
    and then a higher release stays above the one rolled back."""
    token = await signed_in(console, "admin")
    v1, v2, v3 = [await add_package(db, n) for n in (1, 2, 3)]
    for package in (v1, v2, v3):
        await post_form(console, f"{PAGE}/release",
                        {"package_id": package["id"], "percent": "100"}, token=token)  # fmt: skip
    await post_form(console, f"{PAGE}/{v2['id']}/rollback", token=token)
    page = (await console.get(PAGE)).text
    assert "版本 2 已回滚，仅撤回：更高的版本 3 仍在发布" in page
    assert "回到上一个发布的版本" not in page
    await post_form(console, f"{PAGE}/{v3['id']}/rollback", token=token)
    page = (await console.get(PAGE)).text
    assert "版本 3 已回滚，仅撤回：版本 1 的安装包文件无法读取" in page
    assert await db.fetchval("select max(version) from offline_packages") == 3


def test_a_roll_forward_is_named_with_the_files_it_carries():
    from sync.packages.console import rollback_message
    from sync.packages.releases import RollbackDone, RolledForward

    class Withdrawn:
        app_id, version = APP, 3

    done = RollbackDone(release=Withdrawn(), rolled_forward=[RolledForward(4, 1),  # type: ignore[arg-type]
                                                             RolledForward(5, 2)])  # fmt: skip
    assert rollback_message(done) == (
        f"{APP} 版本 3 已回滚：已重新签名发布 版本 4（版本 1 的文件）、版本 5（版本 2 的文件），"
        "原受众中在版本 3 上的设备下次检查更新时将更新到其中对应的版本。"
    )
    nothing = RollbackDone(release=Withdrawn(), rolled_forward=[])  # type: ignore[arg-type]
    assert "仅撤回：没有可以回退到的更早发布" in rollback_message(nothing)


async def test_the_release_form_starts_from_the_open_release_percentage(console, db):
    """Widening a 50 % release by an org unit needs no retyping (灰度比例只能扩大)."""
    token = await signed_in(console, "admin")
    v1 = await add_package(db, 1)
    await post_form(console, f"{PAGE}/release", {"package_id": v1["id"], "percent": "50"},
                    token=token)  # fmt: skip
    page = (await console.get(PAGE)).text
    assert 'name="percent" type="number" min="0" max="100" step="0.01" value="50"' in page
    assert f'value="{v1["id"]}" data-percent="50"' in page
    east = await db.fetchval("select id from org_units where name like '东城支行%'")
    widened = await post_form(console, f"{PAGE}/release",
                              {"package_id": v1["id"], "percent": "50",
                               "org_unit_ids": str(east)}, token=token)  # fmt: skip
    assert widened.status_code == 303, widened.text
    await add_package(db, 2)  # a newer version not released yet starts at 10 %
    assert 'step="0.01" value="10"' in (await console.get(PAGE)).text

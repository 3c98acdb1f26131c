"""The offline-package page with several app ids: a refused release comes back in the form that
was sent (what was typed, the reason under the field, the focus there), never in another app's
form; every app id is listed however many versions one has; each version's expiry and minimum
app version are shown. Over HTTP and in a real browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.browser import SIZES, sideways
from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import banners, by_id, field_error, parse, valid, value_of
from tests.sync.test_pkg_releases import add_package, add_release

pytestmark = pytest.mark.usefixtures("demo_bank")
PAGE = "/console/packages"
FIRST, SECOND = "h5-customer", "qa.bad"  # the page lists app ids in order: forms 1 and 2


async def two_apps(db: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = await add_package(db, 1, app_id=FIRST)
    bad = await add_package(db, 1, app_id=SECOND)
    return customer, bad


def autofocused(html: str) -> list[str]:
    return [e.attrs.get("id", "") for e in parse(html).walk() if "autofocus" in e.attrs]


async def test_a_refused_release_comes_back_only_in_the_form_that_was_sent(console, db):
    token = await signed_in(console, "admin")
    _, bad = await two_apps(db)
    east = str(await db.fetchval("select id from org_units where name like '东城支行%'"))
    sent = {"app_id": SECOND, "package_id": bad["id"], "percent": "37.56",
            "org_unit_ids": east, "logins": "rm01, nobody"}  # fmt: skip
    refused = await post_form(console, f"{PAGE}/release", sent, token=token)
    assert refused.status_code == 422
    html = refused.text

    # qa.bad's form (the second): the reason under 员工账号, and everything as typed.
    assert field_error(html, "logins-2") == "没有这些员工账号：nobody。"
    assert value_of(html, "logins-2") == "rm01, nobody"
    assert value_of(html, "percent-2") == "37.56"
    assert value_of(html, "units-2") == east
    assert value_of(html, "package-2") == bad["id"]
    assert all(valid(html, control) for control in ("percent-2", "units-2", "package-2"))
    assert autofocused(html) == ["logins-2"]  # the browser scrolls the form into view
    assert 'href="#release-form-2"' in html
    assert by_id(parse(html), "release-form-2").tag == "form"
    assert "qa.bad 的发布未保存" in banners(html)

    # h5-customer's form (the first) is as always: nothing typed in it, nothing refused.
    assert all(valid(html, f"{name}-1") for name in ("package", "percent", "units", "logins"))
    assert value_of(html, "logins-1") == ""
    assert value_of(html, "percent-1") == "10"
    assert value_of(html, "units-1") is None
    assert "nobody" not in str(by_id(parse(html), "release-form-1").text())
    assert await db.fetchval("select count(*) from offline_releases") == 0


async def test_each_refusal_is_said_under_its_field(console, db):
    token = await signed_in(console, "admin")
    customer, bad = await two_apps(db)
    await add_release(db, customer, percent=50)

    too_much = await post_form(console, f"{PAGE}/release",
                               {"app_id": SECOND, "package_id": bad["id"], "percent": "150"},
                               token=token)  # fmt: skip
    assert too_much.status_code == 422
    assert "0–100" in field_error(too_much.text, "percent-2")
    assert value_of(too_much.text, "percent-2") == "150"
    assert valid(too_much.text, "percent-1")

    # Refused by the release service: narrowing h5-customer's 50 % release (form 1).
    narrower = await post_form(console, f"{PAGE}/release",
                               {"app_id": FIRST, "package_id": customer["id"], "percent": "20"},
                               token=token)  # fmt: skip
    assert narrower.status_code == 409
    assert "只能扩大" in field_error(narrower.text, "percent-1")
    assert value_of(narrower.text, "percent-1") == "20"
    assert valid(narrower.text, "percent-2")
    assert autofocused(narrower.text) == ["percent-1"]

    # Nobody to release to; a form sent without its app id is found by the version chosen.
    nobody = await post_form(console, f"{PAGE}/release",
                             {"package_id": bad["id"], "percent": "0"}, token=token)  # fmt: skip
    assert nobody.status_code == 422
    assert "请填写灰度比例" in field_error(nobody.text, "percent-2")

    # A version that is no package (a tampered form): said under 版本, never a 500.
    gone = await post_form(console, f"{PAGE}/release",
                           {"app_id": SECOND, "package_id": "not-a-version", "percent": "5"},
                           token=token)  # fmt: skip
    assert gone.status_code == 422
    assert field_error(gone.text, "package-2") == "请选择要发布的版本。"
    assert await db.fetchval("select percent from offline_releases") == 50


async def test_every_app_is_listed_however_many_versions_one_has(console, db):
    """301 versions of one app id (listed first) hid every other app with the page's 300 rows."""
    await signed_in(console, "admin")
    await db.execute(
        """insert into offline_packages (id, app_id, version, kind, sha256, size, blob_key,
               manifest, signature, key_id, min_app_version, issued_at, expires_at)
           select gen_random_uuid(), 'a.many', n, 'h5', md5('a.many' || n) || md5(n::text),
                  1000, 'packages/many-' || n || '.zip', '{}', 'sig', 'test-1', '1.0.0', now(),
                  now() + interval '30 days'
             from generate_series(1, 301) n"""
    )
    oldest = await db.fetchval("select id from offline_packages where version = 1")
    await add_release(db, {"id": str(oldest)}, percent=100)
    await add_release(db, await add_package(db, 1, app_id=SECOND), percent=10, state="paused")

    html = (await console.get(PAGE)).text
    assert SECOND in html
    assert f"/console/packages/{oldest}/pause" in html  # a.many's open release, however old
    assert f'action="/console/packages/{oldest}/rollback"' in html
    root = parse(html)
    many = [o.attrs["value"] for o in by_id(root, "package-1").walk() if o.tag == "option"]
    assert len(many) == 21  # the 20 highest versions, and v1 for its open release
    assert str(oldest) in many
    assert "恢复" in by_id(root, "release-form-2").parent.text()  # type: ignore[union-attr]


async def test_the_packages_show_their_expiry_and_minimum_app_version(console, db):
    await signed_in(console, "admin")
    v1 = await add_package(db, 1)
    await add_package(db, 2)
    now = datetime.now(UTC)
    await db.execute(
        """update offline_packages set min_app_version = '1.10.2', issued_at = $2,
                  expires_at = $3 where id = $1::uuid""",
        v1["id"],
        now - timedelta(days=40),
        now - timedelta(days=10),
    )
    await add_release(db, v1, percent=100)
    html = (await console.get(PAGE)).text
    rows = [e for e in parse(html).walk() if e.tag == "tr" and "pkg-expired" in e.classes]
    assert len(rows) == 1
    assert rows[0].text().startswith("v1 已过期≥ 1.10.2")
    headers = [e.text() for e in parse(html).walk() if e.tag == "th"]
    assert "版本最低应用版本" in headers
    assert "生成时间有效期至" in headers
    assert "v1（发布中）（已过期）" in html  # the release form says it too
    assert "≥ 1.0.0" in html  # v2's, not expired


async def test_a_refused_release_stays_in_its_form_in_a_browser(page, sign_in, shot, db):
    from playwright.async_api import expect

    customer, bad = await two_apps(db)
    await db.execute(
        """update offline_packages set min_app_version = '10.10.10',
                  issued_at = now() - interval '40 days', expires_at = now() - interval '1 day'
            where id = $1::uuid""",
        customer["id"],
    )
    await sign_in(page, "admin")
    await page.goto(PAGE)
    second = page.locator("#release-form-2")
    await second.get_by_label("灰度比例（%）").fill("37.56")
    await second.get_by_label("员工账号").fill("rm01, nobody")
    await second.get_by_role("button", name="发布").click()

    await expect(page.locator("#logins-2")).to_be_focused()
    await expect(page.locator("#logins-2")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#logins-2-error")).to_have_text("没有这些员工账号：nobody。")
    await expect(page.locator("#logins-2-error")).to_be_in_viewport()
    await expect(page.locator("#percent-2")).to_have_value("37.56")
    first = page.locator("#release-form-1")
    await expect(first.get_by_label("员工账号")).to_have_value("")
    await expect(first.get_by_label("灰度比例（%）")).to_have_value("10")
    await expect(first.locator("[aria-invalid]")).to_have_count(0)
    await shot(page, "packages-refused", sizes=("desktop",))
    assert await sideways(page) == []

    for size in ("tablet-landscape", "desktop"):  # the packages tables fit beside the forms
        await page.set_viewport_size(SIZES[size])
        assert await sideways(page) == [], size

    # Corrected in the same form, it releases qa.bad, and nothing of h5-customer.
    await page.locator("#logins-2").fill("rm01")
    await second.get_by_role("button", name="发布").click()
    await expect(page.get_by_text("qa.bad 版本 1 已发布：灰度 37.56%")).to_be_visible()
    assert await db.fetchval("select app_id from offline_releases") == SECOND
    assert await db.fetchval("select count(*) from offline_releases") == 1
    assert bad["id"] == str(await db.fetchval("select package_id from offline_releases"))

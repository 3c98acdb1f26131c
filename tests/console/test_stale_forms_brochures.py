"""Stale brochure forms: an edit form drawn before the brochure was saved elsewhere (another tab,
a colleague) is refused (409) instead of silently undoing that save, in the console's plain form,
the page script's shape and the API's optional `If-Match`; and a new version's publish form does
not offer the previous version's end time once it has passed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.brochure_data import Desk, open_desk, page_image, text_of
from tests.console.field_errors import value_of
from tests.console.test_brochure_pages import post_upload, script_parts, upload_parts
from tests.console.test_pages import console_page
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"
API = "/api/v1/brochures"
_ACTION = re.compile(r'<form class="brochure-form" id="brochure-form"[^>]*? action="([^"]*)"')
EDITED_MEANWHILE = "此宣传册已被修改（可能是您在另一个窗口或同事的修改），请查看最新内容后再保存"


@pytest.fixture
async def desk(make_console: Any, settings: Settings, tmp_path: Path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


async def published(desk: Desk, **fields: Any) -> dict[str, Any]:
    made = await desk.upload(page_image(), talk_track="稳健理财", **fields)
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        await desk.act(made["id"], action, who)
    return made


def action_of(html: str) -> str:
    """Where the edit form (as the page drew it) sends a save."""
    found = _ACTION.search(html)
    assert found, "the page has no brochure form"
    return found.group(1).replace("&amp;", "&")


async def latest(db: Any, brochure_id: str) -> Any:
    return await db.fetchrow(
        "select version, title, talk_track, status from brochure_versions"
        " where brochure_id = $1 order by version desc limit 1",
        uuid.UUID(brochure_id),
    )


def plain(desk: Desk, made: dict[str, Any], **changed: str) -> list[Any]:
    """The plain edit form as drawn from the published version, with `changed` typed in."""
    fields = {"_csrf_token": desk.token, "title": "稳享90天", "product_code": "WM90",
              "talk_track": "稳健理财", "tags": "理财", **changed}  # fmt: skip
    return [*upload_parts(fields, []), *(("keep", (None, p["image"])) for p in made["pages"])]


async def test_a_save_from_a_stale_tab_is_refused_and_keeps_what_was_typed(
    desk: Desk, db: Any
) -> None:
    """Tabs A and B open the edit form of a published brochure; A changes the title and saves
    (version 2); B, still the old form, changes only the talk track: nothing is saved (409), the
    page says so with B's typed values and a link to the latest, and A's title stays."""
    made = await published(desk)
    brochure = made["id"]
    await desk.sign_in("marketing")
    tab_a = action_of(await desk.page(f"{LIST}/{brochure}/edit"))
    tab_b = action_of(await desk.page(f"{LIST}/{brochure}/edit"))

    saved = await post_upload(desk, tab_a, plain(desk, made, title="稳享90天 · 新客专享"))
    assert saved.status_code == 303, saved.text
    assert "已保存为第 2 版草稿" in await desk.page(saved.headers["location"])

    stale = await post_upload(desk, tab_b, plain(desk, made, talk_track="新的话术：注意风险"))
    html = console_page(stale, 409)
    assert EDITED_MEANWHILE in text_of(html)
    assert value_of(html, "talk_track") == "新的话术：注意风险"  # nothing typed is lost
    assert f'href="{LIST}/{brochure}/edit"' in html  # the latest, one link away
    row = await latest(db, brochure)
    assert (row["version"], row["title"]) == (2, "稳享90天 · 新客专享")  # A's save stands
    assert row["talk_track"] == "稳健理财"

    # The refused page is as stale as the tab was: saved from it, it is refused again.
    again = await post_upload(desk, action_of(html), plain(desk, made, talk_track="新的话术"))
    console_page(again, 409)
    assert (await latest(db, brochure))["title"] == "稳享90天 · 新客专享"

    # The latest form saves the talk track over A's title, not instead of it.
    fresh = await desk.page(f"{LIST}/{brochure}/edit")
    assert value_of(fresh, "title") == "稳享90天 · 新客专享"
    done = await post_upload(
        desk, action_of(fresh),
        plain(desk, made, title="稳享90天 · 新客专享", talk_track="新的话术：注意风险"),
    )  # fmt: skip
    assert done.status_code == 303, done.text
    row = await latest(db, brochure)
    assert (row["version"], row["title"], row["talk_track"]) == (
        2, "稳享90天 · 新客专享", "新的话术：注意风险",
    )  # fmt: skip


async def test_the_page_script_gets_the_refusal_of_a_stale_save(desk: Desk, db: Any) -> None:
    """The page's script sends the API's shape to the form's address: a stale one is a 409
    with the message it shows, and the draft keeps the other tab's change."""
    made = await desk.upload(page_image(), talk_track="稳健理财")
    brochure = made["id"]
    await desk.sign_in("marketing")
    tab_a = action_of(await desk.page(f"{LIST}/{brochure}/edit"))
    tab_b = action_of(await desk.page(f"{LIST}/{brochure}/edit"))
    meta = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财",
            "tags": ["理财"]}  # fmt: skip
    first = await post_upload(
        desk, tab_a, script_parts({**meta, "title": "A 的标题"}, []), script=True
    )
    assert first.status_code == 200, first.text
    stale = await post_upload(
        desk, tab_b, script_parts({**meta, "talk_track": "B 的话术"}, []), script=True
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["message"].startswith(EDITED_MEANWHILE)
    assert stale.json()["latest"] == f"{LIST}/{brochure}/edit"
    row = await latest(db, brochure)
    assert (row["version"], row["title"], row["talk_track"]) == (1, "A 的标题", "稳健理财")


async def test_the_api_edit_takes_an_optional_if_match(desk: Desk, db: Any) -> None:
    """PUT with `If-Match` naming the content read: saved; naming older content: 409
    `brochure.edited_meanwhile`, nothing saved; without it (older apps): saved as before."""
    made = await desk.upload(page_image(), talk_track="稳健理财")
    brochure = made["id"]
    headers = await desk.headers("marketing")
    meta = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财",
            "tags": ["理财"]}  # fmt: skip
    read = made["latest"]["content_hash"]

    first = await desk.client.put(
        f"{API}/{brochure}", files=script_parts({**meta, "title": "第一次"}, []),
        headers={**headers, "If-Match": f'"{read}"'},
    )  # fmt: skip
    assert first.status_code == 200, first.text
    stale = await desk.client.put(
        f"{API}/{brochure}", files=script_parts({**meta, "talk_track": "旧页面的话术"}, []),
        headers={**headers, "If-Match": f'"{read}"'},
    )  # fmt: skip
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "brochure.edited_meanwhile"
    row = await latest(db, brochure)
    assert (row["title"], row["talk_track"]) == ("第一次", "稳健理财")

    garbled = await desk.client.put(
        f"{API}/{brochure}", files=script_parts(meta, []),
        headers={**headers, "If-Match": '"not a hash"'},
    )  # fmt: skip
    assert garbled.status_code == 422, garbled.text
    assert (await latest(db, brochure))["title"] == "第一次"

    older_app = await desk.client.put(
        f"{API}/{brochure}", files=script_parts({**meta, "title": "旧版 App"}, []), headers=headers
    )
    assert older_app.status_code == 200, older_app.text
    assert (await latest(db, brochure))["title"] == "旧版 App"


async def test_a_new_versions_publish_form_leaves_out_an_end_that_has_passed(
    desk: Desk, db: Any
) -> None:
    """Version 1 expired (its end passed); version 2, approved, is to be published: the form
    does not offer version 1's end (it would be refused: 下架时间必须晚于现在), says what it
    was, and publishing the form as drawn works."""
    made = await published(desk)
    brochure = made["id"]
    zone = ZoneInfo(desk.settings.bank_timezone)
    ended = (datetime.now(zone) - timedelta(days=3)).replace(second=0, microsecond=0)
    await db.execute(
        "update brochure_versions set live_until = $2 where brochure_id = $1 and version = 1",
        uuid.UUID(brochure), ended,
    )  # fmt: skip
    headers = await desk.headers("marketing")
    meta = {"title": "稳享90天 · 第二版", "product_code": "WM90", "talk_track": "稳健理财",
            "tags": ["理财"]}  # fmt: skip
    edit = await desk.client.put(f"{API}/{brochure}", files=script_parts(meta, []),
                                 headers=headers)  # fmt: skip
    assert edit.status_code == 200, edit.text
    await desk.act(brochure, "submit", "marketing")
    await desk.act(brochure, "approve", "compliance")

    await desk.sign_in("marketing")
    html = await desk.page(f"{LIST}/{brochure}")
    assert value_of(html, "live_until") == ""
    assert f"原下架时间 {ended:%Y-%m-%d %H:%M} 已过" in text_of(html)
    form = html.split('id="publish"', 1)[1].split("</form>", 1)[0]
    sent = {name: value_of(html, name) or "" for name in ("live_from", "live_until")}
    assert 'name="live_from"' in form
    done = await desk.post(f"{LIST}/{brochure}/publish", sent)
    assert done.status_code == 303, done.text
    row = await latest(db, brochure)
    assert (row["version"], row["status"]) == (2, "published")

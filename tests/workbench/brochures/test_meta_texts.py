"""A brochure's tags and talk track are text RMs read and present as typed: a tag that shows
nothing or that a control character or a direction override makes read otherwise, and a talk
track holding one (its line breaks and tabs are text), are refused (422 naming each), as a title
is; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workbench.brochures.conftest import BROCHURES, meta, multipart, page_image
from workbench.db import use_json_codecs

pytestmark = pytest.mark.usefixtures("demo_bank")

BAD_TAGS = ["理财", "a\u0007b", "\u200b", "x\u202ey"]
BAD_TALK = "第一行\u0007\u001b[31m红\u202e反向"


def paths_of(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["path"]: e["message"] for e in response.json()["errors"]}


async def test_tags_and_a_talk_track_that_read_otherwise_are_refused_each_by_path(studio, db):
    refused = await studio.client.post(
        BROCHURES,
        files=multipart(meta(tags=BAD_TAGS, talk_track=BAD_TALK), (page_image(),)),
        headers=studio.marketing,
    )
    errors = paths_of(refused)
    assert sorted(errors) == [
        "$.meta.tags[1]", "$.meta.tags[2]", "$.meta.tags[3]", "$.meta.talk_track",
    ]  # fmt: skip
    assert "control character" in errors["$.meta.tags[1]"]
    assert "shows nothing" in errors["$.meta.tags[2]"]
    assert "direction override" in errors["$.meta.tags[3]"]
    assert await db.fetchval("select count(*) from brochures") == 0
    assert await db.fetchval("select count(*) from brochure_images") == 0

    # One at a time, as each would come.
    for fields, path in (({"tags": ["\u2066隔离"]}, "$.meta.tags[0]"),
                         ({"talk_track": "正文\u202d"}, "$.meta.talk_track"),
                         ({"talk_track": "响铃\u0007"}, "$.meta.talk_track"),
                         ({"title": "abc\u202edef"}, "$.meta.title")):  # fmt: skip
        response = await studio.client.post(
            BROCHURES, files=multipart(meta(**fields), (page_image(),)), headers=studio.marketing
        )
        assert list(paths_of(response)) == [path], fields
    assert await db.fetchval("select count(*) from brochures") == 0


async def test_a_talk_track_keeps_its_lines_and_tabs_and_an_edit_is_checked_alike(studio, db):
    await use_json_codecs(db)
    talk = "第一段：稳健理财。\n\t· 业绩比较基准不代表实际收益\r\n第二段：理财非存款。"
    made = await studio.upload(page_image(), talk_track=talk, tags=["理财", "热销"])
    stored = await db.fetchrow(
        "select talk_track, tags from brochure_versions where brochure_id = $1::uuid",
        made["id"],
    )
    assert stored["talk_track"] == talk
    assert list(stored["tags"]) == ["理财", "热销"]

    edited = await studio.edit(made["id"], tags=["理财", "\u202e热销"], talk_track=BAD_TALK)
    assert sorted(paths_of(edited)) == ["$.meta.tags[1]", "$.meta.talk_track"]
    after = await db.fetchrow(
        "select talk_track, tags from brochure_versions where brochure_id = $1::uuid",
        made["id"],
    )
    assert (after["talk_track"], list(after["tags"])) == (talk, ["理财", "热销"])

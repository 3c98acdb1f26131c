"""A share code or visitor id with a line break after it is not one of ours: the code is the
viewer's not-found page and the visitor id a fresh one, so neither reaches a header (a Location
or a Set-Cookie) after the contact beacons were sent."""

from __future__ import annotations

import re

from tests.workbench.tracking.conftest import PHONE_SAFARI, stream_length

PHONE = {"User-Agent": PHONE_SAFARI, "Sec-Fetch-Site": "same-origin"}


async def test_a_visitor_id_with_a_line_break_is_replaced(shared):
    shared.client.cookies.clear()
    path = f"/s/{shared.code}/contact"
    answer = await shared.client.post(
        path, data={"v": "visitor1\n"}, headers=PHONE, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "\n" not in cookie
    assert re.match(r"wb_vid=[0-9a-f]{32};", cookie), cookie
    assert await stream_length(shared.studio.settings) == 2


async def test_a_share_code_with_a_line_break_is_not_found(shared):
    for path in (f"/s/{shared.code}%0A/contact", f"/s/{shared.code}%0A"):
        answer = await shared.client.get(path, headers=PHONE, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "location" not in answer.headers
        assert "链接无效" in answer.text
    refused = await shared.client.post(
        f"/s/{shared.code}%0A/contact", data={"v": "visitor1"}, headers=PHONE
    )
    assert refused.status_code == 404
    assert await stream_length(shared.studio.settings) == 0

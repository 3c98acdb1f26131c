"""Whom a share's poster names as the customer's RM: whom the share page names (the customer's RM
now, else the sharer, while active); with no active RM, no such line. A poster drawn before is
drawn anew, as its name is part of what it shows."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.customers_data import customer_row, feed, headers_of
from tests.workbench.shares.conftest import Desk
from workbench.shares import poster as poster_module

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[poster_module.PosterFacts]:
    """The facts of every poster drawn (drawn as ever)."""
    facts: list[poster_module.PosterFacts] = []
    draw = poster_module.draw

    def spy(shown: poster_module.PosterFacts, page: bytes | None) -> bytes:
        facts.append(shown)
        return draw(shown, page)

    monkeypatch.setattr(poster_module, "draw", spy)
    return facts


async def disable(desk: Desk, db: Any, login: str) -> None:
    user_id = await db.fetchval("select id from users where login = $1", login)
    off = await desk.client.post(
        f"/api/v1/admin/users/{user_id}/disable", headers=desk.studio.admin
    )
    assert off.status_code == 200, off.text


async def test_the_poster_names_the_customers_current_rm(
    desk: Desk, db: Any, drawn: list[poster_module.PosterFacts]
) -> None:
    made = await desk.made(customer_id=str(desk.customer))  # rm01 张伟, for 张小三
    first = await desk.get(made["poster_png_url"])
    assert first.status_code == 200, first.text
    assert drawn[-1].rm_name == "张伟"
    # The feed hands 张小三 to rm02 (王芳): the poster asked for again names them.
    rows = [customer_row("S-1", name="张小三", owner="rm02", seq=1)]
    await feed(desk.client, desk.studio.admin, "customers", rows)
    again = await desk.get(made["poster_png_url"])
    assert again.status_code == 200, again.text
    assert drawn[-1].rm_name == "王芳"
    assert again.headers["etag"] != first.headers["etag"]


async def test_a_share_to_no_one_of_a_disabled_sharer_has_no_rm_line(
    desk: Desk, db: Any, drawn: list[poster_module.PosterFacts]
) -> None:
    made = await desk.made()
    await disable(desk, db, "rm01")
    head = await headers_of(desk.client, "bh.east")  # the branch head still hands it out
    response = await desk.get(made["poster_png_url"], head)
    assert response.status_code == 200, response.text
    assert drawn[-1].rm_name == ""
    with Image.open(io.BytesIO(response.content)) as png:
        # Where "您的客户经理" and the name stood: the poster's plain background only.
        label = png.convert("RGB").crop((40, 1070, 400, 1105))
        assert label.getcolors() == [(label.width * label.height, (244, 246, 250))]

"""Whom a survey link's poster names as 您的客户经理: whom the link's page names (the customer's RM
now, else the RM the link was sent for, while active). It named the RM who shared it, after a
feed gave the customer to another RM of the branch (the poster the branch head asks for) and
after that RM left."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import add_customers, publish, user
from tests.workbench.surveys.test_reused_link_poster import RATING, _poster_of
from workbench.shares import poster as poster_module
from workbench.surveys import share_poster

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[poster_module.PosterFacts]:
    """The facts of every survey poster drawn (drawn as ever)."""
    facts: list[poster_module.PosterFacts] = []
    draw = share_poster.draw

    def spy(shown: poster_module.PosterFacts) -> bytes:
        facts.append(shown)
        return draw(shown)

    monkeypatch.setattr(share_poster, "draw", spy)
    return facts


async def test_a_survey_poster_names_the_customers_rm_now(
    make_client: Any, db: Any, tmp_path: Any, drawn: list[poster_module.PosterFacts]
) -> None:
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, questions=RATING, title="理财体验问卷")
    (customer,) = await add_customers(db, 1, owner="rm01")
    rm01, head = await headers_of(client, "rm01"), await headers_of(client, "bh.east")
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "qr"}
    shared = await client.post("/api/v1/shares", json=body, headers=rm01)
    assert shared.status_code == 201, shared.text
    share = shared.json()
    poster = await _poster_of(client, share, rm01)
    assert poster.status_code == 200, poster.text
    assert drawn[-1].rm_name == "张伟"  # rm01

    # The customer goes to rm02 (王芳) of the same branch: the head's poster names them, not rm01.
    await db.execute("update customers set owner_id = $2 where id = $1", customer, user("rm02"))
    moved = await _poster_of(client, share, head)
    assert moved.status_code == 200, moved.text
    assert drawn[-1].rm_name == "王芳"

    # Neither is active any more: no one to name, no such line.
    await db.execute(
        "update users set active = false where id = any($1::uuid[])", [user("rm01"), user("rm02")]
    )
    gone = await _poster_of(client, share, head)
    assert gone.status_code == 200, gone.text
    assert drawn[-1].rm_name == ""
    assert len({poster.headers["etag"], moved.headers["etag"], gone.headers["etag"]}) == 3

"""A customer's request to be contacted is never lost: tapped on a page left open after the
brochure was taken down (unpublished, or past its window), it still tells the sharing RM, once,
saying the brochure can no longer be viewed. Opens and reading of such a share still tell no
one, and the counts are as ever."""

from __future__ import annotations

import json
from typing import Any

from tests.customers_data import headers_of
from tests.workbench.brochures.conftest import studio  # noqa: F401
from tests.workbench.tracking.conftest import SLACK, WECHAT, shared, to_customer  # noqa: F401
from tests.workbench.tracking.test_radar import end_window
from workbench.tracking.radar import GONE_NOTE


async def told(db: Any) -> list[Any]:
    rows: list[Any] = await db.fetch(
        "select n.*, u.login from notifications n join users u on u.id = n.user_id"
        " where n.category in ('brochure.opened', 'brochure.contact_requested')"
        " order by n.created_at, n.id"
    )
    return rows


async def asked(db: Any) -> list[Any]:
    return [n for n in await told(db) if n["category"] == "brochure.contact_requested"]


async def send(shared: Any, visitor: str, *types: str, ua: str = WECHAT) -> None:  # noqa: F811
    for type_ in types:
        response = await shared.beacon(type_, visitor_id=visitor, ua=ua)
        assert response.status_code == 204, response.text


async def counts(shared: Any) -> tuple[int, int]:  # noqa: F811
    rm01 = await headers_of(shared.client, "rm01")
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    return listed["opens"], listed["clicks"]


async def test_a_click_on_a_page_left_open_after_unpublishing_tells_the_rm(
    shared: Any,  # noqa: F811
    db: Any,
) -> None:
    await to_customer(shared, db)
    # The customer opens the page while the brochure is live: the RM hears of the open.
    await send(shared, "v-1", "open")
    await shared.consume()
    [opened] = await told(db)
    assert opened["category"] == "brochure.opened"

    # Compliance takes the brochure down; the page already open still has its button.
    unpublished = await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    assert unpublished.status_code == 200, unpublished.text
    assert (await shared.client.get(f"/s/{shared.code}")).status_code == 410
    await send(shared, "v-1", "cta")
    await shared.consume()

    [lead] = await asked(db)
    assert lead["login"] == "rm01"
    assert lead["title"] == "客户请您联系"
    assert lead["body"].startswith("您的客户 张*三 想了解《")
    assert lead["body"].endswith(f"》，请尽快联系{GONE_NOTE}")
    data = json.loads(lead["data"])
    assert (data["action"], data["share_id"]) == ("contact", str(shared.share_id))
    assert data["brochure_live"] is False
    assert lead["push_status"] == "pending"
    # In the RM's notification centre.
    rm01 = await headers_of(shared.client, "rm01")
    listed = (await shared.client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    assert "客户请您联系" in [n["title"] for n in listed]
    assert await counts(shared) == (1, 1)

    # The same dedupe as a live share's: the same visitor again, or another within the half
    # hour, rings nothing more (the share list counts them all).
    await send(shared, "v-1", "cta", "open", "cta")
    await send(shared, "v-2", "open", "cta")
    await shared.consume()
    assert len(await asked(db)) == 1
    assert await counts(shared) == (2, 2)
    await db.execute("update notifications set created_at = created_at - interval '31 minutes'")
    await send(shared, "v-3", "open", "cta")
    await shared.consume()
    assert len(await asked(db)) == 2
    # The opens of the share no longer live told no one.
    assert [n["category"] for n in await told(db)].count("brochure.opened") == 1


async def test_a_click_after_the_window_ended_tells_the_rm_but_opens_and_bots_do_not(
    shared: Any,  # noqa: F811
    db: Any,
) -> None:
    # A share to no one, its brochure past its window: a reader who opens and reads tells no
    # one; a person who asks to be contacted does (as "someone is interested").
    await end_window(db, shared)
    assert (await shared.client.get(f"/s/{shared.code}")).status_code == 410
    await send(shared, "reader", "open", "page_view", "heartbeat")
    # Nor does a bot's click, or a click never seen on a shown page (a script).
    await send(shared, "preview", "open", "cta", ua=SLACK)
    await send(shared, "script", "cta")
    await shared.consume()
    assert await told(db) == []
    assert await counts(shared) == (1, 0)

    await send(shared, "asker", "open", "cta")
    await shared.consume()
    [lead] = await told(db)
    assert lead["category"] == "brochure.contact_requested"
    assert lead["body"].startswith("有人对您分享的《")
    assert lead["body"].endswith(f"》感兴趣，请留意{GONE_NOTE}")
    assert await counts(shared) == (2, 1)

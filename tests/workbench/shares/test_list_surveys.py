"""GET /shares: survey links an RM shared with their customers are among their shares, beside the
brochures, newest first, with whether the customer answered; a delivery's links are no shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.shares.conftest import SHARES, Desk
from tests.workbench.surveys.delivery_data import SURVEYS, publish

pytestmark = pytest.mark.usefixtures("demo_bank")


async def listed(desk: Desk, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = await desk.client.get(SHARES, params=params, headers=headers or desk.rm01)
    assert response.status_code == 200, response.text
    return response.json()


async def share_survey(desk: Desk, survey: uuid.UUID, customer: uuid.UUID, **body: Any) -> Any:
    made = await desk.client.post(SHARES, json={
        "survey_id": str(survey), "customer_id": str(customer), "channel": "wechat", **body,
    }, headers=desk.rm01)  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()


async def test_my_survey_shares_are_listed_with_whether_they_were_answered(desk: Desk, db: Any):
    rating = [{"key": "r", "type": "rating", "text": "满意度"}]
    survey = await publish(db, title="理财体验问卷", questions=rating)
    brochure = await desk.made(customer_id=str(desk.customer))
    shared = await share_survey(desk, survey, desk.customer)
    page = await listed(desk, mine="1")
    assert [i["id"] for i in page["items"]] == [shared["id"], brochure["id"]]
    row, old = page["items"]
    assert {k: row[k] for k in ("code", "url", "poster_png_url", "channel", "customer_id",
                                "brochure_id")} == {k: shared[k] for k in (
        "code", "url", "poster_png_url", "channel", "customer_id", "brochure_id")}  # fmt: skip
    assert (row["survey_id"], row["title"], row["customer"]) == (str(survey), "理财体验问卷",
                                                                 "张*三")  # fmt: skip
    assert (row["answered"], row["answered_at"]) == (False, None)
    assert row["expires_at"] is not None
    assert (row["opens"], row["clicks"]) == (0, 0)
    # A brochure share's row is as it was, the new fields null.
    assert (old["brochure_id"], old["title"], old["survey_id"], old["answered"]) == (
        brochure["brochure_id"], "稳享90天", None, None,
    )  # fmt: skip

    answer = await desk.client.post(row["url"].removeprefix(desk.base_url),
                                    json={"answers": {"r": 5}})  # fmt: skip
    assert answer.status_code == 201
    (row, _) = (await listed(desk, mine="1"))["items"]
    assert row["answered"] is True
    assert row["answered_at"] is not None

    # Their branch head sees it among the subtree's shares; another RM does not.
    bh = await listed(desk, await headers_of(desk.client, "bh.east"))
    assert shared["id"] in [i["id"] for i in bh["items"]]
    assert (await listed(desk, desk.rm02, mine="1"))["items"] == []


async def test_links_a_delivery_sent_are_no_shares_and_pages_mix_both_kinds(desk: Desk, db: Any):
    first, second = await publish(db, title="问卷一"), await publish(db, title="问卷二")
    made = [
        await desk.made(),
        await share_survey(desk, first, desk.customer),
        await desk.made(),
        await share_survey(desk, second, desk.customer, channel="sms"),
    ]
    minutes = [40, 30, 20, 10]  # oldest first
    for share, ago in zip(made, minutes, strict=True):
        at = datetime.now(UTC) - timedelta(minutes=ago)
        if share["brochure_id"]:
            await db.execute("update shares set created_at = $2 where id = $1",
                             uuid.UUID(share["id"]), at)  # fmt: skip
        else:
            await db.execute("update survey_invitations set sent_at = $2 where id = $1",
                             uuid.UUID(share["id"]), at)  # fmt: skip
    third = await publish(db, title="问卷三")
    sent = await desk.client.post(f"{SURVEYS}/{third}/deliveries",
                                  json={"customer_ids": [str(desk.customer)]},
                                  headers=desk.rm01)  # fmt: skip
    assert sent.json()["done"] == 1

    seen, cursor = [], None
    while True:
        page = await listed(desk, mine="1", limit=1, **({"cursor": cursor} if cursor else {}))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i["id"] for i in seen] == [m["id"] for m in reversed(made)]
    assert [i["channel"] for i in seen] == ["sms", "wechat", "wechat", "wechat"]

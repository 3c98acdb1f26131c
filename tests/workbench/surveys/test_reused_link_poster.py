"""The poster of a survey link a share answers with: sharing a survey with a customer who holds
the RM's own open link from a delivery or a task answers that link, with its `poster_png_url`.
That poster answered 404 (only links the RM shared directly had one), so the RM had a link to
show and no poster of it. It is the RM's while the link is open and the customer theirs; other
RMs, another RM's delivery and a customer moved on still get 404. So is the poster of a link
the RM shared themselves: its QR code is the customer's open link."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from PIL import Image

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import TASKS, create_template, field, issue_tasks
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, user

pytestmark = pytest.mark.usefixtures("demo_bank")
SHARES = "/api/v1/shares"
RATING = [{"key": "r", "type": "rating", "text": "满意度"}]


def poster_path(invitation_id: str) -> str:
    return f"{SHARES}/{invitation_id}/poster.png"


async def _deliver(client: Any, headers: dict[str, str], survey: uuid.UUID,
                   customer: uuid.UUID) -> dict[str, Any]:  # fmt: skip
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]}, headers=headers)  # fmt: skip
    assert sent.status_code == 201, sent.text
    [recipient] = sent.json()["recipients"]
    assert recipient["status"] == "sent", recipient
    return recipient


async def _share(client: Any, headers: dict[str, str], survey: uuid.UUID,
                 customer: uuid.UUID) -> dict[str, Any]:  # fmt: skip
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "qr"}
    shared = await client.post(SHARES, json=body, headers=headers)
    assert shared.status_code == 200, shared.text
    share: dict[str, Any] = shared.json()
    return share


async def _poster_of(client: Any, share: dict[str, Any], headers: dict[str, str]) -> Any:
    """GET the poster at the share answer's own `poster_png_url`."""
    return await client.get("/" + share["poster_png_url"].split("/", 3)[3], headers=headers)


def _is_phone_poster(poster: Any) -> bool:
    with Image.open(io.BytesIO(poster.content)) as image:
        return poster.headers["content-type"] == "image/png" and image.size == (750, 1334)


async def test_the_poster_of_the_rms_delivered_link_is_theirs(make_client, db, tmp_path):
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, questions=RATING, title="理财体验问卷")
    (customer,) = await add_customers(db, 1)
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    delivered = await _deliver(client, rm01, survey, customer)
    share = await _share(client, rm01, survey, customer)
    assert share["id"] == delivered["invitation_id"]

    poster = await _poster_of(client, share, rm01)
    assert poster.status_code == 200, poster.text
    assert _is_phone_poster(poster)
    assert (await _poster_of(client, share, rm02)).status_code == 404


async def test_the_poster_of_the_link_a_task_of_the_rm_sent_is_theirs(make_client, db, tmp_path):
    client = await make_client(blob_dir=str(tmp_path))
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("notes", "text"), name="上门拜访")
    survey = await publish(db, questions=RATING, after_template_id=uuid.UUID(template["id"]))
    (customer,) = await add_customers(db, 1)
    [(login, task_id, _)] = await issue_tasks(client, db, admin, template["id"],
                                             customer_ids=[customer])  # fmt: skip
    rm = await headers_of(client, login)
    assert (await client.post(f"{TASKS}/{task_id}/start", headers=rm)).status_code == 200
    done = await client.post(f"{TASKS}/{task_id}/submit", json={"values": {}}, headers=rm)
    assert done.status_code == 200, done.text
    task_link = await db.fetchval("select id from survey_invitations where task_id = $1", task_id)

    share = await _share(client, rm, survey, customer)
    assert share["id"] == str(task_link)
    poster = await _poster_of(client, share, rm)
    assert poster.status_code == 200, poster.text
    assert _is_phone_poster(poster)
    other = "rm02" if login != "rm02" else "rm01"
    assert (await _poster_of(client, share, await headers_of(client, other))).status_code == 404


async def test_a_delivered_link_out_of_the_rms_reach_has_no_poster_for_them(
    make_client, db, tmp_path, settings
):
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, questions=RATING)
    moved, answered = await add_customers(db, 2, owner="rm02", prefix="M")
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    theirs = await _deliver(client, rm02, survey, moved)
    assert (await client.get(poster_path(theirs["invitation_id"]), headers=rm02)).status_code == 200
    # rm02's delivery is not rm01's to show, even once the customer is rm01's.
    await db.execute("update customers set owner_id = $2 where id = $1", moved, user("rm01"))
    for rm in (rm01, rm02):  # nor rm02's, the customer no longer theirs
        gone = await client.get(poster_path(theirs["invitation_id"]), headers=rm)
        assert gone.status_code == 404, gone.text
    # An answered link is no open link: no poster of it (a share makes a new link).
    link = await _deliver(client, rm02, survey, answered)
    path = link["url"].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 5}})).status_code == 201
    assert (await client.get(poster_path(link["invitation_id"]), headers=rm02)).status_code == 404


async def test_a_shared_link_has_no_poster_once_the_customer_moved_on_or_answered(
    make_client, db, tmp_path, settings
):
    # A feed moved the customer to rm02: rm01 still got the poster of the link they had shared
    # (200, its QR the customer's open link), and so after the customer answered it.
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, questions=RATING)
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"PS-{n}", name="王芳", owner="rm01", seq=n) for n in (1, 2)]
    await feed(client, admin, "customers", rows)
    ids = await customer_ids(db, ["PS-1", "PS-2"])
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    heads = {h: await headers_of(client, h) for h in ("bh.east", "bh.west")}
    share = (await client.post(SHARES, json={"survey_id": str(survey), "channel": "qr",
                                             "customer_id": str(ids["PS-1"])},
                               headers=rm01)).json()  # fmt: skip
    for reader in (rm01, heads["bh.east"]):
        assert (await _poster_of(client, share, reader)).status_code == 200

    await feed(client, admin, "customers", [{**rows[0], "owner_login": "rm02"}])
    for rm in (rm01, rm02):  # not rm01's customer now; not rm02's link
        assert (await _poster_of(client, share, rm)).status_code == 404
    # The branch head still sees the customer (an RM of their branch holds them): still theirs.
    assert (await _poster_of(client, share, heads["bh.east"])).status_code == 200
    await feed(client, admin, "customers", [{**rows[0], "owner_login": "rm05"}])
    for head in heads.values():  # moved to the West branch: the East head sees them no more
        assert (await _poster_of(client, share, head)).status_code == 404

    # An answered link is no open link: no poster of it, for the RM nor their branch head.
    answered = (await client.post(SHARES, json={"survey_id": str(survey), "channel": "qr",
                                                "customer_id": str(ids["PS-2"])},
                                  headers=rm01)).json()  # fmt: skip
    path = answered["url"].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 5}})).status_code == 201
    for reader in (rm01, heads["bh.east"]):
        assert (await _poster_of(client, answered, reader)).status_code == 404

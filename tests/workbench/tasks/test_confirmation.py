"""Customer QR confirmation: the RM's single-use link and QR code, the customer's zh-CN page that
opening never consumes, one confirm that completes the task, and every way a link can be refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import segno
from PIL import Image

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import TASKS, create_template, field, issue_tasks, user
from workbench.security.tokens import Keyring, LinkKind

pytestmark = pytest.mark.usefixtures("demo_bank")

NAME = "张小三"
MASKED = "张*三"
BEIJING = {"lat": 39.9042, "lng": 116.4074}
NEARBY = {"lat": 39.9045, "lng": 116.4077}  # about 40 m away
SHANGHAI = {"lat": 31.2304, "lng": 121.4737}  # about 1,070 km away


@dataclass
class Visit:
    client: Any
    db: Any
    settings: Any
    admin: dict[str, str]
    rm01: dict[str, str]
    template: str
    customer: uuid.UUID
    task: uuid.UUID  # rm01's task for the customer, awaiting confirmation

    async def new_task(self, *, submit: bool = True) -> uuid.UUID:
        [(_, task_id, _)] = await issue_tasks(
            self.client, self.db, self.admin, self.template, customer_ids=[self.customer],
            title="理财回访",
        )  # fmt: skip
        steps = ["start", "submit"] if submit else []
        for step in steps:
            body = {"values": {"notes": "visited"}} if step == "submit" else None
            response = await self.client.post(
                f"{TASKS}/{task_id}/{step}", json=body, headers=self.rm01
            )
            assert response.status_code == 200, response.text
        return task_id

    async def request(
        self, task_id: uuid.UUID | None = None, location: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """Ask for a confirmation (asserting 201): {url, qr_png_url, expires_at, path, token}."""
        body = {"location": location} if location else None
        response = await self.client.post(
            f"{TASKS}/{task_id or self.task}/confirmation", json=body, headers=self.rm01
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        token = answer["url"].split("/c/", 1)[1]
        return {**answer, "path": f"/c/{token}", "token": token}

    async def state(self, task_id: uuid.UUID | None = None) -> dict[str, Any]:
        """Everything a confirmation may change."""
        task_id = task_id or self.task
        task = await self.db.fetchrow(
            "select status, done_at, updated_at from tasks where id = $1", task_id
        )
        confirmations = await self.db.fetch(
            "select * from task_confirmations where task_id = $1 order by id", task_id
        )
        return {
            "task": dict(task),
            "confirmations": [dict(r) for r in confirmations],
            "notifications": await self.db.fetchval("select count(*) from notifications"),
            "timeline": await self.db.fetchval("select count(*) from customer_timeline"),
            "reminders": await self.db.fetch(
                "select kind, offset_minutes, status from task_reminders where task_id = $1"
                " order by kind, offset_minutes",
                task_id,
            ),
        }


@pytest.fixture
async def visit(client, db, settings) -> Visit:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("C-1", name=NAME, owner="rm01", seq=1)])
    customer = (await customer_ids(db))["C-1"]
    template = await create_template(
        client,
        admin,
        field("notes", "text"),
        name="Visit",
        requires_customer_confirmation=True,
        sla_hours=48,
        reminders=[{"minutes_before_due": 60}],
    )
    rm01 = await headers_of(client, "rm01")
    v = Visit(client, db, settings, admin, rm01, template["id"], customer, uuid.uuid4())
    v.task = await v.new_task()
    return v


def _assert_page(response: Any, status: int, *texts: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert 'lang="zh-CN"' in response.text
    for text in texts:
        assert text in response.text
    if status != 200:
        assert "<form" not in response.text
    assert NAME not in response.text


# ---- asking for a confirmation ---------------------------------------------------------------


async def test_only_a_task_awaiting_confirmation_gets_a_link(visit):
    v = visit
    pending = await v.new_task(submit=False)
    started = await v.new_task(submit=False)
    assert (await v.client.post(f"{TASKS}/{started}/start", headers=v.rm01)).status_code == 200
    for task_id, status in ((pending, "pending"), (started, "in_progress")):
        response = await v.client.post(f"{TASKS}/{task_id}/confirmation", headers=v.rm01)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "task.illegal_transition"
        assert response.json()["current_status"] == status

    # A task without the confirmation flag is done at once and never gets one.
    plain = await create_template(v.client, v.admin, field("notes", "text"), name="Plain")
    [(_, done, _)] = await issue_tasks(
        v.client, v.db, v.admin, plain["id"], customer_ids=[v.customer]
    )
    for step in ("start", "submit"):
        body = {"values": {}} if step == "submit" else None
        assert (
            await v.client.post(f"{TASKS}/{done}/{step}", json=body, headers=v.rm01)
        ).status_code == 200
    response = await v.client.post(f"{TASKS}/{done}/confirmation", headers=v.rm01)
    assert response.status_code == 409
    assert response.json()["current_status"] == "done"
    assert await v.db.fetchval("select count(*) from task_confirmations") == 0


async def test_request_gives_a_url_and_a_png_qr_code(visit):
    v = visit
    before = datetime.now(UTC)
    answer = await v.request()
    base = v.settings.public_base_url.rstrip("/")
    assert answer["url"].startswith(f"{base}/c/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", answer["token"])  # 16 random bytes, base64url
    expires_at = datetime.fromisoformat(answer["expires_at"])
    expected = before + timedelta(seconds=v.settings.confirmation_ttl_seconds)
    assert abs((expires_at - expected).total_seconds()) < 60
    row = await v.db.fetchrow("select task_id, created_by, used_at from task_confirmations")
    assert (row["task_id"], row["created_by"], row["used_at"]) == (v.task, user("rm01"), None)

    qr = await v.client.get(answer["qr_png_url"], headers=v.rm01)
    assert qr.status_code == 200, qr.text
    assert qr.headers["content-type"].startswith("image/png")
    assert qr.content.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(qr.content))
    img.load()
    assert img.format == "PNG"
    assert img.width == img.height >= 100
    colours = img.convert("L").getcolors()
    assert colours is not None
    assert {c for _, c in colours} == {0, 255}  # black modules on white
    # The picture is exactly the QR code of the link the RM got ...
    expected_png = io.BytesIO()
    segno.make(answer["url"], error="m").save(expected_png, kind="png", scale=8)
    expected_img = Image.open(expected_png).convert("L")
    assert img.convert("L").tobytes() == expected_img.tobytes()
    # ... and a coarse one: 8-pixel modules, 4 modules of quiet zone on each side, at most
    # version 4 (33 x 33 modules; the signed-token link of before needed version 16, 81 x 81).
    modules = img.width // 8 - 2 * 4
    assert modules <= 33, modules
    assert segno.make(answer["url"], error="m").version <= 4


async def test_each_link_is_new_and_only_its_hash_is_stored(visit):
    v = visit
    first, second = await v.request(), await v.request()
    assert first["token"] != second["token"]
    assert first["qr_png_url"] != second["qr_png_url"]
    rows = await v.db.fetch("select * from task_confirmations order by created_at, id")
    assert len(rows) == 2
    for answer, row in zip((first, second), rows, strict=True):
        raw = base64.urlsafe_b64decode(answer["token"] + "==")
        assert bytes(row["token_hash"]) == hashlib.sha256(raw).digest()
        stored = repr(dict(row))
        assert answer["token"] not in stored
        assert raw.hex() not in stored
        assert str(uuid.UUID(bytes=raw)) not in stored
    # The newer link replaces the older one (a QR code shown to the wrong person stops there);
    # the newer confirms the visit, then reads "already confirmed".
    _assert_page(await v.client.get(first["path"]), 410, "被新的二维码取代")
    _assert_page(await v.client.post(second["path"], data={}), 200, "确认成功")
    _assert_page(await v.client.get(second["path"]), 410, "已确认")


async def test_a_qr_code_of_another_tasks_confirmation_is_404(visit):
    v = visit
    answer = await v.request()
    confirmation_id = answer["qr_png_url"].split("/confirmations/")[1].split("/")[0]
    # The QR code's URL names the confirmation row, never the link token.
    assert answer["token"] not in answer["qr_png_url"]
    assert (
        await v.db.fetchval(
            "select count(*) from task_confirmations where id = $1", uuid.UUID(confirmation_id)
        )
        == 1
    )
    other = await v.new_task()
    response = await v.client.get(
        f"{TASKS}/{other}/confirmations/{confirmation_id}/qr.png", headers=v.rm01
    )
    assert response.status_code == 404
    unknown = await v.client.get(
        f"{TASKS}/{v.task}/confirmations/{uuid.uuid4()}/qr.png", headers=v.rm01
    )
    assert unknown.status_code == 404


# ---- the customer's page ---------------------------------------------------------------------


async def test_page_shows_a_masked_summary_and_opening_it_changes_nothing(visit):
    v = visit
    answer = await v.request(location=BEIJING)
    before = await v.state()
    for _ in range(5):  # the customer, a chat app's preview, the customer again ...
        page = await v.client.get(answer["path"])
        _assert_page(page, 200, "拜访确认", MASKED, '<form method="post"')
        assert "您的客户经理：张伟" in page.text  # rm01, the RM of the visit
        assert "客户经理 张伟 今天与您会面" in page.text  # what is confirmed: the visit, the day
        assert "拜访日期：" in page.text
        assert "理财回访" not in page.text  # the task's title is the RM's, not the customer's
        assert "小三" not in page.text
    assert await v.state() == before
    assert before["confirmations"][0]["used_at"] is None
    assert before["task"]["status"] == "awaiting_confirmation"


async def test_every_page_names_the_bank(make_client, db, settings):
    client = await make_client(bank_name="长江商业银行")
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("C-1", name=NAME, owner="rm01", seq=1)])
    customer = (await customer_ids(db))["C-1"]
    template = await create_template(
        client, admin, field("notes", "text"), requires_customer_confirmation=True
    )
    rm01 = await headers_of(client, "rm01")
    v = Visit(client, db, settings, admin, rm01, template["id"], customer, uuid.uuid4())
    v.task = await v.new_task()
    answer = await v.request()
    v.task = await v.new_task()  # a link of its own (a newer one of a task replaces the older)
    expired = await v.request()
    await db.execute(
        "update task_confirmations set expires_at = now() - interval '1 second'"
        " where token_hash = $1",
        hashlib.sha256(base64.urlsafe_b64decode(expired["token"] + "==")).digest(),
    )
    bank_header = '<header><div class="bank">长江商业银行</div></header>'
    opened = await client.get(answer["path"])
    _assert_page(opened, 200, bank_header, "您的客户经理：张伟", MASKED)
    assert "<title>拜访确认 - 长江商业银行</title>" in opened.text
    _assert_page(await client.get(expired["path"]), 410, bank_header, "已过期")
    _assert_page(await client.get("/c/not-a-link"), 404, bank_header, "链接无效")
    _assert_page(await client.post(answer["path"], data={}), 200, bank_header, "确认成功")
    _assert_page(await client.get(answer["path"]), 410, bank_header, "已确认")
    assert "示例银行" not in opened.text


async def test_confirm_completes_the_task_once_and_notifies_the_rm(visit):
    v = visit
    answer = await v.request()
    confirmed = await v.client.post(answer["path"], data={})
    _assert_page(confirmed, 200, "确认成功")

    task = await v.client.get(f"{TASKS}/{v.task}", headers=v.rm01)
    assert task.json()["status"] == "done"
    assert task.json()["done_at"] is not None
    row = await v.db.fetchrow("select used_at, far_away, distance_m from task_confirmations")
    assert row["used_at"] is not None
    assert (row["far_away"], row["distance_m"]) == (None, None)  # no locations given
    reminders = await v.db.fetch("select status from task_reminders where task_id = $1", v.task)
    assert [r["status"] for r in reminders] == ["cancelled", "cancelled"]

    listed = await v.client.get("/api/v1/notifications", headers=v.rm01)
    items = listed.json()["items"]
    assert [n["category"] for n in items] == ["task.confirmed"]
    assert items[0]["data"]["task_id"] == str(v.task)
    assert items[0]["data"]["far_away"] is False
    assert NAME not in items[0]["title"] + items[0]["body"]
    assert [r["user_id"] for r in await v.db.fetch("select user_id from notifications")] == [
        user("rm01")
    ]
    timeline = await v.db.fetch("select customer_id, kind, source_id from customer_timeline")
    assert [dict(r) for r in timeline] == [
        {"customer_id": v.customer, "kind": "visit.confirmed", "source_id": str(v.task)}
    ]

    after = await v.state()
    again = await v.client.post(answer["path"], data={"lat": "39.9", "lng": "116.4"})
    _assert_page(again, 410, "已确认")
    page = await v.client.get(answer["path"])
    _assert_page(page, 410, "已确认")
    assert await v.state() == after


async def test_an_expired_link_shows_expired_and_changes_nothing(visit):
    v = visit
    answer = await v.request()
    await v.db.execute("update task_confirmations set expires_at = now() - interval '1 second'")
    before = await v.state()
    _assert_page(await v.client.get(answer["path"]), 410, "已过期")
    _assert_page(await v.client.post(answer["path"], data={}), 410, "已过期")
    assert await v.state() == before
    assert before["task"]["status"] == "awaiting_confirmation"
    assert before["notifications"] == before["timeline"] == 0
    # A fresh link works.
    fresh = await v.request()
    _assert_page(await v.client.post(fresh["path"], data={}), 200, "确认成功")


def _changed(token: str, at: int) -> str:
    flipped = "A" if token[at] != "A" else "B"
    return f"{token[:at]}{flipped}{token[at + 1 :]}"


def _other_spelling(token: str) -> str:
    """The same 16 bytes with other unused low bits in the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    return token[:-1] + alphabet[last ^ 1]


async def test_forged_truncated_and_foreign_tokens_show_the_invalid_page(visit):
    v = visit
    answer = await v.request()
    token = answer["token"]
    confirmation_id = await v.db.fetchval("select id from task_confirmations")
    keyring = Keyring(v.settings.jwt_keys, issuer=v.settings.jwt_issuer)
    # A link of the kind issued before the upgrade (a signed token naming the confirmation row).
    signed, _ = keyring.issue_link(
        LinkKind.CONFIRMATION, subject=str(v.task), ttl_seconds=600, token_id=str(confirmation_id)
    )
    bad_tokens = {
        "one character changed": _changed(token, 10),
        "last character changed": _changed(token, 21),
        "another spelling of the same bytes": _other_spelling(token),
        "truncated": token[:-1],
        "half": token[:11],
        "one character more": token + "A",
        "padded": token + "==",
        "a character outside base64url": token[:-1] + "+",
        "random token": base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode(),
        "the row id": str(confirmation_id),
        "the row id as hex": confirmation_id.hex,
        "the QR path segment": answer["qr_png_url"].split("/confirmations/")[1].split("/")[0],
        "random text": "this-is-not-a-token",
        "signed link of before": signed,
        "access token": v.rm01["Authorization"].removeprefix("Bearer "),
    }
    before = await v.state()
    for name, bad in bad_tokens.items():
        page = await v.client.get(f"/c/{bad}")
        _assert_page(page, 404, "链接无效")
        posted = await v.client.post(f"/c/{bad}", data={})
        assert posted.status_code == 404, (name, posted.text)
        assert "链接无效" in posted.text, name
    assert await v.state() == before
    # The genuine link still works afterwards.
    _assert_page(await v.client.get(answer["path"]), 200, MASKED)
    _assert_page(await v.client.post(answer["path"], data={}), 200, "确认成功")


async def test_a_cancelled_tasks_link_needs_no_confirmation(visit):
    v = visit
    answer = await v.request()
    cancelled = await v.client.post(f"{TASKS}/{v.task}/cancel", headers=v.rm01)
    assert cancelled.status_code == 200, cancelled.text
    before = await v.state()
    _assert_page(await v.client.get(answer["path"]), 410, "无需确认")
    _assert_page(await v.client.post(answer["path"], data={}), 410, "无需确认")
    assert await v.state() == before
    assert before["task"]["status"] == "cancelled"
    assert before["notifications"] == before["timeline"] == 0


# ---- locations -------------------------------------------------------------------------------


async def _notification(v: Visit) -> dict[str, Any]:
    items = (await v.client.get("/api/v1/notifications", headers=v.rm01)).json()["items"]
    assert len(items) == 1
    item: dict[str, Any] = items[0]
    return item


async def test_far_apart_locations_are_flagged(visit):
    v = visit
    answer = await v.request(location=BEIJING)
    row = await v.db.fetchrow("select rm_lat, rm_lng from task_confirmations")
    assert (row["rm_lat"], row["rm_lng"]) == (BEIJING["lat"], BEIJING["lng"])
    posted = await v.client.post(
        answer["path"], data={"lat": str(SHANGHAI["lat"]), "lng": str(SHANGHAI["lng"])}
    )
    _assert_page(posted, 200, "确认成功")
    row = await v.db.fetchrow(
        "select customer_lat, customer_lng, distance_m, far_away from task_confirmations"
    )
    assert (row["customer_lat"], row["customer_lng"]) == (SHANGHAI["lat"], SHANGHAI["lng"])
    assert row["far_away"] is True
    assert 1_000_000 < row["distance_m"] < 1_150_000
    note = await _notification(v)
    assert note["data"]["far_away"] is True
    assert "相距较远" in note["body"]


async def test_near_locations_are_not_flagged(visit):
    v = visit
    answer = await v.request(location=BEIJING)
    posted = await v.client.post(
        answer["path"], data={"lat": str(NEARBY["lat"]), "lng": str(NEARBY["lng"])}
    )
    _assert_page(posted, 200, "确认成功")
    row = await v.db.fetchrow("select distance_m, far_away from task_confirmations")
    assert row["far_away"] is False
    assert 0 < row["distance_m"] < v.settings.confirmation_radius_m
    note = await _notification(v)
    assert note["data"]["far_away"] is False
    assert "相距较远" not in note["body"]


async def test_the_radius_comes_from_the_settings(make_client, db, settings):
    client = await make_client(confirmation_radius_m=10)
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("C-1", name=NAME, owner="rm01", seq=1)])
    customer = (await customer_ids(db))["C-1"]
    template = await create_template(
        client, admin, field("notes", "text"), requires_customer_confirmation=True
    )
    rm01 = await headers_of(client, "rm01")
    v = Visit(client, db, settings, admin, rm01, template["id"], customer, uuid.uuid4())
    v.task = await v.new_task()
    answer = await v.request(location=BEIJING)
    await client.post(answer["path"], data={"lat": str(NEARBY["lat"]), "lng": str(NEARBY["lng"])})
    row = await db.fetchrow("select distance_m, far_away from task_confirmations")
    assert 10 < row["distance_m"] < 100
    assert row["far_away"] is True


@pytest.mark.parametrize(
    ("rm_location", "customer_form"),
    [
        (None, {}),
        (BEIJING, {}),
        (None, {"lat": str(NEARBY["lat"]), "lng": str(NEARBY["lng"])}),
        (BEIJING, {"lat": "", "lng": ""}),
        (BEIJING, {"lat": "north", "lng": "east"}),
        (BEIJING, {"lat": "95", "lng": "116.4"}),
        (BEIJING, {"lat": "39.9"}),
    ],
    ids=["none", "rm only", "customer only", "empty", "words", "out of range", "lat only"],
)
async def test_without_both_locations_nothing_is_flagged(visit, rm_location, customer_form):
    v = visit
    answer = await v.request(location=rm_location)
    posted = await v.client.post(answer["path"], data=customer_form)
    _assert_page(posted, 200, "确认成功")
    row = await v.db.fetchrow("select distance_m, far_away from task_confirmations")
    assert (row["distance_m"], row["far_away"]) == (None, None)
    note = await _notification(v)
    assert note["data"]["far_away"] is False
    assert "相距较远" not in note["body"]


async def test_a_bad_rm_location_is_refused(visit):
    v = visit
    response = await v.client.post(
        f"{TASKS}/{v.task}/confirmation",
        json={"location": {"lat": 91, "lng": 0}},
        headers=v.rm01,
    )
    assert response.status_code == 422, response.text
    assert await v.db.fetchval("select count(*) from task_confirmations") == 0


async def test_two_confirms_at_once_complete_the_task_once(visit):
    v = visit
    answer = await v.request()
    first, second = await asyncio.gather(
        v.client.post(answer["path"], data={}), v.client.post(answer["path"], data={})
    )
    assert sorted([first.status_code, second.status_code]) == [200, 410]
    assert await v.db.fetchval("select count(*) from notifications") == 1
    assert await v.db.fetchval("select count(*) from customer_timeline") == 1
    assert await v.db.fetchval("select status from tasks where id = $1", v.task) == "done"


async def test_an_expired_tasks_link_needs_no_confirmation(visit):
    v = visit
    answer = await v.request()
    await v.db.execute(
        "update tasks set status = 'expired', expired_at = now() where id = $1", v.task
    )
    before = await v.state()
    _assert_page(await v.client.get(answer["path"]), 410, "无需确认")
    _assert_page(await v.client.post(answer["path"], data={}), 410, "无需确认")
    assert await v.state() == before


async def test_the_result_is_its_own_page_so_a_reload_never_posts_again(visit):
    # Post/Redirect/Get: the confirm answers 303 to /c/<token>/done (its body says the same,
    # for a client that does not follow); the result page is no-store and shows nothing the
    # used link's own page does not.
    v = visit
    answer = await v.request()
    done = f"{answer['path']}/done"
    early = await v.client.get(done, follow_redirects=False)
    assert early.status_code == 303
    assert early.headers["location"] == answer["path"]  # nothing confirmed yet: to the page
    posted = await v.client.post(answer["path"], data={}, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == done
    assert "确认成功" in posted.text
    before = await v.state()
    for _ in range(3):  # reloads, the back button, someone else opening it later
        _assert_page(await v.client.get(done), 200, "确认成功")
    page = await v.client.get(done)
    assert "张伟" not in page.text
    assert MASKED not in page.text
    assert await v.state() == before
    assert (await v.client.get(f"/c/{'x' * 22}/done")).status_code == 404


async def test_head_answers_like_get_and_changes_nothing(visit):
    v = visit
    answer = await v.request()
    before = await v.state()
    head = await v.client.head(answer["path"])
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["cache-control"] == "no-store"
    assert (
        await v.client.head(f"{answer['path']}/done", follow_redirects=False)
    ).status_code == 303
    assert (await v.client.head("/c/not-a-link")).status_code == 404
    assert await v.state() == before


async def test_the_location_is_asked_for_only_when_the_customer_chooses(visit):
    v = visit
    answer = await v.request()
    html = (await v.client.get(answer["path"])).text
    script = html.split("<script", 1)[1]
    # The request is made inside the box's change handler, never as the page loads.
    assert script.index("getCurrentPosition") > script.index("addEventListener('change'")
    assert '<input type="checkbox" id="locate">' in html
    assert "帮助银行核实本次拜访确实发生；不共享也可以确认" in html
    assert '<div id="locate-row" class="locate" hidden>' in html  # shown by the script only

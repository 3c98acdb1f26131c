"""Real-name verification: the RM's invitation, and the customer's public zh-CN page behind it."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import bearer, login
from workbench.customers.personal_data import id_check_digit
from workbench.ids import uuid5_for, uuid7
from workbench.security.tokens import Keyring, LinkKind
from workbench.settings import JwtKey

pytestmark = pytest.mark.usefixtures("demo_bank")

NAME = "张小三"
OTHER_NAME = "李四"
PHONE = "13800138000"
OTHER_PHONE = "13911112222"


def _id_number(region: str, *, check: str | None = None) -> str:
    """A valid resident ID number; with `check`, the first one whose check character is that."""
    for n in range(1000):
        first17 = f"{region}19850307{n:03d}"
        digit = id_check_digit(first17)
        if check is None or digit == check:
            return first17 + digit
    raise AssertionError("no such ID number")


ID_NUMBER = _id_number("110101", check="X")  # ends in X: the customer may type a lower-case x
OTHER_ID_NUMBER = _id_number("310104")
RIGHT = {"name": NAME, "id_number": ID_NUMBER.lower(), "phone": "+86 138 0013 8000"}


async def _seed_customers(client: Any, db: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """Two customers of rm01 through the real feed: (the one we verify, another one)."""
    admin = await login(client, "admin", device_no=90)
    rows = [
        {
            "external_id": "CUST-1",
            "name": NAME,
            "id_number": ID_NUMBER,
            "phone": PHONE,
            "owner_login": "rm01",
            "risk_level": "C3",
        },
        {
            "external_id": "CUST-2",
            "name": OTHER_NAME,
            "id_number": OTHER_ID_NUMBER,
            "phone": OTHER_PHONE,
            "owner_login": "rm01",
            "risk_level": "C2",
        },
    ]
    response = await client.post(
        "/api/v1/integration/customers:bulk-upsert",
        json={"customers": rows},
        headers=bearer(admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    ids = {
        r["external_id"]: r["id"] for r in await db.fetch("select external_id, id from customers")
    }
    return ids["CUST-1"], ids["CUST-2"]


@pytest.fixture
async def rm01(client):
    return await login(client, "rm01", device_no=1)


@pytest.fixture
async def customers(client, db):
    return await _seed_customers(client, db)


@pytest.fixture
async def invite(client, db, rm01, customers) -> dict[str, Any]:
    """An invitation for the first customer: {url, expires_at, path, token, id}."""
    customer_id = customers[0]
    response = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(rm01)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["url"].split("/v/", 1)[1]
    invite_id = await db.fetchval(
        "select id from verification_invites where customer_id = $1", customer_id
    )
    return {**body, "path": f"/v/{token}", "token": token, "id": invite_id}


async def _state(db, customer_id: uuid.UUID) -> dict[str, Any]:
    """Everything the verification flow may change, to compare before and after."""
    invites = await db.fetch(
        "select id, attempts, locked_at, completed_at, expires_at from verification_invites"
        " where customer_id = $1 order by id",
        customer_id,
    )
    return {
        "verified_at": await db.fetchval(
            "select verified_at from customers where id = $1", customer_id
        ),
        "invites": [dict(r) for r in invites],
        "timeline": await db.fetchval(
            "select count(*) from customer_timeline where customer_id = $1", customer_id
        ),
        "notifications": await db.fetchval("select count(*) from notifications"),
    }


def _assert_security_headers(response: Any) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def _assert_invalid_page(response: Any) -> None:
    assert response.status_code == 404, response.text
    _assert_security_headers(response)
    assert 'lang="zh-CN"' in response.text
    assert "链接无效" in response.text
    assert "<form" not in response.text


# ---- the RM's invitation ---------------------------------------------------------------------


async def test_owner_creates_invite_others_cannot(client, settings, db, rm01, customers):
    customer_id = customers[0]
    before = datetime.now(UTC)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(rm01)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    base = settings.public_base_url.rstrip("/")
    assert body["url"].startswith(f"{base}/v/")
    assert len(body["url"]) > len(f"{base}/v/") + 20
    expires_at = datetime.fromisoformat(body["expires_at"])
    expected = before + timedelta(seconds=settings.verification_ttl_seconds)
    assert abs((expires_at - expected).total_seconds()) < 60
    row = await db.fetchrow(
        "select created_by, attempts, locked_at, completed_at from verification_invites"
        " where customer_id = $1",
        customer_id,
    )
    assert row["created_by"] == uuid5_for("user:rm01")
    assert (row["attempts"], row["locked_at"], row["completed_at"]) == (0, None, None)

    # Another RM, even of the same team, does not see the customer at all.
    rm02 = await login(client, "rm02", device_no=2)
    other = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(rm02)
    )
    assert other.status_code == 404
    assert other.json()["code"] == "customer.not_found"
    # A branch head sees the customer but only the owning RM invites.
    head = await login(client, "bh.east", device_no=3)
    refused = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(head)
    )
    assert refused.status_code == 403
    # An unknown customer is a 404 as well.
    unknown = await client.post(
        f"/api/v1/customers/{uuid.uuid4()}/verification-invites", headers=bearer(rm01)
    )
    assert unknown.status_code == 404
    assert await db.fetchval("select count(*) from verification_invites") == 1


async def test_invite_ttl_follows_settings(make_client, db):
    client = await make_client(verification_ttl_seconds=600)
    customer_id, _ = await _seed_customers(client, db)
    rm01 = await login(client, "rm01")
    response = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(rm01)
    )
    assert response.status_code == 201
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert abs((expires_at - datetime.now(UTC)).total_seconds() - 600) < 60


# ---- opening the page ------------------------------------------------------------------------


async def test_page_is_a_zh_cn_form_and_opening_changes_nothing(client, db, customers, invite):
    before = await _state(db, customers[0])
    for _ in range(3):  # the customer, a chat app's link preview, the customer again
        response = await client.get(invite["path"])
        assert response.status_code == 200, response.text
        _assert_security_headers(response)
        html = response.text
        assert 'lang="zh-CN"' in html
        assert '<form method="post"' in html
        for field in ("name", "id_number", "phone"):
            assert f'name="{field}"' in html
        assert "实名认证" in html
        # Who asks: the bank (the default name of the demo) and the RM who sent the link.
        assert '<header><div class="bank">示例银行</div></header>' in html
        assert "您的客户经理：张伟" in html  # rm01
        # The page never shows the customer's data, not even masked.
        for secret in (NAME, PHONE[-4:], ID_NUMBER[-4:]):
            assert secret not in html
    after = await _state(db, customers[0])
    assert after == before
    assert after["invites"][0]["attempts"] == 0
    assert after["invites"][0]["completed_at"] is None
    assert after["verified_at"] is None


async def test_every_page_names_the_bank_and_the_form_names_the_rm(make_client, db):
    client = await make_client(bank_name="长江商业银行")
    customer_id, _ = await _seed_customers(client, db)
    rm01 = await login(client, "rm01")

    async def new_path() -> str:
        response = await client.post(
            f"/api/v1/customers/{customer_id}/verification-invites", headers=bearer(rm01)
        )
        assert response.status_code == 201, response.text
        return "/v/" + response.json()["url"].split("/v/", 1)[1]

    header = '<header><div class="bank">长江商业银行</div></header>'
    path = await new_path()
    pages = {
        "form": (await client.get(path), 200),
        "wrong answer": (await client.post(path, data=WRONG_ANSWERS[0]), 200),  # the form again
    }
    for answers in WRONG_ANSWERS[1:]:
        await client.post(path, data=answers)
    pages["locked"] = (await client.get(path), 410)
    pages["invalid"] = (await client.get("/v/not-a-link"), 404)
    expired = await new_path()
    await db.execute("update verification_invites set expires_at = now() - interval '1 minute'")
    pages["expired"] = (await client.get(expired), 410)
    fresh = await new_path()
    pages["verified"] = (await client.post(fresh, data=RIGHT), 200)
    pages["used"] = (await client.get(fresh), 410)
    for name, (response, status) in pages.items():
        assert response.status_code == status, (name, response.text)
        assert header in response.text, name
        assert " - 长江商业银行</title>" in response.text, name
        assert "示例银行" not in response.text, name
        assert ("您的客户经理：张伟" in response.text) == (name in ("form", "wrong answer")), name


# ---- right answers ---------------------------------------------------------------------------


async def test_right_answers_verify_the_customer_and_tell_the_rm(
    client, db, rm01, customers, invite
):
    customer_id = customers[0]
    response = await client.post(invite["path"], data=RIGHT)
    assert response.status_code == 200, response.text
    _assert_security_headers(response)
    assert "认证成功" in response.text

    view = await client.get(f"/api/v1/customers/{customer_id}", headers=bearer(rm01))
    assert view.status_code == 200
    assert view.json()["verified"] is True
    assert view.json()["verified_at"] is not None
    assert "verification.completed" in [e["kind"] for e in view.json()["timeline"]["items"]]
    # The other customer is untouched.
    other = await client.get(f"/api/v1/customers/{customers[1]}", headers=bearer(rm01))
    assert other.json()["verified"] is False

    # The RM gets exactly one notification, without the customer's personal data.
    listed = await client.get("/api/v1/notifications", headers=bearer(rm01))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [n["category"] for n in items] == ["customer.verified"]
    assert items[0]["data"].get("customer_id") == str(customer_id)
    shown = items[0]["title"] + items[0]["body"] + str(items[0]["data"])
    for secret in (NAME, NAME[1:], PHONE, PHONE[-4:], ID_NUMBER, ID_NUMBER[-4:], "CUST-1"):
        assert secret not in shown
    rows = await db.fetch("select user_id from notifications")
    assert [r["user_id"] for r in rows] == [uuid5_for("user:rm01")]

    before = await _state(db, customer_id)
    assert before["invites"][0]["completed_at"] is not None
    assert before["timeline"] == 1
    # The page now says it is done ...
    again = await client.get(invite["path"])
    assert again.status_code == 410
    _assert_security_headers(again)
    assert "已完成" in again.text
    assert "<form" not in again.text
    # ... and a second submission changes nothing.
    second = await client.post(invite["path"], data=RIGHT)
    assert second.status_code == 410
    assert "已完成" in second.text
    assert await _state(db, customer_id) == before


async def test_name_is_compared_after_normalizing_spaces(client, db, customers, invite):
    response = await client.post(
        invite["path"],
        data={"name": f"  {NAME} ", "id_number": ID_NUMBER, "phone": "138-0013-8000"},
    )
    assert response.status_code == 200, response.text
    assert (await _state(db, customers[0]))["verified_at"] is not None


# ---- wrong answers and the lock --------------------------------------------------------------

WRONG_ANSWERS = [
    {**RIGHT, "name": "张小四"},  # wrong name
    {**RIGHT, "id_number": OTHER_ID_NUMBER},  # another (valid) ID number
    {**RIGHT, "phone": OTHER_PHONE},  # wrong phone
    {"name": OTHER_NAME, "id_number": OTHER_ID_NUMBER, "phone": OTHER_PHONE},  # someone else
    {**RIGHT, "phone": "13911113333"},  # another wrong phone
]  # (a malformed field, such as a bad check digit, is not a wrong answer: it counts nothing)


async def test_wrong_answers_count_and_the_fifth_locks(client, db, customers, invite):
    customer_id = customers[0]
    for n, answers in enumerate(WRONG_ANSWERS[:4], start=1):
        response = await client.post(invite["path"], data=answers)  # 303, then the form
        assert response.status_code == 200, response.text
        _assert_security_headers(response)
        assert f"还可尝试 {5 - n} 次" in response.text
        assert '<form method="post"' in response.text
        # The count is committed although the answer was an error page.
        state = await _state(db, customer_id)
        assert state["invites"][0]["attempts"] == n
        assert state["invites"][0]["locked_at"] is None
        assert state["verified_at"] is None

    locked = await client.post(invite["path"], data=WRONG_ANSWERS[4])
    assert locked.status_code == 410
    _assert_security_headers(locked)
    assert "锁定" in locked.text
    assert "<form" not in locked.text
    state = await _state(db, customer_id)
    assert state["invites"][0]["attempts"] == 5
    assert state["invites"][0]["locked_at"] is not None

    # Even the right answers are refused now, and nothing changes any more.
    right = await client.post(invite["path"], data=RIGHT)
    assert right.status_code == 410
    assert "锁定" in right.text
    page = await client.get(invite["path"])
    assert page.status_code == 410
    assert "锁定" in page.text
    final = await _state(db, customer_id)
    assert final == state
    assert final["verified_at"] is None
    assert final["timeline"] == 0
    assert final["notifications"] == 0


async def test_a_new_invite_is_not_locked_by_the_old_one(client, db, rm01, customers, invite):
    for answers in WRONG_ANSWERS:
        await client.post(invite["path"], data=answers)
    assert (await client.get(invite["path"])).status_code == 410
    fresh = await client.post(
        f"/api/v1/customers/{customers[0]}/verification-invites", headers=bearer(rm01)
    )
    assert fresh.status_code == 201
    path = "/v/" + fresh.json()["url"].split("/v/", 1)[1]
    assert (await client.get(path)).status_code == 200
    assert (await client.post(path, data=RIGHT)).status_code == 200
    assert (await _state(db, customers[0]))["verified_at"] is not None


# ---- expired and invalid links ---------------------------------------------------------------


async def test_expired_invite_shows_expired_page_and_refuses_answers(client, db, customers, invite):
    await db.execute(
        "update verification_invites set expires_at = now() - interval '1 minute' where id = $1",
        invite["id"],
    )
    before = await _state(db, customers[0])
    page = await client.get(invite["path"])
    assert page.status_code == 410
    _assert_security_headers(page)
    assert "已过期" in page.text
    assert "<form" not in page.text
    submitted = await client.post(invite["path"], data=RIGHT)
    assert submitted.status_code == 410
    assert "已过期" in submitted.text
    after = await _state(db, customers[0])
    assert after == before
    assert after["verified_at"] is None
    assert after["invites"][0]["attempts"] == 0


def _tampered(token: str, at: int) -> str:
    flipped = "A" if token[at] != "A" else "B"
    return f"{token[:at]}{flipped}{token[at + 1 :]}"


async def test_the_link_is_short_enough_for_an_sms(invite, settings):
    """A link of the base URL and 41 characters (a signed token made 441): one SMS holds it with
    the bank's words around it."""
    assert invite["url"] == f"{settings.public_base_url.rstrip('/')}/v/{invite['token']}"
    assert len(invite["token"]) == 38
    assert re.fullmatch(r"[A-Za-z0-9_-]{38}", invite["token"])


async def test_a_link_issued_before_as_a_signed_token_still_works(
    client, settings, db, customers, invite
):
    """Links sent before the short form keep working until they expire."""
    keyring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    signed, _ = keyring.issue_link(
        LinkKind.VERIFICATION,
        subject=str(customers[0]),
        ttl_seconds=3600,
        token_id=str(invite["id"]),
    )
    page = await client.get(f"/v/{signed}")
    assert page.status_code == 200, page.text
    assert "实名认证" in page.text
    assert (await client.post(f"/v/{signed}", data=RIGHT)).status_code == 200
    assert (await _state(db, customers[0]))["verified_at"] is not None


async def test_forged_truncated_and_foreign_tokens_show_invalid_page(
    client, settings, db, rm01, customers, invite
):
    keyring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    confirmation, _ = keyring.issue_link(
        LinkKind.CONFIRMATION,
        subject=str(customers[0]),
        ttl_seconds=3600,
        token_id=str(invite["id"]),
    )
    # Same kid, same claims, but signed with a key the server does not have.
    impostor = Keyring(
        (JwtKey(kid=settings.jwt_keys[0].kid, seed=b"x" * 32),), issuer=settings.jwt_issuer
    )
    forged_key, _ = impostor.issue_link(
        LinkKind.VERIFICATION,
        subject=str(customers[0]),
        ttl_seconds=3600,
        token_id=str(invite["id"]),
    )
    # A genuine verification token whose id is no invitation at all.
    no_invite, _ = keyring.issue_link(
        LinkKind.VERIFICATION, subject=str(customers[0]), ttl_seconds=3600, token_id=str(uuid7())
    )
    token = invite["token"]
    signed, _ = keyring.issue_link(
        LinkKind.VERIFICATION,
        subject=str(customers[0]),
        ttl_seconds=3600,
        token_id=str(invite["id"]),
    )
    header, payload, signature = signed.split(".")
    bad_tokens = {
        "tampered MAC": _tampered(token, len(token) - 3),
        "tampered id": _tampered(token, 5),
        "truncated": token[: len(token) - 10],
        "one more": token + "A",
        "random": uuid.uuid4().hex,
        "random of its length": base64.urlsafe_b64encode(os.urandom(28)).rstrip(b"=").decode(),
        "signed, tampered": f"{header}.{payload}.{_tampered(signature, len(signature) // 2)}",
        "signed, cut at a dot": f"{header}.{payload}",
        "access token": rm01["access_token"],
        "confirmation link": confirmation,
        "foreign key": forged_key,
        "unknown invitation": no_invite,
    }
    before = await _state(db, customers[0])
    for label, bad in bad_tokens.items():
        page = await client.get(f"/v/{bad}")
        assert page.status_code == 404, label
        _assert_invalid_page(page)
        submitted = await client.post(f"/v/{bad}", data=RIGHT)
        assert submitted.status_code == 404, label
        _assert_invalid_page(submitted)
    assert await _state(db, customers[0]) == before
    assert before["verified_at"] is None
    # The genuine link still works afterwards.
    assert (await client.post(invite["path"], data=RIGHT)).status_code == 200


async def test_token_for_another_customer_is_invalid(client, settings, db, rm01, customers, invite):
    keyring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    mismatched, _ = keyring.issue_link(
        LinkKind.VERIFICATION,
        subject=str(customers[1]),
        ttl_seconds=3600,
        token_id=str(invite["id"]),
    )
    before = [await _state(db, c) for c in customers]
    _assert_invalid_page(await client.get(f"/v/{mismatched}"))
    other = {"name": OTHER_NAME, "id_number": OTHER_ID_NUMBER, "phone": OTHER_PHONE}
    for answers in (RIGHT, other):
        _assert_invalid_page(await client.post(f"/v/{mismatched}", data=answers))
    assert [await _state(db, c) for c in customers] == before


# ---- races and bad bodies --------------------------------------------------------------------


async def test_concurrent_right_answers_verify_once(make_client, db, invite, customers):
    first, second = await make_client(), await make_client()
    responses = await asyncio.gather(
        first.post(invite["path"], data=RIGHT),
        second.post(invite["path"], data=RIGHT),
        first.post(invite["path"], data=RIGHT),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200, [r.text for r in responses]
    assert set(statuses) <= {200, 410}
    assert await db.fetchval("select count(*) from notifications") == 1
    assert (
        await db.fetchval(
            "select count(*) from customer_timeline where customer_id = $1"
            " and kind = 'verification.completed'",
            customers[0],
        )
        == 1
    )
    state = await _state(db, customers[0])
    assert state["verified_at"] is not None
    assert state["invites"][0]["attempts"] == 0


async def test_concurrent_wrong_answers_never_exceed_the_lock(make_client, db, invite, customers):
    first, second = await make_client(), await make_client()
    # Different wrong answers (the same one sent again at once counts once).
    responses = await asyncio.gather(
        *(
            c.post(invite["path"], data={**RIGHT, "phone": f"1391111{n:04d}"})
            for n, c in enumerate((first, second) * 4)
        )
    )
    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    assert statuses.count(200) == 4  # back to the form
    assert statuses.count(410) == 4
    state = await _state(db, customers[0])
    assert state["invites"][0]["attempts"] == 5
    assert state["invites"][0]["locked_at"] is not None
    assert (await first.post(invite["path"], data=RIGHT)).status_code == 410
    assert (await _state(db, customers[0]))["verified_at"] is None


async def test_oversized_body_is_refused(client, db, invite, customers):
    before = await _state(db, customers[0])
    response = await client.post(
        invite["path"], data={**RIGHT, "name": "张" * 3000, "filler": "x" * 8000}
    )
    # A customer's browser gets a page, not problem+json.
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容无效" in response.text
    assert await _state(db, customers[0]) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": NAME},
        {"id_number": ID_NUMBER, "phone": PHONE},
        {},
        {"name": "", "id_number": "", "phone": ""},
        {**RIGHT, "phone": "x" * 200},
    ],
)
async def test_missing_or_junk_fields_are_named_not_counted_never_a_crash(
    client, db, invite, customers, body
):
    response = await client.post(invite["path"], data=body)
    assert response.status_code < 500, response.text
    state = await _state(db, customers[0])
    assert state["verified_at"] is None
    assert state["invites"][0]["attempts"] == 0  # a malformed answer uses no attempt
    if response.status_code == 200:  # back to the form, which names the field at fault
        assert "本次未计入尝试次数" in response.text
        assert 'aria-invalid="true"' in response.text
    else:
        assert 400 <= response.status_code < 500, response.text
    # The link still works for the right answers.
    assert (await client.post(invite["path"], data=RIGHT)).status_code == 200


async def test_repeated_fields_do_not_crash(client, db, invite, customers):
    content = "name=a&name=b&id_number=1&phone=2"
    response = await client.post(
        invite["path"],
        content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert (await _state(db, customers[0]))["verified_at"] is None


async def test_a_wrong_answer_keeps_the_name_and_phone_but_never_the_id_number(
    client, db, customers, invite
):
    wrong = {"name": "张小三丰", "id_number": ID_NUMBER, "phone": "13800138001"}
    response = await client.post(invite["path"], data=wrong)  # 303, then the form
    assert response.status_code == 200, response.text
    html = response.text
    assert (
        'id="name" name="name" autocomplete="name" required maxlength="50" value="张小三丰"' in html
    )
    assert 'value="13800138001"' in html
    assert ID_NUMBER not in html
    assert ID_NUMBER.lower() not in html
    escaped = await client.post(invite["path"], data={"name": '"><b>x', "id_number": "1",
                                                      "phone": "1"})  # fmt: skip
    assert "<b>x" not in escaped.text


async def test_an_id_number_typed_with_spaces_verifies(client, db, customers, invite):
    page = (await client.get(invite["path"])).text
    field = page.split('id="id_number"', 1)[1].split(">", 1)[0]
    assert 'maxlength="24"' in field  # "110105 19850307 001X" fits
    assert "replace(/\\s+/g,'')" in page  # the page drops the spaces before sending
    spaced = f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}"
    response = await client.post(invite["path"], data={**RIGHT, "id_number": spaced})
    assert response.status_code == 200, response.text
    assert "认证成功" in response.text
    assert await db.fetchval("select attempts from verification_invites") == 0


async def test_the_result_is_its_own_page_and_head_answers_like_get(client, db, customers, invite):
    done = f"{invite['path']}/done"
    head = await client.head(invite["path"])
    assert head.status_code == 200
    assert head.content == b""
    assert (await client.get(done, follow_redirects=False)).headers["location"] == invite["path"]
    posted = await client.post(invite["path"], data=RIGHT, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == done
    assert "认证成功" in posted.text
    for _ in range(2):
        result = await client.get(done)
        assert result.status_code == 200
        assert "认证成功" in result.text
        assert result.headers["cache-control"] == "no-store"
        assert NAME not in result.text
        assert "张伟" not in result.text
    assert (await client.head(done)).status_code == 200
    assert await db.fetchval("select count(*) from notifications") == 1


async def test_the_page_names_no_rm_who_has_left(client, db, customers, invite):
    """The customer should turn to their RM now: one who has left is named no more (nor is
    anyone else: no RM is active for them until a feed hands them on)."""
    await db.execute("update users set active = false where login = 'rm01'")
    response = await client.get(invite["path"])
    assert response.status_code == 200, response.text
    assert "实名认证" in response.text
    assert "您的客户经理" not in response.text
    assert "张伟" not in response.text

"""A form field whose bytes are not text (a file sent without a filename, a wrong charset) is a
clear 400 problem, before any handler or sign-in runs; a form sent to a route that takes JSON is
that route's usual "not valid JSON"; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"content-type": "multipart/form-data; boundary=xx"}


def part(name: str, data: bytes, *, extra: str = "") -> bytes:
    return (
        f'--xx\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--xx--\r\n"


def undecodable(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "request.invalid"
    assert "not valid text" in problem["detail"]


def not_json(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"path": "$", "message": "not valid JSON"}]


async def test_a_customer_form_with_bytes_that_are_not_text_is_a_400_page(client):
    bad = body(part("action", b"\xff\xfe"))
    response = await client.post("/c/some-token", content=bad, headers=FORM)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容无效" in response.text


async def test_a_charset_no_one_knows_or_that_does_not_fit_is_a_400(client):
    marketing = await headers_of(client, "marketing")
    for charset, data in (("nope", b"abc"), ("utf-16", b"abc"), ("base64", b"abc")):
        bad = body(part("meta", data, extra=f"\r\nContent-Type: text/plain; charset={charset}"))
        response = await client.post(
            "/api/v1/brochures", content=bad, headers={**marketing, **FORM}
        )
        undecodable(response)


async def test_a_page_image_sent_without_a_filename_is_a_400_and_stores_nothing(client, db):
    marketing = await headers_of(client, "marketing")
    before = await db.fetchval("select count(*) from brochures")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    meta = b'{"title": "t", "product_code": "WM90", "talk_track": "", "tags": []}'
    for filename in ("", None):
        extra = f'; filename="{filename}"' if filename is not None else ""
        bad = body(part("meta", meta), part("pages", png, extra=extra))
        response = await client.post(
            "/api/v1/brochures", content=bad, headers={**marketing, **FORM}
        )
        undecodable(response)
    assert await db.fetchval("select count(*) from brochures") == before


async def test_a_form_sent_to_a_route_that_takes_json_is_not_json(client):
    for field in ("张三".encode(), b"\xff\xfe"):
        form = body(part("login", field))
        not_json(await client.post("/api/v1/auth/login", content=form, headers=FORM))
        not_json(await client.post("/t", content=form, headers=FORM))


@pytest.mark.parametrize(
    "sent",
    [b"name=%FF%FE&id_number=1", b"name=\xff\xfe&id_number=1", b"%FF=x"],
    ids=["percent-encoded", "raw bytes", "in a name"],
)
async def test_a_url_encoded_form_with_bytes_that_are_not_text_is_a_400_page(client, sent):
    """As a multipart one is: the garbled name was read as U+FFFD and taken as a verification
    attempt, or a contact request, as if the customer had typed it."""
    url_encoded = {"content-type": "application/x-www-form-urlencoded"}
    response = await client.post("/c/some-token", content=sent, headers=url_encoded)
    assert response.status_code == 400, response.text
    assert "提交的内容无效" in response.text
    api = await client.post("/api/v1/auth/login", content=sent, headers=url_encoded)
    assert api.status_code in (400, 422), api.text
    assert (await client.post("/c/some-token", content=b"action=%E7%A1%AE", headers=url_encoded)
            ).status_code != 400  # fmt: skip

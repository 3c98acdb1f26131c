"""A console form whose field is not text (bytes that are not UTF-8, a file without a filename)
is the console's 400 page, signed in or on the sign-in form; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import ORIGIN, csrf_of, signed_in

pytestmark = pytest.mark.usefixtures("demo_bank")


def form(token: str, name: str, data: bytes, *, extra: str = "") -> bytes:
    return (
        b'--xx\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        + token.encode()
        + f'\r\n--xx\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
        + data
        + b"\r\n--xx--\r\n"
    )


def invalid_page(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容无效" in response.text
    assert "Traceback" not in response.text


HEADERS = {"content-type": "multipart/form-data; boundary=xx", "Origin": ORIGIN}


async def test_the_sign_in_form_with_bytes_that_are_not_text_is_a_page(console):
    token = csrf_of((await console.get("/console/sign-in")).text)
    response = await console.post(
        "/console/sign-in", content=form(token, "login", b"\xff\xfe"), headers=HEADERS
    )
    invalid_page(response)


async def test_a_brochure_upload_with_bytes_that_are_not_text_is_a_page(console, db):
    token = await signed_in(console, "marketing")
    before = await db.fetchval("select count(*) from brochures")
    for name, extra in (("title", ""), ("pages", '; filename=""')):
        response = await console.post(
            "/console/brochures/new",
            content=form(token, name, b"\x89PNG\xff\xfe", extra=extra),
            headers=HEADERS,
        )
        invalid_page(response)
    assert await db.fetchval("select count(*) from brochures") == before
    assert (await console.get("/console")).status_code == 200  # still signed in

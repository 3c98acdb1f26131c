"""A failed sign-in with a login no user has says so in the audit row (`unknown_login`; it had no
actor and no subject, so a stranger's attempt read as nothing), never with the text typed: a
password or a customer's phone typed into the login field would stay in the append-only trail.
A known user's failure names the user as the actor. The console's sign-in goes the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.console.conftest import make_console, sign_in_as
from tests.helpers import device
from tests.tasks_data import user

__all__ = ["make_console"]

pytestmark = pytest.mark.usefixtures("demo_bank")

PASSWORD = "Tried-Secret-771"


async def failures(db: Any) -> list[tuple[Any, Any, dict[str, Any]]]:
    rows = await db.fetch(
        "select actor_id, subject, detail from audit_events where action = 'login_failed'"
        " order by id"
    )
    return [
        (r["actor_id"], r["subject"],
         r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))
        for r in rows
    ]  # fmt: skip


async def api_sign_in(client: Any, login: str) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"login": login, "password": PASSWORD, "device": device()}
    )
    assert response.status_code == 401, response.text


async def test_an_unknown_login_is_said_to_be_one_never_kept_as_typed(client: Any, db: Any) -> None:
    await api_sign_in(client, "  rm99 ")
    await api_sign_in(client, "rm01")  # a known user, the wrong password
    await api_sign_in(client, "Abc12345")  # a password typed into the login field
    await api_sign_in(client, "13812345678")  # a customer's phone
    unknown = (None, None, {"reason": "bad_credentials", "unknown_login": True})
    assert await failures(db) == [
        unknown,
        (user("rm01"), None, {"reason": "bad_credentials"}),
        unknown,
        unknown,
    ]
    for typed in ("rm99", "Abc12345", "13812345678"):
        kept = await db.fetchval(
            "select count(*) from audit_events a where strpos(a::text, $1) > 0", typed
        )
        assert kept == 0, typed
    leaked = await db.fetchval(
        "select count(*) from audit_events a where strpos(a::text, $1) > 0", PASSWORD
    )
    assert leaked == 0


async def test_the_consoles_sign_in_records_it_alike(make_console: Any, db: Any) -> None:
    console = await make_console()
    refused = await sign_in_as(console, "compliance.typo", password=PASSWORD)
    assert refused.status_code == 401, refused.text
    wrong = await sign_in_as(console, "compliance", password=PASSWORD)
    assert wrong.status_code == 401, wrong.text
    assert await failures(db) == [
        (None, None, {"reason": "bad_credentials", "unknown_login": True}),
        (user("compliance"), None, {"reason": "bad_credentials"}),
    ]

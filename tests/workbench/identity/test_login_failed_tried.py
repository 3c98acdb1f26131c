"""A failed sign-in with a login no user has keeps the login tried in the audit row (it has no
actor and no subject otherwise, and what was tried was lost): without control characters, at
most 64 characters, and only text a login could be (else `not_a_login`, never the text). A
known user's failure names the user as the actor and keeps no login. The console's sign-in goes
the same way. Passwords are never in the trail."""

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


async def test_an_unknown_login_is_kept_as_tried_a_known_users_failure_is_theirs(
    client: Any, db: Any
) -> None:
    await api_sign_in(client, "  rm99 ")  # trimmed, as the sign-in reads it
    await api_sign_in(client, "rm01")  # a known user, the wrong password
    await api_sign_in(client, "ev\u202eil\x07\n\u200bname\u2028")  # reads otherwise
    await api_sign_in(client, "x" * 200)
    await api_sign_in(client, "王五")  # no login can be this: kept as such, not as text
    await api_sign_in(client, "S3cret!pass")  # a password typed into the login field
    assert await failures(db) == [
        (None, None, {"reason": "bad_credentials", "login": "rm99"}),
        (user("rm01"), None, {"reason": "bad_credentials"}),
        (None, None, {"reason": "bad_credentials", "login": "evilname"}),
        (None, None, {"reason": "bad_credentials", "login": "x" * 64}),
        (None, None, {"reason": "bad_credentials", "not_a_login": True}),
        (None, None, {"reason": "bad_credentials", "not_a_login": True}),
    ]
    leaked = await db.fetchval(
        "select count(*) from audit_events a where strpos(a::text, $1) > 0", PASSWORD
    )
    assert leaked == 0


async def test_the_consoles_sign_in_keeps_the_login_tried_too(make_console: Any, db: Any) -> None:
    console = await make_console()
    refused = await sign_in_as(console, "compliance.typo", password=PASSWORD)
    assert refused.status_code == 401, refused.text
    wrong = await sign_in_as(console, "compliance", password=PASSWORD)
    assert wrong.status_code == 401, wrong.text
    assert await failures(db) == [
        (None, None, {"reason": "bad_credentials", "login": "compliance.typo"}),
        (user("compliance"), None, {"reason": "bad_credentials"}),
    ]

"""A value with a final line break is refused where the contract's pattern says what a value is,
as the apps' OpenAPI readers refuse it: 422 naming the field, nothing stored. (A push token
"T\\n" reached the provider as `T%0A` and took a blind index of its own beside "T"; a device id
"D\\n" could never be sent again in `X-Device-Id`.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import bearer, device, login
from tests.workbench.identity.test_org_scope import assert_problem
from workbench.ids import uuid5_for
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")


def refused_at(response: Any, path: str) -> None:
    body = assert_problem(response, 422, "request.validation_failed")
    assert path in [e["path"] for e in body["errors"]], body


async def test_a_push_token_with_a_final_line_break_is_not_registered(client, db):
    tokens = await login(client, "rm01")
    response = await client.post(
        "/api/v1/devices",
        json={**device(1), "provider": "apns", "push_token": "tok-rm01-aaaaaaaa\n"},
        headers=bearer(tokens),
    )
    refused_at(response, "$.push_token")
    assert await db.fetchval("select count(*) from push_registrations") == 0


async def test_a_device_id_with_a_final_line_break_signs_no_one_in(client, db):
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "rm01",
            "password": DEMO_PASSWORD,
            "device": {"device_id": "qa-nl-device\n", "platform": "ios"},
        },
    )
    refused_at(response, "$.device.device_id")
    assert await db.fetchval("select count(*) from sessions") == 0
    assert await db.fetchval("select count(*) from devices") == 0


async def test_a_login_with_a_final_line_break_is_trimmed_as_the_console_trims_it(client, db):
    # A login pasted with its line break is the login (as spaces around it are, and as the
    # console reads it); one with a break inside is no user's: the wrong login (401).
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm01\n", "password": DEMO_PASSWORD, "device": device(1)},
    )
    assert response.status_code == 200, response.text
    inside = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm\n01", "password": DEMO_PASSWORD, "device": device(2)},
    )
    assert_problem(inside, 401, "auth.invalid_credentials")
    assert await db.fetchval("select count(*) from sessions") == 1


async def test_quiet_hours_ending_with_a_line_break_are_not_kept(client, db):
    tokens = await login(client, "rm01")
    response = await client.put(
        "/api/v1/me/notification-preferences",
        json={"quiet_hours": {"start": "22:00", "end": "08:00\n"}},
        headers=bearer(tokens),
    )
    refused_at(response, "$.quiet_hours.end")
    stored = "select count(*) from notification_preferences where user_id = $1"
    assert await db.fetchval(stored, RM01) == 0


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/api/v1/customers?min_aum=50000%0A", "query.min_aum"),
        ("/api/v1/funnels?from=2026-01-01%0A", "query.from"),
        ("/api/v1/offline-packages/latest?app=crm.h5%0A", "query.app"),
    ],
)
async def test_a_query_parameter_with_a_final_line_break_is_refused(client, url, path):
    tokens = await login(client, "rm01")
    refused_at(await client.get(url, headers=bearer(tokens)), path)

"""`workbench push test --user LOGIN`, run as a real process the way an operator runs it.

The command sends a critical test notification to every registered device of the user at once,
through the outbox and the real provider protocols, and prints one line per device with the
provider's answer. Here the providers are the loopback fake, running in the test process; the
command reaches it over loopback. Covered: a registered device gets the push (exit 0); a user
with no device is told so (exit 1); an unknown login is refused (exit 2); a dead token is
reported as such (exit 1).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sys
from pathlib import Path

import pytest

from push.fakes import FakePushServer
from tests.push_data import register
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

ROOT = Path(__file__).resolve().parents[2]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def command_env(settings: Settings, fake: FakePushServer) -> dict[str, str]:
    """The test's environment plus what `workbench` needs to use the run's database, Redis and
    keys, with every provider pointed at the fake."""
    creds = fake.credentials
    values = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "WORKBENCH_REDIS_PREFIX": settings.redis_prefix,
        "WORKBENCH_JWT_KEYS": ",".join(f"{k.kid}:{b64(k.seed)}" for k in settings.jwt_keys),
        "WORKBENCH_DATA_KEYS": ",".join(f"{k.kid}:{b64(k.key)}" for k in settings.data_keys),
        "WORKBENCH_BLIND_INDEX_KEY": b64(settings.blind_index_key),
        "WORKBENCH_TIMEZONE": settings.bank_timezone,
        "WORKBENCH_APNS_KEY_FILE": str(creds.apns_key_file),
        "WORKBENCH_APNS_KEY_ID": creds.apns_key_id,
        "WORKBENCH_APNS_TEAM_ID": creds.apns_team_id,
        "WORKBENCH_APNS_TOPIC": creds.apns_topic,
        "WORKBENCH_APNS_BASE_URL": fake.base_url,
        "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE": str(creds.fcm_service_account_file),
        "WORKBENCH_FCM_BASE_URL": fake.base_url,
        "WORKBENCH_HMS_APP_ID": creds.hms_app_id,
        "WORKBENCH_HMS_CLIENT_SECRET": creds.hms_client_secret,
        "WORKBENCH_HMS_BASE_URL": fake.base_url,
        "WORKBENCH_HMS_TOKEN_URL": fake.hms_token_url,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    return {**env, **values}


async def push_test(settings: Settings, fake: FakePushServer, login: str) -> tuple[int, str, str]:
    """Run `workbench push test --user LOGIN` without blocking the fake (it serves on this
    event loop); (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workbench", "push", "test", "--user", login,
        env=command_env(settings, fake), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        pytest.fail(f"workbench push test --user {login} did not finish within 120 s")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def lines_of(stdout: str) -> dict[str, list[str]]:
    """{device id: the rest of its line, split on whitespace}."""
    rows = [line.split() for line in stdout.splitlines() if line.strip()]
    return {row[0]: row[1:] for row in rows}


async def test_push_test_reaches_the_users_registered_device(client, db, settings, fake):
    token = "a" * 64
    device_id = await register(client, "rm01", platform="ios", provider="apns", token=token)

    code, out, err = await push_test(settings, fake, "rm01")
    assert code == 0, out + err
    assert lines_of(out) == {device_id: ["apns", "sent"]}
    [pushed] = fake.sent
    assert (pushed.provider, pushed.token) == ("apns", token)
    assert pushed.body["category"] == "push.test"
    assert pushed.body["aps"]["alert"]["title"] == "测试通知 Test notification"
    assert pushed.body["aps"]["interruption-level"] == "time-sensitive"  # critical
    status = await db.fetchval("select push_status from notifications where category = 'push.test'")
    assert status == "sent"


async def test_push_test_reports_every_device_and_provider_of_the_user(client, db, settings, fake):
    devices = {
        await register(client, "rm01", platform="ios", provider="apns", token="b" * 64): "apns",
        await register(
            client, "rm01", platform="android", provider="fcm", token="fcm-token-1"
        ): "fcm",
        await register(
            client, "rm01", platform="harmony", provider="hms", token="hms-token-1"
        ): "hms",
    }

    code, out, err = await push_test(settings, fake, "rm01")
    assert code == 0, out + err
    assert lines_of(out) == {device: [provider, "sent"] for device, provider in devices.items()}
    assert sorted((s.provider, s.token) for s in fake.sent) == [
        ("apns", "b" * 64), ("fcm", "fcm-token-1"), ("hms", "hms-token-1")
    ]  # fmt: skip


async def test_push_test_for_a_user_without_devices_says_so_and_exits_1(client, settings, fake):
    await register(client, "rm01", platform="ios", provider="apns", token="c" * 64)

    code, out, err = await push_test(settings, fake, "rm02")
    assert code == 1, out + err
    assert "rm02 has no device registered for push" in out
    assert "Traceback" not in err
    assert fake.sent == []


async def test_push_test_for_an_unknown_login_exits_2_with_a_clear_message(settings, fake):
    code, out, err = await push_test(settings, fake, "nobody")
    assert code == 2, out + err
    assert "no active user with login 'nobody'" in err
    assert "Traceback" not in err
    assert fake.sent == []


async def test_push_test_to_a_dead_token_prints_dead_token_and_exits_1(client, db, settings, fake):
    token = "d" * 64
    device_id = await register(client, "rm01", platform="ios", provider="apns", token=token)
    fake.mark_dead(token)

    code, out, err = await push_test(settings, fake, "rm01")
    assert code == 1, out + err
    [line] = out.splitlines()
    assert line.split()[:3] == [device_id, "apns", "dead_token"]
    assert "Unregistered" in line  # the provider's reason
    assert fake.sent == []
    registration = await db.fetchrow(
        "select active, deactivated_reason from push_registrations where device_id = $1",
        device_id,
    )
    assert registration["active"] is False

"""The push providers (APNs, FCM, HMS) against the loopback fake of the real services.

Covers what a worker and a user would notice of each provider: a good push arrives with the right
headers and payload (topic, push type, priority, expiry, collapse id, alert, data, HMS work
category); a dead or malformed device token is reported as dead (or, for FCM's INVALID_ARGUMENT,
as a plain failure); throttling and outages are retried, honouring Retry-After; provider auth
tokens are minted once and shared by every worker through Redis, renewed once when the service
calls them expired, replaced when the shared one is about to run out, and still minted per process
when Redis is down; credentials the service refuses fail visibly without condemning the device
token; a service or token endpoint that cannot be reached is retried later and a worker reconnects
once the service is back; and `build()` falls back to the log or to a visible failure for
platforms without credentials.

Not covered: HMS's partial answer 80100000 naming our token. The provider sends one token per
request and the fake answers 80300007 when every token of a request is illegal, so it never
produces 80100000 for a single-token request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from redis.asyncio import Redis

from push import providers
from push.fakes import FakePushServer
from push.providers import Outcome, Provider, Push
from push.providers.apns import Apns
from push.providers.fcm import Fcm
from push.providers.hms import Hms
from push.providers.log import LogProvider, Unconfigured
from tests.push.conftest import settings_for
from workbench.settings import Settings

NAMES = ("apns", "fcm", "hms")
NO_CREDENTIALS: dict[str, Any] = {
    "apns_key_file": None,
    "apns_key_id": None,
    "apns_team_id": None,
    "apns_topic": None,
    "fcm_service_account_file": None,
    "hms_app_id": None,
    "hms_client_secret": None,
}


def closed_port() -> int:
    """A local port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_push(**changes: Any) -> Push:
    """An alert push of a task reminder, with any field changed."""
    values: dict[str, Any] = {
        "notification_id": uuid.uuid4(),
        "token": "device-token-" + uuid.uuid4().hex,
        "category": "task.reminder",
        "title": "拜访提醒",
        "body": "您今天 15:00 有一个客户拜访。",
        "data": {"task_id": "4f1c2b", "kind": "before_due"},
        "critical": False,
        "silent": False,
        "collapse_key": None,
        "expires_at": None,
    }
    values.update(changes)
    return Push(**values)


TOKEN_PATHS = ("/token", "/oauth2/v3/token")


def pushes_to(fake: FakePushServer, name: str) -> list[Any]:
    """The push requests (not token requests) the fake received for one provider."""
    return [r for r in fake.requests if r.provider == name and r.path not in TOKEN_PATHS]


def token_requests(fake: FakePushServer, name: str) -> list[Any]:
    """The OAuth token requests the fake received for one provider."""
    return [r for r in fake.requests if r.provider == name and r.path in TOKEN_PATHS]


def authorization_headers(fake: FakePushServer, name: str) -> list[str]:
    """The authorization header of every push request to one provider, in order."""
    return [r.headers["authorization"] for r in pushes_to(fake, name)]


def tokens_issued(fake: FakePushServer, name: str) -> int:
    """Provider auth tokens minted: OAuth tokens for FCM and HMS, distinct JWTs for APNs."""
    return fake.auth_tokens_issued[name]


class Opened:
    """Providers and Redis clients made by a test, closed after it."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._providers: list[Provider] = []
        self._redis: list[Redis] = []

    def build(self, settings: Settings, redis: Redis) -> dict[str, Provider]:
        built = providers.build(settings, redis)
        self._providers.extend(built.values())
        return built

    def redis(self, url: str | None = None) -> Redis:
        """Another Redis client: the connection of another worker process."""
        client = Redis.from_url(url or self._redis_url, socket_connect_timeout=2)
        self._redis.append(client)
        return client

    async def close(self) -> None:
        for provider in self._providers:
            await provider.aclose()
        for client in self._redis:
            await client.aclose()


@pytest.fixture
async def opened(settings: Settings) -> AsyncIterator[Opened]:
    made = Opened(settings.redis_url)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
def senders(opened: Opened, push_settings: Settings, redis: Redis) -> dict[str, Provider]:
    """One worker's providers, all configured against the fake."""
    return opened.build(push_settings, redis)


async def shared_token_key(redis: Redis, prefix: str, name: str) -> bytes:
    """The one Redis key holding the provider's shared auth token."""
    keys = [
        key
        async for key in redis.scan_iter(match=f"{prefix}push:{name}:*")
        if not key.endswith(b":lock")
    ]
    assert len(keys) == 1, keys
    return keys[0]


# ---- a good push arrives as the service expects it ------------------------------------------


async def test_build_with_credentials_gives_the_real_providers(senders):
    assert isinstance(senders["apns"], Apns)
    assert isinstance(senders["fcm"], Fcm)
    assert isinstance(senders["hms"], Hms)


async def test_an_apns_alert_arrives_with_its_topic_priority_expiry_and_id(senders, fake):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    push = make_push(expires_at=expires)

    outcome = await senders["apns"].send(push)

    assert outcome == Outcome("sent", status_code=200)
    [delivered] = fake.sent
    assert delivered.provider == "apns"
    assert delivered.token == push.token
    assert delivered.headers["apns-topic"] == fake.credentials.apns_topic
    assert delivered.headers["apns-push-type"] == "alert"
    assert delivered.headers["apns-priority"] == "10"
    assert delivered.headers["apns-expiration"] == str(int(expires.timestamp()))
    assert delivered.headers["apns-id"] == str(push.notification_id)
    # Without a collapse key of its own, the notification id: a repeat shows once.
    assert delivered.headers["apns-collapse-id"] == str(push.notification_id)
    aps = delivered.body["aps"]
    assert aps["alert"] == {"title": push.title, "body": push.body}
    assert aps["interruption-level"] == "active"
    assert delivered.body["nid"] == str(push.notification_id)
    assert delivered.body["category"] == "task.reminder"
    assert delivered.body["task_id"] == "4f1c2b"


async def test_a_critical_apns_alert_is_time_sensitive(senders, fake):
    outcome = await senders["apns"].send(make_push(category="push.test", critical=True))

    assert outcome.kind == "sent"
    [delivered] = fake.sent
    assert delivered.body["aps"]["interruption-level"] == "time-sensitive"
    assert delivered.headers["apns-priority"] == "10"


async def test_a_silent_apns_push_is_a_background_push_at_priority_5_without_an_alert(
    senders, fake
):
    outcome = await senders["apns"].send(make_push(category="sync.poke", silent=True))

    assert outcome.kind == "sent"
    [delivered] = fake.sent
    assert delivered.headers["apns-push-type"] == "background"
    assert delivered.headers["apns-priority"] == "5"
    assert "alert" not in delivered.body["aps"]
    assert delivered.body["aps"]["content-available"] == 1


async def test_a_short_collapse_key_is_the_apns_collapse_id(senders, fake):
    outcome = await senders["apns"].send(make_push(collapse_key="task:4f1c2b"))

    assert outcome.kind == "sent"
    assert fake.sent[0].headers["apns-collapse-id"] == "task:4f1c2b"


async def test_a_long_collapse_key_still_collapses_on_apns_within_64_bytes(senders, fake):
    # 40 characters but 120 bytes: a limit counted in characters would let it through.
    long_key = "客户拜访任务提醒" * 5
    other_key = "客户拜访任务提醒" * 4 + "逾期升级通知分行长" * 2

    outcomes = [
        await senders["apns"].send(make_push(collapse_key=key))
        for key in (long_key, long_key, other_key)
    ]

    assert [o.kind for o in outcomes] == ["sent", "sent", "sent"]
    ids = [d.headers["apns-collapse-id"] for d in fake.sent]
    assert all(0 < len(i.encode()) <= 64 for i in ids)
    assert ids[0] == ids[1], "the same key must collapse to the same id"
    assert ids[0] != ids[2], "different keys must not collapse into each other"


async def test_an_fcm_message_carries_the_token_notification_and_string_data(senders, fake):
    push = make_push(expires_at=datetime.now(UTC) + timedelta(hours=1), collapse_key="task:4f1c2b")

    outcome = await senders["fcm"].send(push)

    assert outcome == Outcome("sent", status_code=200)
    [delivered] = fake.sent
    message = delivered.body["message"]
    assert delivered.provider == "fcm"
    assert message["token"] == push.token
    assert message["notification"] == {"title": push.title, "body": push.body}
    assert message["data"] == {
        "nid": str(push.notification_id),
        "category": "task.reminder",
        "task_id": "4f1c2b",
        "kind": "before_due",
    }
    assert all(isinstance(value, str) for value in message["data"].values())
    assert message["android"]["priority"] == "NORMAL"
    assert message["android"]["collapse_key"] == "task:4f1c2b"
    assert message["android"]["notification"] == {"tag": "task:4f1c2b"}
    ttl = message["android"]["ttl"]
    assert ttl.endswith("s")
    assert 3000 <= int(ttl[:-1]) <= 3600


async def test_a_critical_fcm_message_is_high_priority(senders, fake):
    outcome = await senders["fcm"].send(make_push(category="push.test", critical=True))

    assert outcome.kind == "sent"
    assert fake.sent[0].body["message"]["android"]["priority"] == "HIGH"


async def test_a_silent_fcm_message_has_no_notification_block(senders, fake):
    push = make_push(category="sync.poke", silent=True)

    outcome = await senders["fcm"].send(push)

    assert outcome.kind == "sent"
    message = fake.sent[0].body["message"]
    assert "notification" not in message
    assert message["data"]["nid"] == str(push.notification_id)


async def test_an_hms_message_targets_our_token_with_its_notification_and_json_data(senders, fake):
    push = make_push(expires_at=datetime.now(UTC) + timedelta(hours=1))

    outcome = await senders["hms"].send(push)

    assert outcome == Outcome("sent", status_code=200)
    [delivered] = fake.sent
    message = delivered.body["message"]
    assert delivered.provider == "hms"
    assert delivered.token == push.token
    assert message["token"] == [push.token]
    android = message["android"]
    assert android["notification"]["title"] == push.title
    assert android["notification"]["body"] == push.body
    assert android["notification"]["tag"] == str(push.notification_id)
    assert "collapse_key" not in android  # an offline cache group is for real collapse keys
    assert android["urgency"] == "NORMAL"
    assert isinstance(message["data"], str)
    assert json.loads(message["data"]) == {
        "nid": str(push.notification_id),
        "category": "task.reminder",
        "task_id": "4f1c2b",
        "kind": "before_due",
    }
    assert 3000 <= int(android["ttl"].removesuffix("s")) <= 3600


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("task.reminder", "WORK"),
        ("task.escalation", "WORK"),
        ("task.confirmed", "WORK"),
        ("customer.verified", None),
        ("brochure.opened", None),
    ],
)
async def test_task_notifications_are_work_messages_on_hms_and_others_are_not(
    senders, fake, category, expected
):
    outcome = await senders["hms"].send(make_push(category=category))

    assert outcome.kind == "sent"
    assert fake.sent[0].body["message"]["android"].get("category") == expected


async def test_a_critical_hms_message_is_urgent(senders, fake):
    outcome = await senders["hms"].send(make_push(category="push.test", critical=True))

    assert outcome.kind == "sent"
    assert fake.sent[0].body["message"]["android"]["urgency"] == "HIGH"


async def test_a_silent_hms_message_has_no_notification(senders, fake):
    push = make_push(category="sync.poke", silent=True)

    outcome = await senders["hms"].send(push)

    assert outcome.kind == "sent"
    message = fake.sent[0].body["message"]
    assert "notification" not in message["android"]
    assert json.loads(message["data"])["nid"] == str(push.notification_id)


async def test_an_hms_collapse_key_is_a_small_integer_stable_for_the_same_key(senders, fake):
    # A radar push's group (one per share, 3..100); a reminder is never cached over (-1).
    radar = {"category": "brochure.opened"}
    pushes = [make_push(collapse_key="share:4f1c2b", **radar),
              make_push(collapse_key="share:4f1c2b", **radar),
              make_push(collapse_key="客户拜访任务提醒" * 5, **radar),
              make_push(collapse_key="task:4f1c2b")]  # fmt: skip

    outcomes = [await senders["hms"].send(push) for push in pushes]

    assert [o.kind for o in outcomes] == ["sent"] * 4
    collapse = [d.body["message"]["android"]["collapse_key"] for d in fake.sent]
    assert all(type(c) is int and 3 <= c <= 100 for c in collapse[:3])
    assert collapse[0] == collapse[1]
    assert collapse[3] == -1


# ---- dead device tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "how", "status", "reason"),
    [
        ("apns", "mark_dead", 410, "Unregistered"),
        ("apns", "mark_bad", 400, "BadDeviceToken"),
        ("fcm", "mark_dead", 404, "UNREGISTERED"),
        ("hms", "mark_dead", 200, "80300007"),
        ("hms", "mark_bad", 200, "80300007"),
    ],
)
async def test_a_token_the_service_no_longer_knows_is_reported_dead(
    senders, fake, name, how, status, reason
):
    push = make_push()
    getattr(fake, how)(push.token)

    outcome = await senders[name].send(push)

    assert outcome.kind == "dead_token"
    assert (outcome.status_code, outcome.reason) == (status, reason)
    assert fake.sent == []


async def test_an_fcm_token_it_calls_not_a_registration_token_is_dead(senders, fake):
    # FCM answers a malformed token 400 INVALID_ARGUMENT naming the registration token: it will
    # never be one, so the registration is switched off (as APNs' BadDeviceToken), not tried on
    # every later push.
    push = make_push()
    fake.mark_bad(push.token)

    outcome = await senders["fcm"].send(push)

    assert outcome.kind == "dead_token"
    assert (outcome.status_code, outcome.reason) == (400, "INVALID_ARGUMENT")
    assert fake.sent == []


async def test_an_fcm_invalid_argument_about_the_message_is_no_dead_token(senders, fake):
    # INVALID_ARGUMENT about our payload (here a data value that is not text) says nothing of
    # the device: it fails, the registration stays.
    push = make_push(data={"count": 3})

    outcome = await senders["fcm"].send(push)

    assert (outcome.kind, outcome.reason) == ("failed", "INVALID_ARGUMENT")


async def test_a_live_token_is_not_mistaken_for_a_dead_one(senders, fake):
    dead, live = make_push(), make_push()
    fake.mark_dead(dead.token)

    for name in NAMES:
        assert (await senders[name].send(live)).kind == "sent"
    assert sorted(d.provider for d in fake.sent) == sorted(NAMES)


# ---- throttling and outages are retried ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("failure", "status"), [("throttled", 429), ("unavailable", 503), ("internal", 500)]
)
async def test_a_throttled_or_failing_service_is_retried_later(
    senders, fake, name, failure, status
):
    fake.fail_next(name, failure)

    outcome = await senders[name].send(make_push())

    assert outcome.kind == "retry"
    assert outcome.status_code == status
    assert outcome.retry_after is None
    assert fake.sent == []
    assert (await senders[name].send(make_push())).kind == "sent"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("failure", ["throttled", "unavailable"])
async def test_a_retry_waits_as_long_as_the_service_asks(senders, fake, name, failure):
    fake.fail_next(name, failure, retry_after=7)

    outcome = await senders[name].send(make_push())

    assert outcome.kind == "retry"
    assert outcome.retry_after == 7.0


@pytest.mark.parametrize("name", NAMES)
async def test_a_service_that_is_down_is_retried_later(opened, settings, fake, redis, name):
    down = f"http://127.0.0.1:{closed_port()}"
    broken = replace(
        settings_for(settings, fake), apns_base_url=down, fcm_base_url=down, hms_base_url=down
    )
    sender = opened.build(broken, redis)[name]

    outcome = await sender.send(make_push())

    assert outcome.kind == "retry"
    assert str(outcome.reason).startswith("transport:")
    assert fake.sent == []


def without_token_endpoint(
    settings: Settings, fake: FakePushServer, name: str, folder: Path
) -> Settings:
    """Settings pointing at the fake, except that the OAuth token endpoint of `name` (fcm or
    hms) is a port nothing listens on."""
    configured = settings_for(settings, fake)
    if name == "fcm":
        account = fake.credentials.service_account()
        account["token_uri"] = f"http://127.0.0.1:{closed_port()}/token"
        account_file = folder / "unreachable-service-account.json"
        account_file.write_text(json.dumps(account))
        return replace(configured, fcm_service_account_file=str(account_file))
    return replace(configured, hms_token_url=f"http://127.0.0.1:{closed_port()}/oauth2/v3/token")


@pytest.mark.parametrize("name", ["fcm", "hms"])
async def test_an_unreachable_oauth_token_endpoint_is_retried_later(
    opened, settings, fake, redis, tmp_path: Path, name
):
    sender = opened.build(without_token_endpoint(settings, fake, name, tmp_path), redis)[name]

    outcome = await sender.send(make_push())

    assert outcome.kind == "retry"
    assert str(outcome.reason).startswith("transport:")
    assert fake.sent == []


@pytest.mark.parametrize("name", ["fcm", "hms"])
async def test_a_revoked_shared_token_is_retried_later_while_the_oauth_endpoint_is_down(
    opened, settings, senders, fake, redis, tmp_path: Path, name
):
    assert (await senders[name].send(make_push())).kind == "sent"
    key = await shared_token_key(redis, settings.redis_prefix, name)
    entry = json.loads(await redis.get(key))
    entry["token"] = "revoked-" + entry["token"][:20]  # a token the service no longer accepts
    await redis.set(key, json.dumps(entry), keepttl=True)
    other = opened.build(without_token_endpoint(settings, fake, name, tmp_path), redis)[name]

    outcome = await other.send(make_push())

    assert outcome.kind == "retry"
    assert str(outcome.reason).startswith("auth:")
    assert len(fake.sent) == 1


@pytest.mark.parametrize("name", NAMES)
async def test_a_worker_reconnects_after_the_service_went_away(senders, fake, name):
    port = int(fake.base_url.rsplit(":", 1)[1])
    assert (await senders[name].send(make_push())).kind == "sent"

    await fake.stop()
    outage = await senders[name].send(make_push())
    await fake.start("127.0.0.1", port)
    back = await senders[name].send(make_push())

    assert outage.kind == "retry"
    assert back.kind == "sent"
    assert len(fake.sent) == 2


# ---- provider auth tokens --------------------------------------------------------------------


def foreign_key_pem(kind: str) -> str:
    """A private key that the service does not know: EC for APNs, RSA for a service account."""
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def wrong_credentials(
    settings: Settings, fake: FakePushServer, name: str, folder: Path
) -> Settings:
    """Settings pointing at the fake but with credentials it refuses, for one provider."""
    configured = settings_for(settings, fake)
    if name == "apns":
        key_file = folder / "AuthKey_OTHER.p8"
        key_file.write_text(foreign_key_pem("ec"))
        return replace(configured, apns_key_file=str(key_file))
    if name == "fcm":
        account = fake.credentials.service_account()
        account["private_key"] = foreign_key_pem("rsa")
        account_file = folder / "other-service-account.json"
        account_file.write_text(json.dumps(account))
        return replace(configured, fcm_service_account_file=str(account_file))
    return replace(configured, hms_client_secret="not-the-app-secret")


@pytest.mark.parametrize("name", NAMES)
async def test_credentials_the_service_refuses_fail_visibly_without_killing_the_token(
    opened, settings, fake, redis, tmp_path: Path, name
):
    sender = opened.build(wrong_credentials(settings, fake, name, tmp_path), redis)[name]

    outcomes = [await sender.send(make_push()) for _ in range(2)]

    assert [o.kind for o in outcomes] == ["failed", "failed"]
    assert all(o.reason for o in outcomes)
    assert fake.sent == []
    assert tokens_issued(fake, name) == 0


@pytest.mark.parametrize("name", NAMES)
async def test_pushes_reuse_one_provider_token(senders, fake, name):
    outcomes = [await senders[name].send(make_push()) for _ in range(3)]

    assert [o.kind for o in outcomes] == ["sent"] * 3
    assert tokens_issued(fake, name) == 1
    assert len(set(authorization_headers(fake, name))) == 1
    if name != "apns":
        assert len(token_requests(fake, name)) == 1


@pytest.mark.parametrize("name", NAMES)
async def test_two_workers_sharing_redis_mint_one_token_between_them(
    opened, push_settings, fake, redis, name
):
    first = opened.build(push_settings, redis)[name]
    second = opened.build(push_settings, opened.redis())[name]

    outcomes = await asyncio.gather(
        *(worker.send(make_push()) for worker in (first, second) for _ in range(3))
    )

    assert [o.kind for o in outcomes] == ["sent"] * 6
    assert tokens_issued(fake, name) == 1
    assert len(set(authorization_headers(fake, name))) == 1


EXPIRY = {
    "apns": "ExpiredProviderToken",
    "fcm": "UNAUTHENTICATED",
    "hms": "80200003",
}


@pytest.mark.parametrize("name", NAMES)
async def test_a_token_the_service_expired_is_renewed_once_and_the_push_goes_through(
    senders, fake, name
):
    assert (await senders[name].send(make_push())).kind == "sent"
    fake.expire_auth(name)

    outcome = await senders[name].send(make_push())

    assert outcome.kind == "sent"
    assert len(fake.sent) == 2
    assert tokens_issued(fake, name) == 2
    assert len(pushes_to(fake, name)) == 3  # the refused attempt and its one retry


@pytest.mark.parametrize("name", NAMES)
async def test_a_token_renewed_by_one_worker_is_picked_up_by_the_others(
    opened, push_settings, senders, fake, name
):
    other = opened.build(push_settings, opened.redis())[name]
    assert (await senders[name].send(make_push())).kind == "sent"
    assert (await other.send(make_push())).kind == "sent"  # both now hold the same token
    fake.expire_auth(name)

    assert (await senders[name].send(make_push())).kind == "sent"  # renews it
    assert (await other.send(make_push())).kind == "sent"  # refused, then takes the renewed one

    assert len(fake.sent) == 4
    assert tokens_issued(fake, name) == 2
    later = opened.build(push_settings, opened.redis())[name]
    assert (await later.send(make_push())).kind == "sent"
    assert tokens_issued(fake, name) == 2


@pytest.mark.parametrize("name", NAMES)
async def test_an_expired_auth_answer_renews_the_token_once_and_the_push_goes_through(
    senders, fake, name
):
    fake.fail_next(name, "expired_auth")

    outcome = await senders[name].send(make_push())

    assert outcome.kind == "sent"
    assert len(fake.sent) == 1
    assert tokens_issued(fake, name) == 2
    refused, accepted = pushes_to(fake, name)
    assert refused.status in (401, 403)
    assert accepted.status == 200


@pytest.mark.parametrize("name", NAMES)
async def test_a_second_auth_failure_in_a_row_ends_the_send_without_killing_the_token(
    senders, fake, name
):
    fake.fail_next(name, "expired_auth", count=2)

    outcome = await senders[name].send(make_push())

    assert outcome.kind not in ("sent", "dead_token")
    assert outcome.reason == EXPIRY[name]
    assert len(pushes_to(fake, name)) == 2
    assert fake.sent == []
    assert (await senders[name].send(make_push())).kind == "sent"


@pytest.mark.parametrize("name", NAMES)
async def test_a_shared_token_close_to_its_end_is_replaced_by_a_fresh_one(
    opened, push_settings, senders, fake, redis, settings, name
):
    assert (await senders[name].send(make_push())).kind == "sent"
    key = await shared_token_key(redis, settings.redis_prefix, name)
    entry = json.loads(await redis.get(key))
    entry["expires_at"] = time.time() + 60  # inside every provider's refresh margin
    await redis.set(key, json.dumps(entry), keepttl=True)

    later_worker = opened.build(push_settings, opened.redis())[name]
    outcome = await later_worker.send(make_push())

    assert outcome.kind == "sent"
    assert tokens_issued(fake, name) == 2
    first_auth, second_auth = authorization_headers(fake, name)
    assert first_auth != second_auth
    renewed = json.loads(await redis.get(key))
    assert renewed["token"] != entry["token"]
    assert renewed["expires_at"] > time.time() + 60


@pytest.mark.parametrize("name", NAMES)
async def test_a_shared_token_with_time_left_is_used_by_a_later_worker(
    opened, push_settings, senders, fake, name
):
    assert (await senders[name].send(make_push())).kind == "sent"

    later_worker = opened.build(push_settings, opened.redis())[name]
    assert (await later_worker.send(make_push())).kind == "sent"

    assert tokens_issued(fake, name) == 1


@pytest.mark.parametrize("name", NAMES)
async def test_pushes_still_go_out_when_redis_is_unreachable(opened, push_settings, fake, name):
    dead_redis = f"redis://127.0.0.1:{closed_port()}/0"
    workers = [opened.build(push_settings, opened.redis(dead_redis))[name] for _ in range(2)]

    outcomes = [await worker.send(make_push()) for worker in workers for _ in range(2)]

    assert [o.kind for o in outcomes] == ["sent"] * 4
    assert len(fake.sent) == 4
    assert tokens_issued(fake, name) == 2  # each process mints its own, once


@pytest.mark.parametrize("name", NAMES)
async def test_an_expired_token_is_renewed_even_when_redis_is_unreachable(
    opened, push_settings, fake, name
):
    sender = opened.build(push_settings, opened.redis(f"redis://127.0.0.1:{closed_port()}/0"))[name]
    assert (await sender.send(make_push())).kind == "sent"
    fake.expire_auth(name)

    assert (await sender.send(make_push())).kind == "sent"
    assert tokens_issued(fake, name) == 2


# ---- without credentials ---------------------------------------------------------------------


async def test_the_log_provider_answers_sent_without_touching_the_network(
    fake, caplog: pytest.LogCaptureFixture
):
    push = make_push(token="secret-device-token-9f3a")
    caplog.set_level(logging.INFO, logger="push.log_provider")

    outcome = await LogProvider("hms").send(push)

    assert outcome.kind == "sent"
    assert fake.requests == []
    assert fake.sent == []
    [record] = [r for r in caplog.records if r.name == "push.log_provider"]
    assert record.__dict__["notification_id"] == str(push.notification_id)
    assert record.__dict__["device_token"].endswith("9f3a")
    assert push.token not in caplog.text
    assert push.token not in str(record.__dict__)


async def test_an_unconfigured_platform_fails_visibly(fake):
    outcome = await Unconfigured("apns").send(make_push())

    assert outcome == Outcome("failed", reason="provider_not_configured")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("log_unconfigured", "kind", "expected"),
    [(False, Unconfigured, Outcome("failed", reason="provider_not_configured")),
     (True, LogProvider, Outcome("sent", reason="logged"))],
)  # fmt: skip
async def test_build_without_credentials_falls_back_for_every_platform(
    opened, settings, fake, redis, log_unconfigured, kind, expected
):
    bare = replace(settings, **NO_CREDENTIALS, push_log_unconfigured=log_unconfigured)

    built = opened.build(bare, redis)

    assert sorted(built) == sorted(NAMES)
    for name in NAMES:
        assert isinstance(built[name], kind)
        assert built[name].name == name
        assert await built[name].send(make_push()) == expected
    assert fake.requests == []


async def test_build_falls_back_only_for_the_platforms_without_credentials(
    opened, settings, fake, redis
):
    only_hms = replace(
        settings_for(settings, fake),
        **{k: v for k, v in NO_CREDENTIALS.items() if not k.startswith("hms")},
    )

    built = opened.build(only_hms, redis)

    assert isinstance(built["hms"], Hms)
    assert isinstance(built["apns"], Unconfigured)
    assert isinstance(built["fcm"], Unconfigured)
    assert (await built["hms"].send(make_push())).kind == "sent"
    assert (await built["apns"].send(make_push())).kind == "failed"
    assert [d.provider for d in fake.sent] == ["hms"]

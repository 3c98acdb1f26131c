"""Huawei Push Kit (HMS) over HTTP/2, for Huawei and Honor phones and HarmonyOS.

An OAuth client-credentials token (an hour) is shared by every worker through Redis and
refreshed five minutes early. Push Kit answers with its own result code whatever the HTTP status:
80000000 success; 80300007 (all tokens invalid) and 80100000 naming our token as illegal mean the
device token is dead; 80200003 (token expired) and 80200001 refresh the OAuth token once;
81000001 and HTTP 429/5xx are retried. Task notifications carry category WORK, so that Huawei's
message classification delivers them as work messages rather than marketing.

Offline cache groups (`android.collapse_key`): for a phone that is offline Push Kit keeps the
newest message of each group 1..100 only, 0 keeps only the app's newest message of all, and -1
(its default) keeps every message. A hundred groups cannot give each subject one of its own (one
RM's shares, tasks and leads already collide when hashed), so groups go by category and only to
messages whose later version says all an earlier one did: the push summary, the sync poke, and
the radar's "someone is viewing your share" (hashed by share into the groups left, so two shares
may share one: that news is short-lived, and the notification centre lists both). Everything
else, leads and task reminders and work orders above all, is -1: kept, never replaced by another
message; a repeat still shows once, as the tray replaces a notification with the same `tag`.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import msgspec
from redis.asyncio import Redis

from push.providers.base import (
    Outcome,
    Push,
    SharedToken,
    oauth_client,
    oauth_token,
    refused,
    send_authorized,
    transport_failure,
)
from push.providers.h2client import H2Client, H2Error
from push.providers.h2client import Response as H2Response
from workbench.notifications import categories

JSON = "application/json; charset=utf-8"
SUCCESS = "80000000"
PARTIAL = "80100000"
ALL_TOKENS_INVALID = "80300007"
AUTH_CODES = frozenset({"80200001", "80200003"})
RETRY_CODES = frozenset({"81000001"})
REFRESH_MARGIN = 300.0

KEEP_EVERY_MESSAGE = -1
SUMMARY_GROUP = 1
SYNC_POKE_GROUP = 2
RADAR_GROUPS = range(3, 101)
SUPERSEDED_GROUPS = {categories.PUSH_SUMMARY: SUMMARY_GROUP, categories.SYNC_POKE: SYNC_POKE_GROUP}


class Hms:
    name = "hms"

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        app_id: str,
        client_secret: str,
        redis: Redis,
        redis_prefix: str,
        timeout: float,
    ) -> None:
        self._app_id, self._secret, self._token_url = app_id, client_secret, token_url
        self._client = H2Client(base_url, timeout=timeout)
        self._oauth = oauth_client(token_url, timeout)
        self._token = SharedToken(
            redis, f"{redis_prefix}push:hms:token:{app_id}", self._mint, margin=REFRESH_MARGIN
        )

    async def _mint(self) -> tuple[str, float]:
        return await oauth_token(
            self._oauth, self._token_url,
            {"grant_type": "client_credentials", "client_id": self._app_id,
             "client_secret": self._secret},
        )  # fmt: skip

    async def send(self, push: Push) -> Outcome:
        return await send_authorized(self._token, lambda token: self._post(push, token), _refused)

    async def _post(self, push: Push, token: str) -> Outcome:
        try:
            response = await self._client.post(
                f"/v1/{self._app_id}/messages:send",
                body=msgspec.json.encode({"validate_only": False, "message": message(push)}),
                headers={"authorization": f"Bearer {token}", "content-type": JSON},
            )
        except H2Error as exc:
            return transport_failure(exc)
        code, msg = _result(response)
        if code == SUCCESS:
            return Outcome("sent", status_code=response.status_code)
        dead = code == ALL_TOKENS_INVALID or (code == PARTIAL and push.token in _illegal(msg))
        return refused(response, code, dead=dead, retry=code in RETRY_CODES)

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._oauth.aclose()


def message(push: Push) -> dict[str, Any]:
    data = {"nid": str(push.notification_id), "category": push.category, **push.data}
    android: dict[str, Any] = {
        "urgency": "HIGH" if push.critical else "NORMAL",
        "ttl": f"{push.ttl_seconds()}s",
    }
    if push.category.startswith("task."):
        android["category"] = "WORK"
    if push.collapse_key:
        # Only for real collapse keys, never one per notification.
        android["collapse_key"] = offline_cache_group(push.category, push.collapse_key)
    result: dict[str, Any] = {"token": [push.token], "android": android}
    if push.silent:
        result["data"] = json.dumps(data, ensure_ascii=False)
    else:
        android["notification"] = {
            "title": push.title,
            "body": push.body,
            "click_action": {"type": 3},  # open the app
            # The tray replaces a shown notification with the same tag: a repeat shows once.
            "tag": push.collapse_id(),
        }
        result["data"] = json.dumps(data, ensure_ascii=False)
    return result


def offline_cache_group(category: str, key: str) -> int:
    """The Push Kit offline cache group of a message with collapse key `key`: one group per
    category whose newest message supersedes any older one, a radar group per share (hashed),
    else -1, so that a lead or a reminder is never dropped for another message (module doc)."""
    if category in SUPERSEDED_GROUPS:
        return SUPERSEDED_GROUPS[category]
    if category == categories.BROCHURE_OPENED:
        return RADAR_GROUPS[zlib.crc32(key.encode()) % len(RADAR_GROUPS)]
    return KEEP_EVERY_MESSAGE


def _result(response: H2Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    return (str(body["code"]) if "code" in body else None), str(body.get("msg", ""))


def _illegal(msg: str) -> list[str]:
    """The tokens named illegal in an 80100000 answer (its msg is a JSON string)."""
    try:
        detail = json.loads(msg)
    except ValueError:
        return []
    tokens = detail.get("illegal_tokens") if isinstance(detail, dict) else None
    return [str(t) for t in tokens] if isinstance(tokens, list) else []


def _refused(outcome: Outcome) -> bool:
    """The provider did not accept our access token."""
    return outcome.reason in AUTH_CODES

"""Small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport

from workbench.seed import DEMO_PASSWORD


def device(n: int | str = 1, platform: str = "ios") -> dict[str, str]:
    return {"device_id": f"device-{n:0>8}", "platform": platform}


async def login(
    client: AsyncTestClient[Litestar],
    who: str,
    *,
    device_no: int | str = 1,
    password: str = DEMO_PASSWORD,
) -> dict[str, Any]:
    """Sign in as a demo user; returns the token answer (asserting success)."""
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": who, "password": password, "device": device(device_no)},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def leave_behind(db: Any, device_no: int | str) -> None:
    """The device's sessions last used 13 hours ago: a device left signed in, which another
    user may take over (someone using it now is refused: `auth.device_in_use`)."""
    await db.execute(
        "update sessions set created_at = now() - interval '13 hours', refreshed_at = null"
        " where device_id = $1",
        device(device_no)["device_id"],
    )


class FromPeer(TestClientTransport, httpx.AsyncBaseTransport):  # type: ignore[type-arg]
    """The test client's requests as if from this peer (the test client has no address)."""

    def __init__(self, client: AsyncTestClient[Litestar], peer: str) -> None:
        super().__init__(client)
        self.peer = peer

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        return {**super().parse_request(request), "client": (self.peer, 40000)}


def from_peer(client: AsyncTestClient[Litestar], peer: str) -> httpx.AsyncClient:
    """A client whose requests reach the app from `peer` (a proxy, a branch's address)."""
    return httpx.AsyncClient(transport=FromPeer(client, peer), base_url=client.base_url)


def answer_errors(problem: dict[str, Any]) -> dict[str, str]:
    """A survey.answers_invalid problem's messages by question key (`$.answers.<key>`), the
    submission's own under `answers` (`$.answers`)."""
    return {
        e["path"].removeprefix("$.answers.") if e["path"] != "$.answers" else "answers": e[
            "message"
        ]
        for e in problem["errors"]
    }

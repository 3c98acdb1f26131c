"""Helpers shared by the push tests."""

from __future__ import annotations

from typing import Any

from workbench.seed import DEMO_PASSWORD


async def register(client: Any, who: str, *, platform: str, provider: str, token: str) -> str:
    """Sign `who` in on a device of that platform and register its push token."""
    device_id = f"device-{who}-{platform}-{provider}"
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": who, "password": DEMO_PASSWORD,
              "device": {"device_id": device_id, "platform": platform}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    registered = await client.post(
        "/api/v1/devices",
        json={"device_id": device_id, "platform": platform, "provider": provider,
              "push_token": token},
        headers=headers,
    )  # fmt: skip
    assert registered.status_code == 200, registered.text
    return device_id

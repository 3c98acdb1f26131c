"""`GET /s/{code}/pages` (the viewer's fresh image URLs) answers its errors as every API error is:
problem+json with a stable code, 404 `share.not_found` for no such share, 410 `share.gone` once
its brochure is withdrawn; never cached."""

from __future__ import annotations

from typing import Any

from tests.workbench.brochures.conftest import studio  # noqa: F401
from tests.workbench.tracking.conftest import Shared, shared  # noqa: F401


def problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert answer.json()["status"] == status
    assert answer.headers["cache-control"] == "no-store"


async def test_an_unknown_share_is_a_problem_with_a_code(shared: Shared) -> None:  # noqa: F811
    for path in ("/s/Zz9Zz9Zz9Z/pages", "/s/bad-code/pages"):
        problem(await shared.client.get(path), 404, "share.not_found")


async def test_a_withdrawn_share_is_a_410_problem_with_a_code(shared: Shared) -> None:  # noqa: F811
    live = await shared.client.get(f"/s/{shared.code}/pages")
    assert live.status_code == 200, live.text
    assert [p["page"] for p in live.json()["pages"]] == [1, 2]
    await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    problem(await shared.client.get(f"/s/{shared.code}/pages"), 410, "share.gone")

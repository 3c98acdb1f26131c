"""Push (POST /sync/push) with values PostgreSQL cannot store: each is that mutation's own
`rejected`, with where it was, and the batch's other mutations still apply; the request never
fails as a whole (`request.invalid_value`), not even when the refusal itself names the value
(a NUL in an object key shows in the path), since every answer is kept for a retry."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.sync.sync_data import PUSH, api_items, tell
from tests.tasks_data import user

pytestmark = pytest.mark.usefixtures("demo_bank")

NUL = "\x00"


async def push_raw(client: Any, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """POST the body as JSON (a NUL is sent as the escape `\\u0000`, as apps send it)."""
    content = json.dumps(body).encode()
    assert b"\\u0000" in content
    return await client.post(
        PUSH, content=content, headers={**headers, "content-type": "application/json"}
    )


def results_of(answer: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(r["id"], r["status"], r.get("code")) for r in answer["results"]]


@pytest.mark.parametrize("login", ["bh.east", "rm01"])
async def test_a_nul_in_a_key_rejects_that_mutation_alone_and_the_retry_answers_the_same(
    client, db, login
):
    headers = await headers_of(client, login)
    notification = await tell(db, user(login), 1)
    task = str(uuid.uuid4())
    body = {
        "client_id": f"phone-{login}",
        "mutations": [
            # A NUL in a key of the arguments, of a nested object, of the mutation itself.
            {"id": 1, "name": "notification.read",
             "args": {"notification_id": str(notification), "x\u0000": 1}},
            {"id": 2, "name": "notification.read", "args": {"notification_id": str(notification)}},
            {"id": 3, "name": "task.submit",
             "args": {"task_id": task, "values": {"amount\u0000": 5}}},
            {"id": 4, "name": "task.cancel", "args": {"task_id": task}, "\u0000": True},
            # A NUL in a value, as before.
            {"id": 5, "name": "task.cancel", "args": {"task_id": task, "reason": "a\u0000b"}},
        ],
    }  # fmt: skip
    response = await push_raw(client, headers, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    nul = "request.nul_character"
    assert results_of(answer) == [
        (1, "rejected", nul), (2, "applied", None), (3, "rejected", nul), (4, "rejected", nul),
        (5, "rejected", nul),
    ]  # fmt: skip
    assert answer["last_mutation_id"] == 5
    # Each refusal says where the NUL is, the NUL shown as its JSON escape.
    details = [r["detail"] for r in answer["results"] if r["status"] == "rejected"]
    assert details == [
        "$.mutations[0].args.x\\u0000: must not contain NUL characters",
        "$.mutations[2].args.values.amount\\u0000: must not contain NUL characters",
        "$.mutations[3].\\u0000: must not contain NUL characters",
        "$.mutations[4].args.reason: must not contain NUL characters",
    ]
    assert not any(NUL in d for d in details)
    # The good mutation between them applied.
    listed = await api_items(client, headers, "/api/v1/notifications")
    assert [(n["id"], n["read_at"] is not None) for n in listed] == [(str(notification), True)]

    # A retry after a lost answer gets what the first push answered.
    again = await push_raw(client, headers, body)
    assert again.status_code == 200, again.text
    assert results_of(again.json()) == [
        (1, "rejected", nul), (2, "duplicate", None), (3, "rejected", nul), (4, "rejected", nul),
        (5, "rejected", nul),
    ]  # fmt: skip
    assert [r["detail"] for r in again.json()["results"] if r["status"] == "rejected"] == details


async def test_a_batch_of_nothing_but_refused_values_still_answers_each(client):
    """The fuzzer's shape: one mutation of random content, a NUL key deep in it."""
    headers = await headers_of(client, "bh.east")
    body = {
        "client_id": "fuzz",
        "mutations": [{"id": 7, "name": "", "args": [{"": {"\u0000\u0000": [None]}}]}],
    }
    response = await push_raw(client, headers, body)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert (result["status"], result["code"]) == ("rejected", "request.nul_character")
    assert result["detail"] == (
        "$.mutations[0].args[0]..\\u0000\\u0000: must not contain NUL characters"
    )

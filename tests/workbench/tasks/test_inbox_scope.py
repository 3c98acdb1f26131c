"""The RM's inbox (order, filters, keyset pages) and scope: no one sees another's tasks."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import (
    TASKS,
    attach,
    create_template,
    field,
    image_bytes,
    issue,
    issue_tasks,
    user,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _inbox(client: Any, headers: dict[str, str], **params: Any) -> Any:
    query = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}
    response = await client.get(TASKS, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _all_pages(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):  # a cursor that never ends is a failure, not a hang
        page = await _inbox(client, headers, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"pagination did not end; {len(items)} items so far")


@pytest.fixture
async def inbox(client, db) -> dict[str, Any]:
    """rm01 (and rm02) get tasks due 2 days ago, 1 hour ago, in 1 hour, in 2 days, in 10 days
    and three without a due time, dispatched in a shuffled order (the overdue ones dispatched
    due tomorrow, then overdue as the clock would make them: a dispatch is never due in the
    past)."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("notes", "text"), name="Inbox")
    now = datetime.now(UTC).replace(microsecond=0)
    dues: dict[str, datetime | None] = {
        "soon": now + timedelta(hours=1),
        "none-1": None,
        "overdue-long": now - timedelta(days=2),
        "later": now + timedelta(days=10),
        "none-2": None,
        "overdue-short": now - timedelta(hours=1),
        "next": now + timedelta(days=2),
        "none-3": None,
    }
    tasks: dict[str, uuid.UUID] = {}
    others: dict[str, uuid.UUID] = {}
    for name, due in dues.items():
        ahead = max(due, now + timedelta(days=1)) if due else None
        issued = await issue(
            client, db, admin, template["id"], org_unit="team-east-1", due_at=ahead, title=name
        )
        tasks[name], others[name] = issued["rm01"], issued["rm02"]
        await db.execute("update tasks set due_at = $2 where id = any($1)",
                         [issued["rm01"], issued["rm02"]], due)  # fmt: skip
    return {
        "now": now,
        "dues": dues,
        "tasks": tasks,
        "others": others,
        "rm01": await headers_of(client, "rm01"),
        "admin": admin,
        "template": template["id"],
    }


def _expected_order(inbox: dict[str, Any], names: list[str] | None = None) -> list[str]:
    """Due time first (overdue ones are the earliest), then id; no due time last."""
    far = datetime.max.replace(tzinfo=UTC)
    names = names if names is not None else list(inbox["tasks"])
    key = {n: (inbox["dues"][n] or far, str(inbox["tasks"][n])) for n in names}
    return [str(inbox["tasks"][n]) for n in sorted(names, key=key.__getitem__)]


async def test_inbox_lists_overdue_first_then_by_due_time_and_no_due_time_last(client, inbox):
    page = await _inbox(client, inbox["rm01"])
    items = page["items"]
    assert page["next_cursor"] is None
    assert [t["id"] for t in items] == _expected_order(inbox)
    assert [t["title"] for t in items][:5] == [
        "overdue-long", "overdue-short", "soon", "next", "later",
    ]  # fmt: skip
    assert {t["title"] for t in items[5:]} == {"none-1", "none-2", "none-3"}
    assert [t["overdue"] for t in items] == [True, True] + [False] * 6
    assert all(t["assignee_id"] == str(user("rm01")) for t in items)
    assert all(t["status"] == "pending" for t in items)
    for item in items:
        due = inbox["dues"][item["title"]]
        if due is None:
            assert item["due_at"] is None
        else:
            assert datetime.fromisoformat(item["due_at"]) == due


async def test_status_filter(client, inbox):
    rm01, tasks = inbox["rm01"], inbox["tasks"]
    assert (await client.post(f"{TASKS}/{tasks['soon']}/start", headers=rm01)).status_code == 200
    assert (await client.post(f"{TASKS}/{tasks['next']}/start", headers=rm01)).status_code == 200
    done = await client.post(f"{TASKS}/{tasks['next']}/submit", json={"values": {}}, headers=rm01)
    assert done.status_code == 200, done.text
    cancelled = await client.post(f"{TASKS}/{tasks['none-2']}/cancel", headers=rm01)
    assert cancelled.status_code == 200

    open_ = await _inbox(client, rm01)
    assert [t["id"] for t in open_["items"]] == _expected_order(
        inbox, ["overdue-long", "overdue-short", "soon", "later", "none-1", "none-3"]
    )
    started = await _inbox(client, rm01, status="in_progress")
    assert [t["id"] for t in started["items"]] == [str(tasks["soon"])]
    assert started["items"][0]["status"] == "in_progress"
    finished = await _inbox(client, rm01, status="done")
    assert [(t["id"], t["status"], t["overdue"]) for t in finished["items"]] == [
        (str(tasks["next"]), "done", False)
    ]
    dropped = await _inbox(client, rm01, status="cancelled")
    assert [t["id"] for t in dropped["items"]] == [str(tasks["none-2"])]
    pending = await _inbox(client, rm01, status="pending")
    assert {t["title"] for t in pending["items"]} == {
        "overdue-long", "overdue-short", "later", "none-1", "none-3",
    }  # fmt: skip
    assert (await _inbox(client, rm01, status="expired"))["items"] == []
    bad = await client.get(TASKS, params={"status": "finished"}, headers=rm01)
    assert bad.status_code in (400, 422), bad.text


async def test_due_window_filter(client, inbox):
    rm01, now = inbox["rm01"], inbox["now"]
    window = await _inbox(client, rm01, due_after=now, due_before=now + timedelta(days=3))
    assert [t["title"] for t in window["items"]] == ["soon", "next"]
    overdue = await _inbox(client, rm01, due_before=now)
    assert [t["title"] for t in overdue["items"]] == ["overdue-long", "overdue-short"]
    ahead = await _inbox(client, rm01, due_after=now + timedelta(days=1))
    assert [t["title"] for t in ahead["items"]] == ["next", "later"]
    # The boundaries: due_after is inclusive, due_before exclusive.
    exact = inbox["dues"]["next"]
    assert [t["title"] for t in (await _inbox(client, rm01, due_after=exact))["items"]] == [
        "next", "later",
    ]  # fmt: skip
    assert [t["title"] for t in (await _inbox(client, rm01, due_before=exact))["items"]] == [
        "overdue-long", "overdue-short", "soon",
    ]  # fmt: skip


async def test_keyset_pages_cover_every_task_exactly_once(client, inbox):
    rm01 = inbox["rm01"]
    first = await _inbox(client, rm01, limit=2)
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    items = await _all_pages(client, rm01, limit=2)
    assert [t["id"] for t in items] == _expected_order(inbox)
    # Other page sizes agree, including one ending exactly on a task without a due time.
    for limit in (1, 3, 6, 7, 8, 9):
        assert [t["id"] for t in await _all_pages(client, rm01, limit=limit)] == [
            t["id"] for t in items
        ], limit


async def test_keyset_pages_with_a_filter(client, inbox):
    rm01, now = inbox["rm01"], inbox["now"]
    items = await _all_pages(client, rm01, limit=1, due_after=now - timedelta(days=5))
    assert [t["title"] for t in items] == [
        "overdue-long", "overdue-short", "soon", "next", "later",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"due": 1}').decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00Z"]').decode(),
        base64.urlsafe_b64encode(b'["yesterday", "01a2013e-cc9f-7b3a-8585-849cfa3e74fb"]').decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00Z", "not-a-uuid"]').decode(),
    ],
)
async def test_a_bad_cursor_is_400(client, inbox, cursor):
    response = await client.get(TASKS, params={"cursor": cursor}, headers=inbox["rm01"])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "request.bad_cursor"


async def test_limit_bounds(client, inbox):
    for limit in (0, -1, 201, "many"):
        response = await client.get(TASKS, params={"limit": limit}, headers=inbox["rm01"])
        assert response.status_code in (400, 422), (limit, response.text)


# ---- scope -----------------------------------------------------------------------------------


async def test_rm_never_sees_or_touches_another_rms_task(client, db, inbox):
    """rm02 (same team as rm01) gets 404 for everything about rm01's tasks."""
    admin, rm01 = inbox["admin"], inbox["rm01"]
    await feed(
        client, admin, "customers", [customer_row("C-1", name="张小三", owner="rm01", seq=1)]
    )
    confirmable = await create_template(
        client, admin, field("notes", "text"), requires_customer_confirmation=True
    )
    [(_, task, _)] = await issue_tasks(
        client, db, admin, confirmable["id"], customer_ids=list((await customer_ids(db)).values())
    )
    photo = await attach(client, rm01, task)
    for step in ("start", "submit"):
        body = {"values": {}} if step == "submit" else None
        assert (
            await client.post(f"{TASKS}/{task}/{step}", json=body, headers=rm01)
        ).status_code == 200
    confirmation = await client.post(f"{TASKS}/{task}/confirmation", headers=rm01)
    assert confirmation.status_code == 201, confirmation.text
    qr_url = confirmation.json()["qr_png_url"]
    pending = inbox["tasks"]["soon"]

    rm02 = await headers_of(client, "rm02")
    listed = await _all_pages(client, rm02)
    mine = {str(t) for t in inbox["others"].values()}
    assert {t["id"] for t in listed} == mine
    for status in ("pending", "awaiting_confirmation", "done"):
        for item in (await _inbox(client, rm02, status=status))["items"]:
            assert item["assignee_id"] == str(user("rm02"))

    tables = ("tasks", "task_attachments", "task_confirmations", "task_reminders")
    before = {t: await db.fetch(f"select * from {t} order by 1, 2, 3") for t in tables}  # noqa: S608
    attempts = [
        ("get", f"{TASKS}/{task}", None),
        ("get", f"{TASKS}/{pending}", None),
        ("post", f"{TASKS}/{pending}/start", None),
        ("post", f"{TASKS}/{task}/start", None),
        ("post", f"{TASKS}/{task}/submit", {"values": {}}),
        ("post", f"{TASKS}/{pending}/cancel", None),
        ("post", f"{TASKS}/{task}/cancel", {"reason": "mine now"}),
        ("get", f"{TASKS}/{task}/attachments/{photo}", None),
        ("post", f"{TASKS}/{task}/confirmation", None),
        ("get", qr_url, None),
    ]
    for method, url, body in attempts:
        if method == "get":
            response = await client.get(url, headers=rm02)
        else:
            response = await client.post(url, json=body, headers=rm02)
        assert response.status_code == 404, (method, url, response.status_code, response.text)
        assert response.json()["code"].endswith(".not_found"), url
    upload = await client.post(
        f"{TASKS}/{pending}/attachments",
        files={"file": ("p.jpg", image_bytes(), "image/jpeg")},
        data={"kind": "photo"},
        headers=rm02,
    )
    assert upload.status_code == 404, upload.text
    assert {t: await db.fetch(f"select * from {t} order by 1, 2, 3") for t in tables} == before  # noqa: S608


async def test_branch_head_sees_own_subtree_only(client, db, inbox):
    admin = inbox["admin"]
    everywhere = await issue(
        client, db, admin, inbox["template"], org_unit="head-office", title="Bank-wide"
    )
    assert set(everywhere) == {f"rm0{n}" for n in range(1, 9)}
    east, west = await headers_of(client, "bh.east"), await headers_of(client, "bh.west")

    east_items = await _all_pages(client, east, limit=5)
    east_ids = [t["id"] for t in east_items]
    assert len(east_ids) == len(set(east_ids))
    expected_east = (
        {str(t) for t in inbox["tasks"].values()}
        | {str(t) for t in inbox["others"].values()}
        | {str(everywhere[f"rm0{n}"]) for n in range(1, 5)}
    )
    assert set(east_ids) == expected_east
    west_items = await _all_pages(client, west)
    assert {t["id"] for t in west_items} == {str(everywhere[f"rm0{n}"]) for n in range(5, 9)}
    assert {t["assignee_id"] for t in west_items} == {str(user(f"rm0{n}")) for n in range(5, 9)}

    east_task, west_task = everywhere["rm03"], everywhere["rm06"]
    assert (await client.get(f"{TASKS}/{east_task}", headers=east)).status_code == 200
    for headers, hidden in ((east, west_task), (west, east_task), (west, inbox["tasks"]["soon"])):
        detail = await client.get(f"{TASKS}/{hidden}", headers=headers)
        assert detail.status_code == 404, detail.text
        assert detail.json()["code"] == "task.not_found"
        cancel = await client.post(f"{TASKS}/{hidden}/cancel", headers=headers)
        assert cancel.status_code == 404, cancel.text
    assert await db.fetchval("select count(*) from tasks where status <> 'pending'") == 0

    # An RM of the west branch sees only their own task, never the east's.
    rm06 = await headers_of(client, "rm06")
    assert [t["id"] for t in await _all_pages(client, rm06)] == [str(west_task)]
    assert (await client.get(f"{TASKS}/{east_task}", headers=rm06)).status_code == 404


@pytest.mark.parametrize("who", ["marketing", "compliance", "admin"])
async def test_other_roles_have_no_inbox(client, inbox, who):
    headers = await headers_of(client, who)
    listed = await client.get(TASKS, headers=headers)
    assert listed.status_code == 403, listed.text
    assert listed.json()["code"] == "auth.forbidden"
    detail = await client.get(f"{TASKS}/{inbox['tasks']['soon']}", headers=headers)
    assert detail.status_code == 403, detail.text


async def test_unauthenticated_requests_are_refused(client, inbox):
    assert (await client.get(TASKS)).status_code == 401
    assert (await client.get(f"{TASKS}/{inbox['tasks']['soon']}")).status_code == 401

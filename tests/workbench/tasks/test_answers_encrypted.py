"""A task's answers are personal data: stored only encrypted (bound to their task), and shown
to every reader with the long numbers of text answers masked, as note texts are: the task API
(to the RM and to their branch head), offline sync, and never on a console page. Answers stored
in clear before migration 0058 are read all the same, and the worker's task job encrypts them
without the apps pulling anything. Answers that cannot be decrypted show as `***`."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.sync.sync_data import of, pull_all, replay
from tests.tasks_data import TASKS, create_template, field, issue, stored_answers, user
from workbench.db import create_pool
from workbench.security.vault import FieldCipher
from workbench.settings import DataKey
from workbench.tasks import form_values, jobs
from workbench.tasks.form_values import values_aad

pytestmark = pytest.mark.usefixtures("demo_bank")

NOTES = "客户新手机 13712345678 身份证 110101199003071234"
ANSWERS = {
    "reached": "已接通",
    "satisfaction": 5,
    "notes": NOTES,
    "call_date": "2026-02-28",
    "place": {"lat": 39.9042, "lng": 116.4074},
}
# What every reader is shown: the numbers of the text masked as a note's are; a date (eight
# digits) and the other answers as answered.
SHOWN = {**ANSWERS, "notes": "客户新手机 137******78 身份证 110*************34"}
IN_CLEAR = ("13712345678", "110101199003071234", "39.9042", "116.4074")
FIELDS = [
    field("reached", "choice", label="是否接通", required=True, options=["已接通", "未接通"]),
    field("satisfaction", "number", label="满意度", min=1, max=5),
    field("notes", "text", label="备注"),
    field("call_date", "date", label="回访日期"),
    field("place", "location", label="地点"),
]


async def submitted_task(client: Any, db: Any, *, confirm: bool = False) -> uuid.UUID:
    """rm01's 电话回访 task, started and submitted with ANSWERS through the API (a task that
    needs the customer's confirmation stays open: the console lists it)."""
    admin = await headers_of(client, "admin")
    template = await create_template(
        client, admin, *FIELDS, name="电话回访", requires_customer_confirmation=confirm
    )
    issued = await issue(
        client, db, admin, template["id"], title="电话回访", org_unit="team-east-1"
    )
    task_id = issued["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task_id}/start", headers=rm01)).status_code == 200
    response = await client.post(
        f"{TASKS}/{task_id}/submit", json={"values": ANSWERS}, headers=rm01
    )
    assert response.status_code == 200, response.text
    assert response.json()["values"] == SHOWN
    return task_id


async def row_in_clear(db: Any, task_id: uuid.UUID) -> str:
    """Every column of the task row as a dump shows it, but the ciphertext."""
    text: str = await db.fetchval(
        "select (to_jsonb(t) - 'form_values_enc')::text from tasks t where id = $1", task_id
    )
    return text


async def test_answers_are_stored_encrypted_and_every_reader_is_shown_them_masked(
    client,
    db,
    settings,
    make_console,  # noqa: F811
):
    task_id = await submitted_task(client, db, confirm=True)

    # At rest: nothing of the answers in clear; the ciphertext holds them, bound to the task.
    dumped = await row_in_clear(db, task_id)
    assert [n for n in IN_CLEAR if n in dumped] == []
    sealed = bytes(await db.fetchval("select form_values_enc from tasks where id = $1", task_id))
    assert [n for n in IN_CLEAR if n.encode() in sealed] == []
    assert await stored_answers(db, settings, task_id) == ANSWERS

    # The task API: the RM and their branch head.
    for login in ("rm01", "bh.east"):
        headers = await headers_of(client, login)
        task = await client.get(f"{TASKS}/{task_id}", headers=headers)
        assert task.status_code == 200, task.text
        assert task.json()["values"] == SHOWN, login

    # Offline sync: the task as the API shows it, in both partitions.
    for login in ("rm01", "bh.east"):
        changes, _ = await pull_all(client, await headers_of(client, login), db=db)
        synced = of(replay(changes), "task")[str(task_id)]
        assert synced["values"] == SHOWN, login
        assert [n for n in IN_CLEAR[:2] if n in json.dumps(changes)] == [], login

    # The console's pages of the head's team show no answer (the task is open, so listed).
    console = await make_console()
    await signed_in(console, "bh.east")
    for page in ("/console/tasks", f"/console/dashboard/rms/{user('rm01')}"):
        html = console_page(await console.get(page), 200)
        assert "电话回访" in html, page
        assert [n for n in IN_CLEAR[:2] if n in html] == [], page


async def test_answers_stored_in_clear_before_are_read_then_sealed_by_the_worker(
    client, db, settings, job_ctx
):
    task_id = await submitted_task(client, db)
    # As the code before migration 0058 left a submitted task: its answers in clear.
    await db.execute(
        "update tasks set form_values = $2::jsonb, form_values_enc = null where id = $1",
        task_id,
        json.dumps(ANSWERS),
    )
    rm01 = await headers_of(client, "rm01")
    assert (await client.get(f"{TASKS}/{task_id}", headers=rm01)).json()["values"] == SHOWN
    changes = await db.fetchval("select count(*) from sync_log")

    await jobs.expire_tasks(job_ctx)  # the task job every worker runs at its start

    assert [n for n in IN_CLEAR if n in await row_in_clear(db, task_id)] == []
    assert await stored_answers(db, settings, task_id) == ANSWERS
    assert (await client.get(f"{TASKS}/{task_id}", headers=rm01)).json()["values"] == SHOWN
    # The task reads the same: nothing for the apps to pull.
    assert await db.fetchval("select count(*) from sync_log") == changes
    assert await jobs.seal_form_values(job_ctx) == 0  # nothing left: nothing done again


async def test_sealing_goes_in_batches_and_keeps_answers_sealed_meanwhile(client, db, settings):
    first = await submitted_task(client, db)
    second = await submitted_task(client, db)
    sealed_before = await db.fetchval("select form_values_enc from tasks where id = $1", second)
    # The first in clear only; the second holds both (its ciphertext is the one kept).
    await db.execute(
        "update tasks set form_values = $2::jsonb, form_values_enc = null where id = $1",
        first,
        json.dumps(ANSWERS),
    )
    await db.execute(
        "update tasks set form_values = $2::jsonb where id = $1", second, json.dumps({"x": 1})
    )
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        cipher = FieldCipher(settings.data_keys)
        assert await form_values.seal_clear_rows(pool, cipher, batch_size=1) == 2
        assert await form_values.seal_clear_rows(pool, cipher, batch_size=1) == 0
    finally:
        await pool.close()
    for task_id in (first, second):
        assert await stored_answers(db, settings, task_id) == ANSWERS
    assert await db.fetchval("select form_values_enc from tasks where id = $1", second) == (
        sealed_before
    )


async def test_answers_that_cannot_be_decrypted_show_as_unreadable(client, db):
    task_id = await submitted_task(client, db)
    lost = FieldCipher((DataKey("data-lost", b"l" * 32),)).encrypt(
        json.dumps(ANSWERS), aad=values_aad(task_id)
    )
    await db.execute("update tasks set form_values_enc = $2 where id = $1", task_id, lost)
    rm01 = await headers_of(client, "rm01")
    task = await client.get(f"{TASKS}/{task_id}", headers=rm01)
    assert task.status_code == 200, task.text
    assert task.json()["values"] == {"notes": "***"}
    changes, _ = await pull_all(client, rm01, db=db)
    assert of(replay(changes), "task")[str(task_id)]["values"] == {"notes": "***"}

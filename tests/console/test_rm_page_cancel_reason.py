"""A branch head reading one RM's tasks in the console sees why a task was cancelled (the RM's
reason, or 客户已销户 when the bank closed the customer), not only 已取消."""

from __future__ import annotations

import pytest

from tests.console.conftest import signed_in
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.tasks_data import create_template, issue, user

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_rm_page_says_why_a_task_was_cancelled(console, client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    tasks = await issue(client, db, admin, template["id"], title="季度回访", org_unit="team-east-1")
    rm01 = await headers_of(client, "rm01")
    cancelled = await client.post(
        f"/api/v1/tasks/{tasks['rm01']}/cancel", json={"reason": "客户改约下月"}, headers=rm01
    )
    assert cancelled.status_code == 200, cancelled.text

    await signed_in(console, "bh.east")
    html = console_page(await console.get(f"/console/dashboard/rms/{user('rm01')}"), 200)
    row = html[html.index("季度回访") :]
    row = row[: row.index("</tr>")]
    assert "已取消" in row
    assert "客户改约下月" in row

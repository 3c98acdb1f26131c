"""The console's send page: a branch head sends a survey to a unit's tagged customers or to
pasted customer numbers, then watches the delivery's progress page until it is done."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.console.conftest import console, make_console, post_form, signed_in  # noqa: F401
from tests.workbench.surveys.delivery_data import add_customers, publish, unit
from workbench.db import Pool, create_pool
from workbench.surveys import delivery, delivery_jobs

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=2)
    yield made
    await made.close()


async def test_a_branch_head_sends_from_the_console_and_follows_progress(
    console: Any,  # noqa: F811 (the fixture imported above)
    db: Any,
    settings: Any,
    pool: Pool,
) -> None:
    survey = await publish(db, title="网点服务回访")
    await add_customers(db, 3, owner="rm01", prefix="V", tags=["到店客户"])
    await add_customers(db, 2, owner="rm01", prefix="N")
    await add_customers(db, 1, owner="rm05", prefix="W")
    token = await signed_in(console, "bh.east")
    page = await console.get(f"/console/surveys/{survey}/send")
    assert page.status_code == 200
    assert "网点服务回访" in page.text
    assert "东城一组" in page.text
    assert "西城" not in page.text
    back = re.search(r'<a class="button button-quiet" href="([^"]+)">.*?返回问卷列表', page.text)
    assert back is not None
    assert (await console.get(back.group(1))).status_code == 200  # it led to a 404

    pasted_ids = {"mode": "ids", "ids": "V-000000\nW-000000, X-9"}
    refused = await post_form(console, f"/console/surveys/{survey}/send", pasted_ids, token=token)
    assert refused.status_code == 422
    assert "2 个客户号不存在或不在您的管辖范围内：W-000000、X-9" in refused.text

    sent = await post_form(console, f"/console/surveys/{survey}/send",
                           {"mode": "unit", "unit": str(unit("team-east-1")), "tag": "到店客户",
                            "step": "send"}, token=token)  # fmt: skip
    assert sent.status_code == 303
    progress = sent.headers["location"]
    queued = await console.get(progress)
    assert queued.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in queued.text
    assert "排队中" in queued.text

    rules = delivery.Rules.from_settings(settings)
    await delivery_jobs.deliver_surveys({"pool": pool, "settings": settings, "survey_rules": rules})
    done = await console.get(progress)
    assert "已完成" in done.text
    assert 'http-equiv="refresh"' not in done.text
    assert 'data-count="done">3<' in done.text
    assert 'data-count="total">3<' in done.text

    pasted = await post_form(console, f"/console/surveys/{survey}/send",
                             {"mode": "ids", "ids": "N-000000，N-000001", "step": "send"},
                             token=token)  # fmt: skip
    assert pasted.status_code == 303
    small = await console.get(pasted.headers["location"])
    assert "已完成" in small.text
    assert 'data-count="done">2<' in small.text


async def test_a_staff_survey_sent_to_a_unit_twice_reaches_each_inbox_once(
    console: Any,  # noqa: F811 (the fixture imported above)
    db: Any,
) -> None:
    # The send-to-unit form sent a staff survey again to everyone it was waiting for already.
    survey = await publish(db, audience="staff", title="员工脉搏调查")
    token = await signed_in(console, "bh.east")
    form = {"mode": "unit", "unit": str(unit("team-east-1")), "step": "send"}
    first = await post_form(console, f"/console/surveys/{survey}/send", form, token=token)
    second = await post_form(console, f"/console/surveys/{survey}/send", form, token=token)
    assert (first.status_code, second.status_code) == (303, 303)
    staff = await db.fetchval("select count(*) from users where active and org_unit_id = $1",
                              unit("team-east-1"))  # fmt: skip
    sent = await console.get(first.headers["location"])
    assert f'data-count="done">{staff}<' in sent.text
    again = await console.get(second.headers["location"])
    assert 'data-count="done">0<' in again.text
    assert f'data-count="skipped">{staff}<' in again.text
    assert await db.fetchval("select count(*) from survey_invitations") == staff


async def test_a_send_that_would_reach_no_customer_says_why_and_sends_nothing(
    console: Any,  # noqa: F811 (the fixture imported above)
    db: Any,
) -> None:
    # A tag nobody carries (a typo) made a delivery of 收件人 0 that said nothing of why.
    survey = await publish(db, title="网点服务回访")
    await add_customers(db, 2, owner="rm01", prefix="V", tags=["到店客户"])
    token = await signed_in(console, "bh.east")
    url = f"/console/surveys/{survey}/send"
    typo = {"mode": "unit", "unit": str(unit("team-east-1")), "tag": "到店用户"}
    refused = await post_form(console, url, typo, token=token)
    assert refused.status_code == 422
    assert "该机构及下级机构没有带「到店用户」标签的客户" in refused.text
    assert 'value="到店用户"' in refused.text  # what was typed stays in the form
    assert await db.fetchval("select count(*) from survey_deliveries") == 0

    right = {**typo, "tag": "到店客户", "step": "send"}
    assert (await post_form(console, url, right, token=token)).status_code == 303
    assert await db.fetchval("select count(*) from survey_deliveries") == 1
